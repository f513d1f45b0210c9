"""What changed between two texts, word by word: the spans to mark when an output is regenerated
after an edit of the knowledge graph (the app's before/after view)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

Span = tuple[int, int]

_PIECES = re.compile(r"\s+|\w+|[^\w\s]")  # words, runs of spaces, single punctuation marks


@dataclass(frozen=True)
class TextDiff:
    """``removed``: spans of ``before`` that are gone; ``added``: spans of ``after`` that are new.
    Spans are ``(start, end)`` character offsets, in order, never touching whitespace at their ends."""

    before: str
    after: str
    removed: tuple[Span, ...]
    added: tuple[Span, ...]

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.added)


def diff_texts(before: str, after: str) -> TextDiff:
    """The words of ``before`` that ``after`` drops and the words it adds (a ``difflib`` alignment
    of words, spaces and punctuation marks)."""
    a, b = _pieces(before), _pieces(after)
    matcher = difflib.SequenceMatcher(None, [t for t, _ in a], [t for t, _ in b], autojunk=False)
    removed, added = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed += _span(before, a, i1, i2)
        if op in ("replace", "insert"):
            added += _span(after, b, j1, j2)
    return TextDiff(before, after, tuple(removed), tuple(added))


def _pieces(text: str) -> list[tuple[str, int]]:
    return [(m.group(), m.start()) for m in _PIECES.finditer(text)]


def _span(text: str, pieces: list[tuple[str, int]], i: int, j: int) -> list[Span]:
    """The characters of ``pieces[i:j]`` without the whitespace at either end (none if only spaces)."""
    if i >= j:
        return []
    start, end = pieces[i][1], pieces[j - 1][1] + len(pieces[j - 1][0])
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []
