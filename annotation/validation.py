"""Checking an annotator's response against its input text, and repairing what is safe to repair.

Removing the lookups from a response must give back the input text. Whatever the response, the
accepted annotation is rebuilt from the *input* text with the response's calls inserted where
they stood (in the canonical spelling of :func:`lmlm.kg.syntax.format_annotated_call`), so an
accepted annotation always strips back to the input exactly. A call is carried over by aligning
the response's text (lookups removed) with the input:

* whitespace only differs: every call maps one to one (``whitespace``);
* words added before or after the text ("Here is the annotated text:", code fences): dropped with
  any call inside them (``wrapper``);
* the response stops early or skips the beginning: that part is kept without calls, up to
  ``max_missing`` of the text (``truncated``, ``skipped_start``);
* a call was written but the words of its value were not copied after it: the input's words
  stay, the call goes before them (``value_copy``);
* punctuation only differs (a comma added or dropped, a quote restyled): the input's stays
  (``punctuation``);
* calls that do not parse are removed (``broken_calls``); a call with no text after it too
  (``trailing_call``).

Anything else (words changed, added or dropped inside the text) is rejected with the reason and
the place. Alignment is by characters when only whitespace differs, else by words (difflib).
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field

from lmlm.kg.syntax import LOOKUP_TOKENS, LookupCall, format_annotated_call, locate_lookups
from lmlm.train.lookup_text import to_token_text

EXACT, REPAIRED, REJECTED = "exact", "repaired", "rejected"
_WORD = re.compile(r"\w+|[^\w\s]")
_LETTER_OR_DIGIT = re.compile(r"\w")
_SNIPPET = 60


@dataclass(frozen=True)
class ValidationConfig:
    """How forgiving validation is; both are flags of ``lmlm annotate``."""

    repair: bool = field(
        default=True, metadata={"help": "repair responses where it is safe (see lmlm.annotation.validation)"}
    )
    max_missing: float = field(
        default=0.25,
        metadata={"help": "largest share of a text that a response may leave out (cut off, skipped start)"},
    )

    def __post_init__(self) -> None:
        if not 0 <= self.max_missing <= 1:
            raise ValueError(f"--max-missing must be in [0, 1], got {self.max_missing}")


@dataclass(frozen=True)
class Validation:
    """The verdict on one response. ``annotated`` is the input with the accepted calls ("" if rejected)."""

    status: str  # EXACT, REPAIRED or REJECTED
    annotated: str
    calls: int
    text_preserved: bool  # the response without its lookups is the input, character for character
    repairs: tuple[str, ...] = ()
    reason: str = ""  # why it was rejected: a category (see _reject) ...
    detail: str = ""  # ... and where

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "calls": self.calls,
            "text_preserved": self.text_preserved,
            "repairs": list(self.repairs),
            "reason": self.reason,
            "detail": self.detail,
        }


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def validate_annotation(
    text: str, response: str, doc_id: str = "", config: ValidationConfig | None = None
) -> Validation:
    """Check ``response`` (an annotation of ``text``) and repair it where safe; see the module docstring."""
    config = config or ValidationConfig()
    try:
        if any(token in text for token in LOOKUP_TOKENS):
            raise _Rejected("input", "the input text holds lookup tokens")
        if not response.strip():
            raise _Rejected("empty", "empty response")
        token_text, _, problems = to_token_text(response, doc_id)
        clean, located = locate_lookups(token_text)
        repairs = [f"broken_calls:{len(problems)}"] if problems else []
        if clean == text:
            placed = list(located)
        elif not config.repair:
            raise _Rejected("changed", _first_difference(clean, text))
        else:
            placed = _project(clean, located, text, config, repairs)
    except _Rejected as e:
        return Validation(REJECTED, "", 0, False, reason=e.reason, detail=e.detail)
    kept = [(call, pos) for call, pos in placed if text[pos:].strip()]
    if len(kept) < len(placed):
        repairs.append(f"trailing_call:{len(placed) - len(kept)}")
    annotated = _insert_calls(text, kept)
    preserved = clean == text
    status = EXACT if preserved and not repairs else REPAIRED
    return Validation(status, annotated, len(kept), preserved, _tally(repairs))


def _tally(repairs: list[str]) -> tuple[str, ...]:
    """``["wrapper", "wrapper", "value_copy:2"]`` -> ``("value_copy:2", "wrapper:2")``."""
    counts: dict[str, int] = {}
    for repair in repairs:
        kind, _, n = repair.partition(":")
        counts[kind] = counts.get(kind, 0) + int(n or 1)
    return tuple(f"{kind}:{n}" for kind, n in sorted(counts.items()))


def _insert_calls(text: str, placed: list[tuple[LookupCall, int]]) -> str:
    """``text`` with each call and one space inserted at its position (stable for equal positions)."""
    pieces, pos = [], 0
    for call, at in sorted(placed, key=lambda item: item[1]):
        pieces += [text[pos:at], format_annotated_call(call.entity, call.relation, call.value), " "]
        pos = at
    pieces.append(text[pos:])
    return "".join(pieces)


# ---------------------------------------------------------------------------------------------
# Alignment


def _project(
    clean: str, located: list[tuple[LookupCall, int]], text: str, config: ValidationConfig, repairs: list
) -> list[tuple[LookupCall, int]]:
    """Each call's position in ``text``; raises _Rejected where the texts differ beyond repair."""
    a_chars, a_pos = _non_space(clean)
    b_chars, b_pos = _non_space(text)
    if a_chars == b_chars:
        repairs.append("whitespace")
        return [(call, _position(b_pos, bisect.bisect_left(a_pos, offset), text)) for call, offset in located]
    a_words, a_starts = _words(clean)
    b_words, b_starts = _words(text)
    opcodes = difflib.SequenceMatcher(None, a_words, b_words, autojunk=False).get_opcodes()
    inserts = {i1: (j1, j2) for tag, i1, _, j1, j2 in opcodes if tag == "insert"}
    copies = _value_copies(located, a_starts, inserts, b_words)
    _check_opcodes(opcodes, a_words, b_words, copies, config, repairs)
    placed = []
    dropped = 0
    for n, (call, offset) in enumerate(located):
        k = bisect.bisect_left(a_starts, offset)
        j = _map_word(k, n, opcodes, inserts, copies, len(a_words), len(b_words))
        if j is None:
            dropped += 1
            continue
        placed.append((call, _position(b_starts, j, text)))
    if dropped:
        repairs.append(f"calls_in_wrapper:{dropped}")
    if copies:
        repairs.append(f"value_copy:{len(copies)}")
    return placed


