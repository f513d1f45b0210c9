"""The boundary between the model and the knowledge graph: what a lookup function is and returns.

The decoders see the knowledge graph only through a :data:`LookupFn`, a batched callable from
``(entity, relation)`` pairs to one :class:`Answer` each, in order (``lmlm.kg.Resolver`` is one;
its ``Resolution`` is an ``Answer``). What a lookup that finds nothing answers is the lookup
function's policy (the resolver's ``ResolverConfig.fallback``), decided there and nowhere else: the
decoder inserts ``answer.value``, or ``DecodingArgs.unknown_value`` when it is None.

Anything else (the function raises, returns too few or too many answers, or an object that is not
an ``Answer``) is recorded as an ``error`` lookup with the reason, ``unknown_value`` is inserted,
and the decoding goes on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from lmlm.kg.syntax import Lookup

from .results import ANSWER_PATHS, AnswerPath, LookupRecord, post_process

logger = logging.getLogger(__name__)


@runtime_checkable
class Answer(Protocol):
    """One answer of a lookup function (``lmlm.kg.Resolution`` has this shape)."""

    value: str | None  # None: nothing to insert (the decoder inserts its unknown_value)
    path: AnswerPath  # exact / fuzzy / miss
    score: float
    fact_id: str | None
    entity: str | None  # the key matched, as stored (differs from the query on a fuzzy hit)
    relation: str | None


LookupFn = Callable[[Sequence[tuple[str, str]]], Sequence[Answer]]
"""Batched: ``[(entity, relation), ...]`` -> one :class:`Answer` per pair, in order."""

ANSWER_FIELDS = ("value", "path", "score", "fact_id", "entity", "relation")


def answer_problem(answer: object) -> str | None:
    """Why ``answer`` is not an :class:`Answer` (None when it is one)."""
    missing = [name for name in ANSWER_FIELDS if not hasattr(answer, name)]
    if missing:
        return (
            f"the lookup function returned a {type(answer).__name__}, not an Answer (no {', '.join(missing)})"
        )
    if answer.path not in ANSWER_PATHS:
        return f"the lookup function returned an answer with path {answer.path!r}, not one of {ANSWER_PATHS}"
    if answer.value is not None and not isinstance(answer.value, str):
        return f"the lookup function returned a value of type {type(answer.value).__name__}, not str or None"
    if isinstance(answer.score, bool) or not isinstance(answer.score, (int, float)):
        return f"the lookup function returned a score of type {type(answer.score).__name__}, not a number"
    return None


def answer_lookups(lookup_fn: LookupFn, lookups: Sequence[Lookup], unknown_value: str) -> list[LookupRecord]:
    """Asks ``lookup_fn`` for all ``lookups`` in one call; one record per lookup, in order, with
    the value to insert (``unknown_value`` where the answer has none, or is an error)."""
    if not lookups:
        return []
    try:
        answers = list(lookup_fn([(q.entity, q.relation) for q in lookups]))
        if len(answers) != len(lookups):
            raise ValueError(
                f"the lookup function returned {len(answers)} answers for {len(lookups)} lookups"
            )
    except Exception as e:  # any failure of the lookup function is data: recorded, logged, decoding goes on
        logger.warning("lookup failed for %d queries: %s", len(lookups), e)
        error = f"{type(e).__name__}: {e}"
        return [LookupRecord(q.entity, q.relation, unknown_value, "error", error=error) for q in lookups]
    records = []
    for query, answer in zip(lookups, answers):
        problem = answer_problem(answer)
        if problem is not None:
            logger.warning("lookup (%r, %r) failed: %s", query.entity, query.relation, problem)
            records.append(LookupRecord(query.entity, query.relation, unknown_value, "error", error=problem))
            continue
        records.append(
            LookupRecord(
                query.entity,
                query.relation,
                answer.value if answer.value is not None else unknown_value,
                answer.path,
                float(answer.score),
                answer.fact_id,
                answer.entity,
                answer.relation,
            )
        )
    return records


_NOT_WORD = re.compile(r"[\W_]+")


def _words(text: str) -> str:
    return f" {_NOT_WORD.sub(' ', text.casefold()).strip()} "


def entity_unwritten(entity: str, prompt: str, before: str) -> bool:
    """``DecodingArgs.entities_from_context``: whether ``entity`` is written neither in ``prompt``
    nor in the text generated ``before`` the lookup (its own lookups stripped), as whole words with
    case and punctuation ignored."""
    return _words(entity) not in _words(f"{prompt} {post_process(before)}")
