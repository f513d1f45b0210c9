"""Annotated text to the pretraining token format, dropping the lookups that cannot be parsed.

The grammar itself lives in :mod:`lmlm.kg.syntax`; this module only decides what to do with a
document whose lookups are partly broken: keep the good ones, remove the rest, report each.
"""

from __future__ import annotations

from collections.abc import Iterable

from lmlm.kg.syntax import (
    LOOKUP_TOKENS,
    LookupCall,
    ParseProblem,
    format_pretraining_lookup,
    iter_pretraining_lookups,
    parse_annotated,
    strip_lookups,
)

MALFORMED_TOKENS = "lookup tokens that do not form a complete lookup"
_SNIPPET_CHARS = 80


def to_token_text(annotated: str, doc_id: str = "") -> tuple[str, int, list[ParseProblem]]:
    """(text in the token format, lookups in it, lookups dropped because they could not be parsed).

    ``annotated`` is in either format; a text holding lookup tokens is taken as the token format.
    """
    if any(token in annotated for token in LOOKUP_TOKENS):
        return _repair_token_text(annotated, doc_id)
    parsed = parse_annotated(annotated, doc_id)
    problems = list(parsed.problems)
    if problems:
        annotated = _drop_broken_calls(annotated, parsed.calls, problems)
        parsed = parse_annotated(annotated, doc_id)
    pieces, pos = [], 0
    for call in parsed.calls:
        pieces += [
            annotated[pos : call.start],
            format_pretraining_lookup(call.entity, call.relation, call.value),
        ]
        pos = call.end
    pieces.append(annotated[pos:])
    return "".join(pieces), len(parsed.calls), problems


def _repair_token_text(text: str, doc_id: str) -> tuple[str, int, list[ParseProblem]]:
    """Keep the complete lookups; strip tokens that belong to none (and report where they were)."""
    calls = list(iter_pretraining_lookups(text))
    problems: list[ParseProblem] = []
    pieces, pos = [], 0
    for start, end in [(c.start, c.end) for c in calls] + [(len(text), len(text))]:
        gap = text[pos:start]
        offsets = [gap.find(t) for t in LOOKUP_TOKENS if t in gap]
        if offsets:
            offset = pos + min(offsets)
            problems.append(
                ParseProblem(doc_id, offset, MALFORMED_TOKENS, text[offset : offset + _SNIPPET_CHARS])
            )
            gap = strip_lookups(gap)
        pieces += [gap, text[start:end]]
        pos = end
    return "".join(pieces), len(calls), problems


def _drop_broken_calls(text: str, calls: Iterable[LookupCall], problems: list[ParseProblem]) -> str:
    """Remove each call that failed to parse, up to its closing ``]`` (or the end, if cut off there)."""
    starts = sorted([c.start for c in calls] + [p.offset for p in problems])
    spans = []
    for problem in problems:
        start = problem.offset - (problem.offset > 0 and text[problem.offset - 1] in "([")
        limit = next((s for s in starts if s > problem.offset), len(text))
        close = text.find("]", problem.offset, limit)
        if close >= 0:
            spans.append((start, close + 1))
        elif limit == len(text):
            spans.append((start, len(text)))
    return remove_spans(text, spans)


def remove_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` without the spans, each taking one space after it (or before it, at the end)."""
    pieces, pos = [], 0
    for start, end in spans:
        before = text[pos:start]
        pieces.append(before.rstrip() if end >= len(text) else before)
        pos = end + 1 if text.startswith(" ", end) else end
    pieces.append(text[pos:])
    return "".join(pieces)
