"""What lookup decoding returns: the text with and without lookups, and where each fact came from."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Literal, get_args

from lmlm.kg.syntax import LookupCall, locate_lookups, strip_lookups

AnswerPath = Literal["exact", "fuzzy", "miss"]
"""How a lookup function found its answer (``lmlm.kg.Resolution.path``)."""
LookupPath = Literal["exact", "fuzzy", "miss", "error", "invalid", "model", "unwritten"]
"""How a decoded lookup got its value: an answer's path, or what the decoder did instead."""
ANSWER_PATHS: tuple[str, ...] = get_args(AnswerPath)
LOOKUP_PATHS: tuple[str, ...] = get_args(LookupPath)


@dataclass(frozen=True)
class LookupRecord:
    """One lookup the model made.

    ``path`` is how the value was found: ``exact``/``fuzzy``/``miss`` (the lookup function's answer),
    ``model`` (lookups disabled: the model wrote the value itself), ``error`` (the lookup function
    raised or returned something that is not an answer, see ``error``; ``unknown_value`` was
    inserted) or ``invalid`` (no well-formed query before ``<|db_return|>``).
    ``span`` is where the words written after the lookup stand in the clean text (None when the
    lookup left no complete trace in it).
    """

    entity: str
    relation: str
    value: str | None
    path: LookupPath
    score: float = 0.0
    fact_id: str | None = None
    matched_entity: str | None = None
    matched_relation: str | None = None
    span: tuple[int, int] | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.path not in LOOKUP_PATHS:
            raise ValueError(f"path must be one of {LOOKUP_PATHS}, got {self.path!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GenerationOutput:
    """One prompt's continuation.

    ``raw_text`` holds the lookups in the token format, ``text`` is the clean prose (what a reader
    sees), ``text_tokens`` counts the tokens the model wrote outside lookups, ``finish_reason`` is
    ``eos`` or ``length``, ``malformed`` counts broken lookups the decoder recovered from and
    ``unclosed`` says the row stopped inside a lookup.
    """

    prompt: str
    raw_text: str
    text: str
    lookups: tuple[LookupRecord, ...]
    text_tokens: int
    finish_reason: Literal["eos", "length"]
    malformed: int = 0
    unclosed: bool = False
    generated_tokens: int = 0  # every token the model chose (lookup queries included, values not)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["lookups"] = [record.to_dict() for record in self.lookups]
        return out


def post_process(text: str, eos_token: str | None = None) -> str:
    """Clean prose: every lookup (complete, broken or left open) removed, and the EOS marker."""
    if eos_token:
        text = text.replace(eos_token, "")
    return strip_lookups(text)


_ARTICLE = re.compile(r"(?:an?|the)\s+", re.IGNORECASE)


def value_span(clean: str, pos: int, value: str) -> tuple[int, int]:
    """The span of the words the model wrote for ``value`` starting at ``pos`` in ``clean``.

    Spaces and an article that the value does not start with are stepped over (``the Marfe
    Orchestra``, ``an unknown place`` after the miss value ``unknown``). The model usually copies
    the value; when it rewords it (``27th January 1997`` for ``January 27, 1997``) the span covers
    as many words as the value has.
    """
    while pos < len(clean) and clean[pos].isspace():
        pos += 1
    article = _ARTICLE.match(clean, pos)
    if article and not value.lower().startswith(article.group(0).lower()):
        pos = article.end()
    if clean[pos : pos + len(value)].lower() == value.lower():
        return pos, pos + len(value)
    words = max(1, len(value.split()))
    end = pos
    for _ in range(words):
        while end < len(clean) and clean[end].isspace():
            end += 1
        while end < len(clean) and not clean[end].isspace():
            end += 1
    return pos, min(end, len(clean))


def build_output(prompt: str, raw_text: str, decoded: list[LookupRecord], state) -> GenerationOutput:
    """Joins the decoder's lookup records with their spans in the clean text; the counters come
    from the row's ``RowState``.

    ``decoded`` are in the order they happened; complete lookups in ``raw_text`` appear in the
    same order, so each record takes the next located call with its value.
    """
    clean, located = locate_lookups(raw_text)
    records: list[LookupRecord] = []
    queue: list[tuple[LookupCall, int]] = list(located)
    for record in decoded:
        span = None
        for k, (call, pos) in enumerate(queue):
            if record.value is not None and call.value == record.value.strip():
                span = value_span(clean, pos, call.value)
                del queue[: k + 1]
                break
        records.append(replace(record, span=span))
    return GenerationOutput(
        prompt,
        raw_text,
        clean,
        tuple(records),
        state.text_tokens,
        state.finish_reason or "length",
        state.malformed,
        unclosed=state.mode.value != "text",
        generated_tokens=state.sampled,
    )
