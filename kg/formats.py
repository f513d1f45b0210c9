"""Readers of triples: the paper's JSON files, JSONL and CSV (the writers are in
:mod:`lmlm.kg.format_writers`, and named here too).

Readers are generators of :class:`~lmlm.kg.facts.Triple`. Malformed input raises
:class:`~lmlm.kg.errors.InputFormatError` naming the file and where in it: ``line N`` (JSONL,
CSV, and JSON that does not parse or decode) or ``triplets[N]`` / ``examples[N]`` (the paper's JSON).
JSONL and CSV are read one record at a time, a line at most ``MAX_LINE_BYTES`` (a longer line is
refused without being read whole); the paper's JSON files are loaded whole. A field longer than its
limit (:mod:`lmlm.kg.limits`) is refused with its file and place.

A file with no records reads as no triples, in every format: an empty or blank file, a CSV with only
its header, a JSON file whose list is empty. Importing one logs no change.

Formats (the names :func:`detect_format` returns and :func:`read_triples` takes):

* ``paper-database``: ``{"entities", "relationships", "return_values", "triplets": [[e, r, v], ...]}``
* ``paper-annotated``: ``{"examples": [{"annotated_text", "model_id", "original_dataset_ids", ...}]}``
* ``jsonl``: one object a line with ``entity``, ``relation``, ``value`` (or ``subject``,
  ``predicate``, ``object``) and optional ``source``, ``annotator``; other keys are ignored.
* ``csv``: a header row naming the columns ``entity``, ``relation``, ``value`` and optionally
  ``source``, ``annotator`` (any order; other columns ignored), or no header at all, in which case
  every row holds ``entity, relation, value[, source[, annotator]]``. A first row is a header when its
  cells name the three required columns.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import FieldTooLongError, InputFormatError
from .facts import Triple

# The writers, and the atomic file writer other modules share, as they were named here before.
from .format_writers import _atomic_writer as _atomic_writer
from .format_writers import write_jsonl as write_jsonl
from .format_writers import write_paper_database as write_paper_database
from .limits import MAX_LINE_BYTES, check_field_lengths
from .syntax import ParseProblem, parse_annotated

logger = logging.getLogger(__name__)

PAPER_DATABASE, PAPER_ANNOTATED, JSONL, CSV = "paper-database", "paper-annotated", "jsonl", "csv"
FORMATS = (PAPER_DATABASE, PAPER_ANNOTATED, JSONL, CSV)

_REQUIRED = ("entity", "relation", "value")
_OPTIONAL = ("source", "annotator")
_ALIASES = {
    "entity": ("entity", "subject"),
    "relation": ("relation", "predicate"),
    "value": ("value", "object"),
}
_DATABASE_KEYS = {"entities", "relationships", "return_values", "triplets"}
_ANNOTATED_KEYS = {"examples", "metadata"}
_FIRST_KEY = re.compile(r'\A\ufeff?\s*\{\s*"((?:[^"\\]|\\.)*)"')
_PEEK_BYTES = 1 << 16
_SHOWN_PROBLEMS = 5

PathLike = str | os.PathLike


@dataclass
class ReadReport:
    """What a reader of annotated documents met; pass one in to collect problems instead of raising."""

    documents: int = 0
    calls: int = 0  # calls recovered, each one a triple
    problems: list[ParseProblem] = field(default_factory=list)  # calls that could not be parsed

    def summary(self, limit: int = _SHOWN_PROBLEMS) -> str:
        """One line for the user: ``"N calls could not be parsed: ..."`` or that all were parsed."""
        if not self.problems:
            return f"all {self.calls} calls in {self.documents} documents parsed"
        shown = "; ".join(problem.describe() for problem in self.problems[:limit])
        more = len(self.problems) - limit
        tail = f"; and {more} more" if more > 0 else ""
        return f"{len(self.problems)} calls could not be parsed: {shown}{tail}"


# ---------------------------------------------------------------------------------------------
# Detection and dispatch


def detect_format(path: PathLike) -> str:
    """The format of ``path``: by extension (.jsonl, .ndjson, .csv), else by content.

    JSON is told by its first top-level key; a file whose first line is an object is JSONL, and so
    is a blank file (it holds no records in any format).
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return JSONL
    if suffix == ".csv":
        return CSV
    head = _peek(path)
    if not head.lstrip("\ufeff").strip() and len(head.encode("utf-8")) < _PEEK_BYTES:
        return JSONL
    match = _FIRST_KEY.match(head)
    key = match.group(1) if match else None
    if key in _DATABASE_KEYS:
        return PAPER_DATABASE
    if key in _ANNOTATED_KEYS:
        return PAPER_ANNOTATED
    if _looks_like_jsonl(head):
        return JSONL
    choices = ", ".join(FORMATS)
    raise _error(path, "top level", f"cannot tell the format (first key {key!r}); pass one of {choices}")


def read_triples(
    path: PathLike, fmt: str | None = None, report: ReadReport | None = None
) -> Iterator[Triple]:
    """The triples of ``path`` in format ``fmt`` (detected when None); ``report`` as in read_annotated_documents."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    fmt = fmt or detect_format(path)
    if fmt == PAPER_DATABASE:
        return read_paper_database(path)
    if fmt == PAPER_ANNOTATED:
        return read_annotated_documents(path, report)
    if fmt == JSONL:
        return read_jsonl(path)
    return read_csv(path)


def _peek(path: PathLike) -> str:
    with _open_binary(path) as f:
        return f.read(_PEEK_BYTES).decode("utf-8", errors="replace")


def _looks_like_jsonl(head: str) -> bool:
    first_line, newline, _ = head.lstrip("\ufeff").partition("\n")
    if not newline:
        return False
    try:
        return isinstance(json.loads(first_line), dict)
    except json.JSONDecodeError:
        return False


# ---------------------------------------------------------------------------------------------
# The paper's JSON files


def read_paper_database(path: PathLike) -> Iterator[Triple]:
    """The triplets of a paper database file, in order (the format has no provenance)."""
    data = _load_json(path)
    triplets = _require_list(path, data, "triplets")
    for i, triplet in enumerate(triplets):
        where = f"triplets[{i}]"
        if not (isinstance(triplet, list) and len(triplet) == 3 and all(isinstance(x, str) for x in triplet)):
            raise _error(path, where, f"expected [entity, relation, value] strings, got {triplet!r}")
        yield _make_triple(path, where, *triplet)


def read_annotated_documents(path: PathLike, report: ReadReport | None = None) -> Iterator[Triple]:
    """The triples of the lookup calls in a paper annotated-document file.

    ``source`` is the document id (see :func:`read_paper_examples`) and ``annotator`` the example's
    ``model_id``. A call that cannot be parsed raises InputFormatError naming the document and
    character offset, unless ``report`` is given: then it is added to ``report.problems`` and
    reading goes on.
    """
    for example in read_paper_examples(path):
        parsed = parse_annotated(example.annotated_text, example.id)
        if parsed.problems and report is None:
            problem = parsed.problems[0]
            where = f"{example.where} (document {example.id}) char {problem.offset}"
            raise _error(path, where, f"{problem.reason}: {problem.snippet!r}")
        if report is not None:
            report.documents += 1
            report.calls += len(parsed.calls)
            report.problems.extend(parsed.problems)
        for call in parsed.calls:
            yield Triple(call.entity, call.relation, call.value, example.id, example.annotator)
    if report is not None and report.problems:
        logger.warning("%s: %s", path, report.summary())


@dataclass(frozen=True)
class PaperExample:
    """One document of a paper annotated-document file, checked (:func:`read_paper_examples`)."""

    where: str  # "examples[i]": the record, for messages
    id: str
    annotated_text: str
    text: str | None  # the raw text, where the file has it
    annotator: str | None  # the example's model_id


def read_paper_examples(path: PathLike) -> Iterator[PaperExample]:
    """The documents of a paper annotated-document file, in order, each checked.

    The one reader of this format: the knowledge graph's importer (a triple's ``source``) and the
    pretraining corpus (a document's ``id``) both take their ids from here, so they agree. The id of
    ``examples[i]`` comes from ``original_dataset_ids``: a string is the id; a list of strings gives
    its first (the SQuAD files list the question ids of a passage: the first stands for the
    passage); a missing, null, empty or empty-list field gives ``examples[i]``. Ids are unique in a
    file: an id an earlier example already has gets ``#2``, ``#3``, ... (the paper's SQuAD and dwiki
    files give a few ids to several different passages). Any other value is an error naming the
    file and ``examples[i]``, as is an ``annotated_text`` that is not a string or a ``text`` or
    ``model_id`` that is neither a string nor null.
    """
    data = _load_json(path)
    taken: set[str] = set()
    for i, example in enumerate(_require_list(path, data, "examples")):
        where = f"examples[{i}]"
        if not isinstance(example, dict):
            raise _error(path, where, f"expected an object, got {type(example).__name__}")
        text = example.get("annotated_text")
        if not isinstance(text, str):
            raise _error(path, where, f"annotated_text must be a string, got {_type_name(text)}")
        for key in ("text", "model_id"):
            if example.get(key) is not None and not isinstance(example[key], str):
                raise _error(path, where, f"{key} must be a string or null, got {_type_name(example[key])}")
        doc_id = unique_document_id(_document_id(path, where, example.get("original_dataset_ids")), taken)
        yield PaperExample(where, doc_id, text, example.get("text"), example.get("model_id"))


def _document_id(path: PathLike, where: str, ids: Any) -> str:
    if ids is None or ids == [] or ids == "":
        return where
    if isinstance(ids, str):
        return ids
    if isinstance(ids, list) and all(isinstance(x, str) for x in ids) and ids[0]:
        return ids[0]
    raise _error(path, where, f"original_dataset_ids must be a string or strings, got {ids!r}")


def unique_document_id(doc_id: str, taken: set[str]) -> str:
    """``doc_id``, or ``doc_id#N`` with the smallest N >= 2 not in ``taken``; adds it to ``taken``."""
    candidate, n = doc_id, 1
    while candidate in taken:
        n += 1
        candidate = f"{doc_id}#{n}"
    taken.add(candidate)
    return candidate


