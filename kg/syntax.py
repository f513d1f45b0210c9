"""The lookup tokens and the lookup grammar: the ONLY place either is written down.

Two spellings of the same thing:

* the annotated format of the paper's data files::

      [dblookup('Entity', 'Relation') -> Value] value as written in the text

* the pretraining format the model reads and writes (the paper's four added tokens)::

      <|db_entity|> Entity<|db_relationship|> Relation<|db_return|> Value<|db_end|> value as written

Parsed names are display strings: surrounding whitespace is stripped and escapes are undone, the
rest is kept as written. In annotated text a backslash before a quote, a bracket or a backslash
escapes it (``'Destiny\\'s Child'`` gives ``Destiny's Child``); :func:`format_annotated_call`
escapes whatever the parser would misread, so what it writes parses back to the same names. The token format is
written raw; only the ``\\'`` that the paper's models copied from its data is undone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .facts import normalize_key

logger = logging.getLogger(__name__)

DB_START, DB_SEP, DB_RETURN, DB_END = "<|db_entity|>", "<|db_relationship|>", "<|db_return|>", "<|db_end|>"
LOOKUP_TOKENS = (DB_START, DB_SEP, DB_RETURN, DB_END)

# Why a call in annotated text could not be recovered (ParseProblem.reason).
CUT_OFF = "call cut off at end of document"
NO_BRACKET = "call not opened with '['"
UNQUOTED = "argument not quoted"
UNTERMINATED_ENTITY = "entity quote never closed"
UNTERMINATED_RELATION = "relation quote never closed"
NO_ARROW = "no '->' after the arguments"
UNTERMINATED_VALUE = "value not closed with ']'"
EMPTY_FIELD = "empty entity, relation or value"

_SNIPPET_CHARS = 80
_ESCAPABLE = "\\'\"[]"

# Annotated format: where a call opens, and what may follow a closing quote of each argument.
_CALL_OPEN = re.compile(r"(\[\s*)?dblookup\s*\(")
_AFTER_ENTITY = re.compile(r"\s*,\s*(?=['\"])")
_AFTER_RELATION = re.compile(r"\s*\)\s*\]?\s*->\s*")  # tolerates a stray "]" before "->"
_CLOSED_ARGUMENTS = re.compile(r"['\"]\s*\)")
_ONE_SPACE_AFTER = " "

# Pretraining format. A field may hold anything but another lookup token.
_FIELD = r"((?:(?!<\|db_(?:entity|relationship|return|end)\|>).)*?)"
_TOKENS = [re.escape(token) for token in LOOKUP_TOKENS]
_PRETRAINING_LOOKUP = re.compile(
    rf"{_TOKENS[0]}\s*{_FIELD}\s*{_TOKENS[1]}\s*{_FIELD}\s*{_TOKENS[2]}\s*{_FIELD}\s*{_TOKENS[3]}", re.DOTALL
)
_PENDING_LOOKUP = re.compile(
    rf"{_TOKENS[0]}\s*{_FIELD}\s*{_TOKENS[1]}\s*{_FIELD}\s*{_TOKENS[2]}\s*\Z", re.DOTALL
)
# What strip_lookups removes: a lookup, well formed or not, up to its end token, the next opener
# (a lookup abandoned for another) or the end of the text.
_TOKEN_SPAN = re.compile(
    rf"{_TOKENS[0]}(?:(?!{_TOKENS[0]}|{_TOKENS[3]}).)*(?:{_TOKENS[3]}|(?={_TOKENS[0]})|\Z)", re.DOTALL
)
_ANY_TOKEN = re.compile("|".join(_TOKENS))


@dataclass(frozen=True)
class Lookup:
    """A query: the value of ``relation`` for ``entity``."""

    entity: str
    relation: str


@dataclass(frozen=True)
class LookupCall:
    """A lookup with its answer, found in a text; ``start:end`` is its span there."""

    entity: str
    relation: str
    value: str
    start: int
    end: int

    @property
    def lookup(self) -> Lookup:
        return Lookup(self.entity, self.relation)


@dataclass(frozen=True)
class ParseProblem:
    """A call the parser saw but could not recover; ``offset`` is where it starts in the text."""

    doc_id: str
    offset: int
    reason: str
    snippet: str

    def describe(self) -> str:
        where = f"{self.doc_id}, " if self.doc_id else ""
        return f"{where}char {self.offset}: {self.reason}: {self.snippet!r}"


@dataclass(frozen=True)
class ParsedDocument:
    """Every call of one annotated text: the recovered ones in order, and the ones that failed."""

    calls: tuple[LookupCall, ...]
    problems: tuple[ParseProblem, ...]


class _CallError(Exception):
    """A call failed to parse; caught in parse_annotated and turned into a ParseProblem."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Annotated format