def _value_copies(located, a_starts, inserts, b_words) -> dict[int, int]:
    """Calls (by index) whose value is exactly the words the response left out right after them."""
    copies = {}
    for n, (call, offset) in enumerate(located):
        k = bisect.bisect_left(a_starts, offset)
        if k in inserts:
            j1, j2 = inserts[k]
            missing = "".join(b_words[j1:j2]).casefold()
            value = "".join(_WORD.findall(call.value)).casefold()
            at_end = k == len(a_starts)
            if value and (missing == value or (at_end and missing.startswith(value))):
                copies[n] = j1
    return copies


def _check_opcodes(opcodes, a_words, b_words, copies, config: ValidationConfig, repairs: list) -> None:
    copied_at = {j1 for j1 in copies.values()}
    missing = 0
    for tag, i1, i2, j1, j2 in opcodes:
        at_start, at_end = i1 == 0, i2 == len(a_words)
        if tag == "equal":
            continue
        if tag == "delete" and (at_start or at_end):
            repairs.append("wrapper")
        elif tag == "insert" and j1 in copied_at and not at_end:
            continue
        elif tag == "insert" and (at_start or at_end):
            repairs.append("truncated" if at_end and i1 > 0 else "skipped_start")
            missing += sum(len(w) for w in b_words[j1:j2])
        elif _punctuation(a_words[i1:i2]) and _punctuation(b_words[j1:j2]):
            repairs.append("punctuation")
        elif tag == "delete":
            raise _Rejected("added", f"word {i1}: {_join(a_words[i1:i2])!r} is not in the text")
        elif tag == "insert":
            raise _Rejected("dropped", f"word {j1}: {_join(b_words[j1:j2])!r} is missing")
        else:
            detail = f"word {j1}: {_join(b_words[j1:j2])!r} became {_join(a_words[i1:i2])!r}"
            raise _Rejected("changed", detail)
    total = sum(len(w) for w in b_words)
    if total and missing / total > config.max_missing:
        raise _Rejected("incomplete", f"{missing / total:.0%} of the text is missing (--max-missing)")


def _map_word(k: int, n: int, opcodes, inserts, copies, n_a: int, n_b: int) -> int | None:
    """The input word before which the call standing before response word ``k`` goes (None: dropped)."""
    if n in copies:
        return copies[n]
    if k in inserts:  # words left out here (a skipped start): the call belongs after them
        return inserts[k][1]
    for tag, i1, i2, j1, _ in opcodes:
        if i1 <= k < i2:
            if tag == "equal":
                return j1 + (k - i1)
            return None if tag == "delete" and (i1 == 0 or i2 == n_a) else j1  # wrapper, or punctuation
    return n_b


def _punctuation(words: list[str]) -> bool:
    """Only punctuation (an empty side counts): a comma added or dropped, a quote restyled."""
    return all(not _LETTER_OR_DIGIT.search(word) for word in words)


def _position(starts: list[int], index: int, text: str) -> int:
    return starts[index] if index < len(starts) else len(text)


def _non_space(text: str) -> tuple[str, list[int]]:
    positions = [i for i, char in enumerate(text) if not char.isspace()]
    return "".join(text[i] for i in positions), positions


def _words(text: str) -> tuple[list[str], list[int]]:
    matches = list(_WORD.finditer(text))
    return [m.group() for m in matches], [m.start() for m in matches]


def _join(words: list[str]) -> str:
    joined = " ".join(words)
    return joined if len(joined) <= _SNIPPET else joined[: _SNIPPET - 3] + "..."


def _first_difference(got: str, expected: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(got, expected)) if x != y), min(len(got), len(expected)))
    return f"char {at}: expected {expected[at : at + 30]!r}, got {got[at : at + 30]!r}"