def _load_json(path: PathLike) -> Any:
    """The file's JSON value; None for a blank file (no records)."""
    with _open_binary(path) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _error(path, f"line {line}", f"not UTF-8 (byte {e.start})") from e
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _error(path, f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}") from e


def _require_list(path: PathLike, data: Any, key: str) -> list:
    if data is None:  # a blank file
        return []
    if not isinstance(data, dict):
        raise _error(path, "top level", f"expected an object, got {_type_name(data)}")
    if key not in data:
        raise _error(path, "top level", f"no {key!r} key")
    if not isinstance(data[key], list):
        raise _error(path, key, f"expected a list, got {_type_name(data[key])}")
    return data[key]


# ---------------------------------------------------------------------------------------------
# JSONL and CSV


def read_jsonl(path: PathLike) -> Iterator[Triple]:
    """One triple per non-blank line, read as the file streams."""
    for number, record in read_json_objects(path):
        yield _triple_from_record(path, f"line {number}", record)


def read_json_objects(path: PathLike, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file, read as it streams.

    The one JSONL reader: triples here, documents in ``lmlm.train.corpus``. A line that is not UTF-8,
    not a JSON object or longer than ``max_line_bytes`` raises InputFormatError naming the file and
    ``line N``.
    """
    for number, line in _iter_lines(path, max_line_bytes):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise _error(path, f"line {number}", f"invalid JSON: {e.msg} (column {e.colno})") from e
        if not isinstance(record, dict):
            raise _error(path, f"line {number}", f"expected an object, got {_type_name(record)}")
        yield number, record


def _triple_from_record(path: PathLike, where: str, record: dict) -> Triple:
    fields: dict[str, str | None] = {}
    for name, keys in _ALIASES.items():
        key = next((k for k in keys if k in record), None)
        if key is None:
            raise _error(path, where, f"missing {name!r}")
        if not isinstance(record[key], str):
            raise _error(path, where, f"{key} must be a string, got {_type_name(record[key])}")
        fields[name] = record[key]
    for name in _OPTIONAL:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise _error(path, where, f"{name} must be a string or null, got {_type_name(value)}")
        fields[name] = value
    return _make_triple(path, where, *fields.values())


def read_csv(path: PathLike) -> Iterator[Triple]:
    """One triple per row (see the module docstring for the columns), read as the file streams."""
    reader = csv.reader((line for _, line in _iter_lines(path)), strict=True)
    columns: list[str] | None = None
    start = 1  # a quoted field may span lines: a record is named by its first line
    while (row := _next_row(path, reader, f"line {start}")) is not None:
        where = f"line {start}"
        start = reader.line_num + 1
        if not row:
            continue
        if columns is None:
            columns = _header_columns(path, where, row)
            if columns is not None:
                continue
            columns = _headerless_columns(path, where, row)
        yield _triple_from_row(path, where, columns, row)


def _next_row(path: PathLike, reader: Any, where: str) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as e:
        raise _error(path, where, f"invalid CSV: {e}") from e


def _header_columns(path: PathLike, where: str, row: list[str]) -> list[str] | None:
    """The column names when ``row`` is a header (it names the required columns), else None."""
    names = [cell.strip().lower() for cell in row]
    if not set(_REQUIRED) <= set(names):
        return None
    duplicated = sorted({n for n in names if n in _REQUIRED + _OPTIONAL and names.count(n) > 1})
    if duplicated:
        raise _error(path, where, f"header names {', '.join(duplicated)} more than once")
    return names


def _headerless_columns(path: PathLike, where: str, row: list[str]) -> list[str]:
    if not 3 <= len(row) <= 5:
        expected = "3 to 5 columns (entity, relation, value[, source[, annotator]])"
        raise _error(path, where, f"no header, so expected {expected}, got {len(row)}")
    return list((_REQUIRED + _OPTIONAL)[: len(row)])


def _triple_from_row(path: PathLike, where: str, columns: list[str], row: list[str]) -> Triple:
    if len(row) != len(columns):
        raise _error(path, where, f"expected {len(columns)} columns, got {len(row)}")
    cells = dict(zip(columns, row, strict=True))
    fields = [cells[name] for name in _REQUIRED] + [cells.get(name) or None for name in _OPTIONAL]
    return _make_triple(path, where, *fields)


def _iter_lines(path: PathLike, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, text with its line ending); bytes that are not UTF-8 name their line. A line is
    read at most ``max_line_bytes`` far: a longer one is refused before the rest of it is read."""
    with _open_binary(path) as f:
        number = 0
        while raw := f.readline(max_line_bytes + 1):
            number += 1
            if len(raw) > max_line_bytes and not (len(raw) == max_line_bytes + 1 and raw.endswith(b"\n")):
                raise _error(
                    path,
                    f"line {number}",
                    f"longer than {max_line_bytes:,} bytes (lmlm.kg.limits.MAX_LINE_BYTES); not read further",
                )
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise _error(path, f"line {number}", f"not UTF-8 (byte {e.start} of the line)") from e
            yield number, line


# ---------------------------------------------------------------------------------------------
# Shared


def _make_triple(path: PathLike, where: str, *fields: str | None) -> Triple:
    """Triple(entity, relation, value[, source, annotator]), its complaints (an empty field, one over
    its length limit) naming file and place."""
    try:
        triple = Triple(*fields)
        check_field_lengths(**dict(zip(("entity", "relation", "value", "source", "annotator"), fields)))
    except (ValueError, FieldTooLongError) as e:
        raise _error(path, where, str(e)) from e
    return triple


def _error(path: PathLike, where: str, problem: str) -> InputFormatError:
    return InputFormatError(str(path), where, problem)


@contextmanager
def _open_binary(path: PathLike) -> Iterator[IO[bytes]]:
    try:
        f = open(path, "rb")  # closed by the with below
    except OSError as e:
        raise _error(path, "file", e.strerror or str(e)) from e
    with f:
        yield f


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