def parse_annotated(text: str, doc_id: str = "") -> ParsedDocument:
    """Recover every ``[dblookup('E', 'R') -> V]`` call of ``text``; report each one that fails.

    Tolerates apostrophes left unescaped inside quotes, escaped quotes, double-quoted arguments,
    missing spaces, and values holding commas, ``->`` and balanced brackets. A call that cannot
    be recovered becomes a :class:`ParseProblem` with ``doc_id`` and its character offset.
    """
    opens = list(_CALL_OPEN.finditer(text))
    calls: list[LookupCall] = []
    problems: list[ParseProblem] = []
    for i, match in enumerate(opens):
        limit = opens[i + 1].start() if i + 1 < len(opens) else len(text)
        try:
            calls.append(_parse_call(text, match, limit))
        except _CallError as e:
            snippet = text[match.start() : match.start() + _SNIPPET_CHARS]
            problems.append(ParseProblem(doc_id, match.start(), e.reason, snippet))
    if problems:
        logger.debug("%s: %d of %d calls could not be parsed", doc_id or "text", len(problems), len(opens))
    return ParsedDocument(tuple(calls), tuple(problems))


def _parse_call(text: str, match: re.Match, limit: int) -> LookupCall:
    """One call from its opener ``match``; it may not run past ``limit`` (the next opener)."""
    if match.group(1) is None:
        raise _CallError(NO_BRACKET)
    entity, pos = _scan_quoted(text, match.end(), limit, _AFTER_ENTITY, UNTERMINATED_ENTITY)
    try:
        relation, pos = _scan_quoted(text, pos, limit, _AFTER_RELATION, UNTERMINATED_RELATION)
    except _CallError:
        if _arguments_closed_without_arrow(text, pos, limit):
            raise _CallError(NO_ARROW) from None
        raise
    value, end = _scan_value(text, pos, limit)
    if not all(normalize_key(name) for name in (entity, relation, value)):
        raise _CallError(EMPTY_FIELD)
    return LookupCall(entity, relation, value, match.start(), end)


def _arguments_closed_without_arrow(text: str, pos: int, limit: int) -> bool:
    """``('E', 'R')`` followed by something other than ``->`` (or by the end of a cut-off text)."""
    closed = _CLOSED_ARGUMENTS.search(text, pos, limit)
    if closed is None:
        return False
    rest = text[closed.end() : limit].strip()
    return bool(rest) and not "->".startswith(rest)


def _scan_quoted(text: str, pos: int, limit: int, closer: re.Pattern, unterminated: str) -> tuple[str, int]:
    """A quoted argument starting at ``pos``; returns it unescaped and the position after ``closer``.

    A quote closes the argument only where ``closer`` matches right after it, so apostrophes
    inside a name (``'Carson's Mounds Mall'``) are read as part of it.
    """
    while pos < limit and text[pos].isspace():
        pos += 1
    if pos >= limit:
        raise _CallError(CUT_OFF if limit == len(text) else unterminated)
    quote = text[pos]
    if quote not in "'\"":
        raise _CallError(UNQUOTED)
    chars: list[str] = []
    for at, char, escaped in _characters(text, pos + 1, limit):
        if char == quote and not escaped:
            after = closer.match(text, at + 1, limit)
            if after:
                return "".join(chars).strip(), after.end()
        chars.append(char)
    raise _CallError(CUT_OFF if limit == len(text) else unterminated)


def _scan_value(text: str, pos: int, limit: int) -> tuple[str, int]:
    """The value after ``->``: up to the ``]`` that balances the call's ``[``; returns it and the end."""
    chars: list[str] = []
    depth = 0
    for at, char, escaped in _characters(text, pos, limit):
        if char == "]" and not escaped:
            if depth == 0:
                return "".join(chars).strip(), at + 1
            depth -= 1
        elif char == "[" and not escaped:
            depth += 1
        chars.append(char)
    return _fallback_value(text, pos, limit)


def _characters(text: str, pos: int, limit: int) -> Iterator[tuple[int, str, bool]]:
    """``(position, character, escaped)`` from ``pos`` up to ``limit``: a backslash before an
    escapable character gives that character, escaped (it closes nothing)."""
    while pos < limit:
        if text[pos] == "\\" and pos + 1 < limit and text[pos + 1] in _ESCAPABLE:
            yield pos, text[pos + 1], True
            pos += 2
        else:
            yield pos, text[pos], False
            pos += 1


def _fallback_value(text: str, start: int, limit: int) -> tuple[str, int]:
    """A value with an unbalanced ``[``: it ends at the first ``]``, if there is one before ``limit``."""
    end = text.find("]", start, limit)
    if end < 0:
        raise _CallError(CUT_OFF if limit == len(text) else UNTERMINATED_VALUE)
    return _unescape(text[start:end]).strip(), end + 1


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\'\"\[\]])", r"\1", text)


def _quote_argument(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _escape_value(value: str) -> str:
    """Backslashes always; brackets only when unbalanced (balanced ones parse as they are)."""
    value = value.replace("\\", "\\\\")
    if _brackets_balanced(value):
        return value
    return value.replace("[", "\\[").replace("]", "\\]")


def _brackets_balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "[") - (char == "]")
        if depth < 0:
            return False
    return depth == 0


def format_annotated_call(entity: str, relation: str, value: str) -> str:
    """``[dblookup('entity', 'relation') -> value]``, escaped so that it parses back to the same names."""
    return f"[dblookup({_quote_argument(entity)}, {_quote_argument(relation)}) -> {_escape_value(value)}]"


def format_pretraining_lookup(entity: str, relation: str, value: str) -> str:
    """``<|db_entity|> entity<|db_relationship|> relation<|db_return|> value<|db_end|>``."""
    return f"{DB_START} {entity}{DB_SEP} {relation}{DB_RETURN} {value}{DB_END}"


# ---------------------------------------------------------------------------------------------
# Conversions


def to_pretraining_text(annotated_text: str) -> str:
    """The annotated text with each call written in the token format; the wording is unchanged.

    Calls that cannot be parsed are left as written; use :func:`parse_annotated` to find them.
    """
    parsed = parse_annotated(annotated_text)
    return _replace_spans(
        annotated_text, parsed.calls, lambda c: format_pretraining_lookup(c.entity, c.relation, c.value)
    )


def from_pretraining_text(text: str) -> str:
    """The token format written back as annotated text (complete lookups only)."""
    calls = list(iter_pretraining_lookups(text))
    return _replace_spans(text, calls, lambda c: format_annotated_call(c.entity, c.relation, c.value))


def _replace_spans(text: str, calls: Iterable[LookupCall], render: Callable[[LookupCall], str]) -> str:
    pieces: list[str] = []
    pos = 0
    for call in calls:
        pieces.append(text[pos : call.start])
        pieces.append(render(call))
        pos = call.end
    pieces.append(text[pos:])
    return "".join(pieces)


def strip_lookups(text: str) -> str:
    """The raw text: every lookup of either format removed, with the one space written after it.

    A lookup that ends the text takes the whitespace before it instead. In the token format,
    malformed lookups, a lookup left open at the end and stray tokens go too: the result holds no
    lookup token. Annotated calls that cannot be parsed are left as written.
    """
    if _ANY_TOKEN.search(text):
        text = locate_lookups(text)[0]
    return _remove_spans(text, [(call.start, call.end) for call in parse_annotated(text).calls])


def locate_lookups(text: str) -> tuple[str, list[tuple[LookupCall, int]]]:
    """A token-format text without its lookups, and where each complete lookup stood in it.

    The clean text is what :func:`strip_lookups` gives for the token format; each complete lookup
    comes with the character offset in the clean text at which the words after it begin (the app
    highlights the value there).
    """
    calls = {call.start: call for call in iter_pretraining_lookups(text)}
    pieces: list[str] = []
    located: list[tuple[LookupCall, int]] = []
    length = 0
    pos = 0
    for match in _TOKEN_SPAN.finditer(text):
        start, end = match.span()
        before = text[pos:start]
        before = _ANY_TOKEN.sub("", before.rstrip() if end == len(text) else before)
        pieces.append(before)
        length += len(before)
        if start in calls:
            located.append((calls[start], length))
        pos = end + 1 if text.startswith(_ONE_SPACE_AFTER, end) else end
    pieces.append(_ANY_TOKEN.sub("", text[pos:]))
    return "".join(pieces), located


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    pos = 0
    for start, end in spans:
        before = text[pos:start]
        pieces.append(before.rstrip() if end == len(text) else before)
        pos = end + 1 if text.startswith(_ONE_SPACE_AFTER, end) else end
    pieces.append(text[pos:])
    return "".join(pieces)


# ---------------------------------------------------------------------------------------------
# Token format


def iter_pretraining_lookups(text: str) -> Iterator[LookupCall]:
    """The complete lookups of a token-format text, in order, with their spans.

    Whitespace around the tokens is tolerated. Malformed ones (a token missing, an empty field)
    are skipped; a lookup still open at the end is :func:`parse_pending_lookup`'s business.
    """
    for match in _PRETRAINING_LOOKUP.finditer(text):
        entity, relation, value = (_unescape_token_field(field) for field in match.groups())
        if all(normalize_key(name) for name in (entity, relation, value)):
            yield LookupCall(entity, relation, value, match.start(), match.end())


def _unescape_token_field(field: str) -> str:
    """Fields are written raw; only the ``\\'`` the paper's models learnt from its data is undone."""
    return field.replace("\\'", "'").strip()


def parse_pending_lookup(text: str) -> Lookup | None:
    """The lookup the model has just opened and waits on, or None.

    That is: ``text`` ends with ``<|db_entity|> E<|db_relationship|> R<|db_return|>`` (whitespace
    around the tokens allowed), and the text since the last ``<|db_end|>`` holds no other token.
    """
    tail = text[text.rfind(DB_END) + len(DB_END) :] if DB_END in text else text
    if len(_ANY_TOKEN.findall(tail)) != 3:
        return None
    match = _PENDING_LOOKUP.search(tail)
    if match is None:
        return None
    entity, relation = (_unescape_token_field(field) for field in match.groups())
    if not normalize_key(entity) or not normalize_key(relation):
        return None
    return Lookup(entity, relation)
