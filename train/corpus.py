"""Pretraining documents: read from the paper's files, JSONL or a generated world; cleaned; split.

A :class:`Document` holds a text twice: raw (what the Standard baseline trains on) and annotated in
the pretraining token format (what the LMLM trains on: each fact a lookup followed by the value as
written). Readers take the annotated format of the paper's files (``[dblookup('E', 'R') -> V] V``)
or the token format, and convert.

Formats of :func:`load_documents`:

* ``paper-annotated``: the paper's JSON, ``{"examples": [{"annotated_text", "text", ...}]}``, read
  by :func:`lmlm.kg.formats.read_paper_examples`, which also gives the id (the first of
  ``original_dataset_ids``, else ``examples[i]``; unique in the file): the same id that
  ``lmlm kg import`` records as the source of the document's facts.
* ``jsonl``: one object a line (read by :func:`lmlm.kg.formats.read_json_objects`) with ``text``
  and/or ``annotated_text`` (either format) and an optional ``id`` (else ``line-N``).
  ``lmlm data convert`` writes this.
* ``world``: a directory written by ``lmlm data world``; its ``corpus/train.jsonl``.

Errors name the file and the record (``line N``, ``examples[i]``) and, for a lookup that cannot be
parsed, the document and character offset. With ``lenient`` such lookups are dropped from the
annotated text instead (the words around them stay) and counted in the ``report``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmlm.kg.errors import InputFormatError
from lmlm.kg.facts import normalize_key
from lmlm.kg.formats import ReadReport, read_json_objects, read_paper_examples, unique_document_id
from lmlm.kg.syntax import LookupCall, from_pretraining_text, iter_pretraining_lookups, strip_lookups

from .lookup_text import remove_spans, to_token_text

logger = logging.getLogger(__name__)

PAPER_ANNOTATED, JSONL, WORLD = "paper-annotated", "jsonl", "world"
FORMATS = (PAPER_ANNOTATED, JSONL, WORLD)
LMLM, STANDARD, ANNOTATED = "lmlm", "standard", "annotated"
OUTPUTS = (LMLM, STANDARD, ANNOTATED)
_NON_WORD = re.compile(r"\W+")
REASONS = ("too_short", "too_long", "low_ratio", "high_ratio", "dense", "duplicate")

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Document:
    id: str
    text: str  # raw text (for the Standard baseline)
    annotated: str  # annotated text in the pretraining token format (lookups + copy)
    source: str = ""  # file name or "world"


def lmlm_text(doc: Document) -> str:
    """What the LMLM trains on: the text with its lookups."""
    return doc.annotated


def standard_text(doc: Document) -> str:
    """What the Standard baseline trains on: the raw text, no lookups."""
    return doc.text if doc.text else strip_lookups(doc.annotated)


# ---------------------------------------------------------------------------------------------
# Reading


def detect_format(path: PathLike) -> str:
    """``world`` for a directory, ``paper-annotated`` for .json, ``jsonl`` for .jsonl/.ndjson."""
    path = Path(path)
    if path.is_dir():
        return WORLD
    suffix = path.suffix.lower()
    if suffix == ".json":
        return PAPER_ANNOTATED
    if suffix in (".jsonl", ".ndjson"):
        return JSONL
    raise InputFormatError(
        str(path),
        "file",
        f"cannot tell the format from {suffix or 'no suffix'!r}; pass one of {', '.join(FORMATS)}",
    )


def load_documents(
    path: PathLike, fmt: str = "auto", *, lenient: bool = False, report: ReadReport | None = None
) -> list[Document]:
    """The documents of ``path`` (see the module docstring for the formats).

    ``report`` (optional) collects documents, lookups kept and, when ``lenient``, the dropped ones.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"fmt must be auto or one of {', '.join(FORMATS)}; got {fmt!r}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    report = report if report is not None else ReadReport()
    if fmt == WORLD:
        path = Path(path) / "corpus" / "train.jsonl"
        records = _jsonl_records(path)
        source = WORLD
    else:
        records = _paper_records(path) if fmt == PAPER_ANNOTATED else _jsonl_records(path)
        source = Path(path).name
    docs = [_make_document(path, where, record, source, lenient, report) for where, record in records]
    if report.problems:
        logger.warning("%s: %s", path, report.summary())
    return _unique_ids(docs)


def _paper_records(path: PathLike) -> Iterator[tuple[str, dict]]:
    for example in read_paper_examples(path):
        record = {"id": example.id, "text": example.text, "annotated_text": example.annotated_text}
        yield example.where, record


def _jsonl_records(path: PathLike) -> Iterator[tuple[str, dict]]:
    for number, record in read_json_objects(path):
        yield f"line {number}", {**record, "id": str(record.get("id") or f"line-{number}")}


def _make_document(
    path: PathLike, where: str, record: dict, source: str, lenient: bool, report: ReadReport
) -> Document:
    text, annotated = record.get("text"), record.get("annotated_text")
    for name, value in (("text", text), ("annotated_text", annotated)):
        if value is not None and not isinstance(value, str):
            raise InputFormatError(str(path), where, f"{name} must be a string, got {type(value).__name__}")
    if annotated is None and text is None:
        raise InputFormatError(str(path), where, "needs 'text' or 'annotated_text'")
    doc_id = record["id"]
    converted, calls, problems = to_token_text(text if annotated is None else annotated, doc_id)
    if problems and not lenient:
        first = problems[0]
        location = f"{where} (document {doc_id}) char {first.offset}"
        raise InputFormatError(str(path), location, f"{first.reason}: {first.snippet!r} (--lenient drops it)")
    report.documents += 1
    report.calls += calls
    report.problems.extend(problems)
    raw = text if text is not None else strip_lookups(converted)
    return Document(doc_id, raw, converted, source)


def _unique_ids(docs: list[Document]) -> list[Document]:
    """Repeated ids get ``#2``, ``#3``... (as the paper files' reader gives them)."""
    taken: set[str] = set()
    out = []
    for doc in docs:
        doc_id = unique_document_id(doc.id, taken)
        out.append(doc if doc_id == doc.id else Document(doc_id, doc.text, doc.annotated, doc.source))
    return out


# ---------------------------------------------------------------------------------------------
# Writing


def document_record(doc: Document, to: str = LMLM) -> dict[str, str]:
    """The JSONL record of ``doc`` that :func:`load_documents` reads back.

    ``lmlm``: raw ``text`` and ``annotated_text`` in the token format; ``annotated``: the same in the
    paper's annotated format; ``standard``: the raw ``text`` alone.
    """
    record = {"id": doc.id, "source": doc.source}
    if to == STANDARD:
        return {**record, "text": standard_text(doc)}
    if to == ANNOTATED:
        return {**record, "text": doc.text, "annotated_text": from_pretraining_text(doc.annotated)}
    if to == LMLM:
        return {**record, "text": doc.text, "annotated_text": doc.annotated}
    raise ValueError(f"--to must be one of {', '.join(OUTPUTS)}; got {to!r}")


def write_documents(docs: Iterable[Document], path: PathLike, to: str = LMLM) -> int:
    """Write ``docs`` as JSONL (see :func:`document_record`); the file appears only once complete."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for doc in docs:
                f.write(json.dumps(document_record(doc, to), ensure_ascii=False) + "\n")
                count += 1
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


# ---------------------------------------------------------------------------------------------
# Cleaning


@dataclass(frozen=True)
class CleanConfig:
    """Which documents :func:`clean_documents` keeps; each field is a flag of ``lmlm data clean``."""

    min_chars: int = field(default=50, metadata={"help": "drop raw texts shorter than this"})
    max_chars: int = field(default=100_000, metadata={"help": "drop raw texts longer than this"})
    min_ratio: float = field(
        default=0.8,
        metadata={
            "help": "drop when the annotated text without lookups is shorter than this share of the raw "
            "text (the annotator dropped part of it)"
        },
    )
    max_ratio: float = field(
        default=1.2,
        metadata={
            "help": "drop when the annotated text without lookups is longer than this share of the raw text"
        },
    )
    max_density: float = field(
        default=30.0, metadata={"help": "drop documents with more lookups per 100 raw words"}
    )
    drop_redundant: bool = field(
        default=True,
        metadata={
            "help": "remove lookups whose value is part of their entity or relation; the text stays",
            "off_flags": ("--keep-redundant",),
        },
    )
    dedupe: bool = field(
        default=True,
        metadata={
            "help": "drop a document whose raw text repeats an earlier one",
            "off_flags": ("--keep-duplicates",),
        },
    )

    def __post_init__(self) -> None:
        if self.min_chars < 0 or self.max_chars < self.min_chars:
            raise ValueError(
                f"need 0 <= --min-chars <= --max-chars, got {self.min_chars} and {self.max_chars}"
            )
        if self.min_ratio < 0 or self.max_ratio < self.min_ratio:
            raise ValueError(
                f"need 0 <= --min-ratio <= --max-ratio, got {self.min_ratio} and {self.max_ratio}"
            )
        if self.max_density <= 0:
            raise ValueError(f"--max-density must be > 0, got {self.max_density}")


@dataclass(frozen=True)
class CleanReport:
    input: int
    kept: int
    dropped: dict[str, int]  # reason (REASONS) -> documents
    redundant_lookups_removed: int
    lookups: int = 0  # lookups in the kept documents

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "redundant_lookups_removed": self.redundant_lookups_removed,
            "lookups": self.lookups,
        }


def clean_documents(
    docs: Iterable[Document], config: CleanConfig | None = None
) -> tuple[list[Document], CleanReport]:
    """The documents that pass every filter, in order, and how many each filter dropped.

    Redundant lookups go first; then a document is dropped for the first reason that holds:
    length, ratio, lookup density, duplicate raw text.
    """
    config = config or CleanConfig()
    dropped = dict.fromkeys(REASONS, 0)
    kept: list[Document] = []
    seen: set[str] = set()
    total = redundant = lookups = 0
    for doc in docs:
        total += 1
        calls = list(iter_pretraining_lookups(doc.annotated))
        if config.drop_redundant:
            doc, removed = remove_redundant_lookups(doc, calls)
            redundant += removed
            calls = calls if not removed else list(iter_pretraining_lookups(doc.annotated))
        reason = _drop_reason(doc, calls, config, seen)
        if reason:
            dropped[reason] += 1
            continue
        seen.add(doc.text)
        kept.append(doc)
        lookups += len(calls)
    report = CleanReport(total, len(kept), dropped, redundant, lookups)
    logger.info("cleaning kept %d of %d documents: %s", len(kept), total, dropped)
    return kept, report


def _drop_reason(doc: Document, calls: list[LookupCall], config: CleanConfig, seen: set[str]) -> str | None:
    chars = len(doc.text)
    if chars < config.min_chars:
        return "too_short"
    if chars > config.max_chars:
        return "too_long"
    ratio = _length_without_lookups(doc.annotated, calls) / max(1, chars)
    if ratio < config.min_ratio:
        return "low_ratio"
    if ratio > config.max_ratio:
        return "high_ratio"
    if 100 * len(calls) / max(1, len(doc.text.split())) > config.max_density:
        return "dense"
    if config.dedupe and doc.text in seen:
        return "duplicate"
    return None


def _length_without_lookups(text: str, calls: list[LookupCall]) -> int:
    """``len(strip_lookups(text))`` for a text whose lookups are all complete, without a second parse."""
    return len(text) - sum(c.end - c.start + text.startswith(" ", c.end) for c in calls)


def is_redundant(call: LookupCall) -> bool:
    """The value is written in the entity or relation (whole words, case-folded): nothing to look up."""
    value = _words(call.value)
    return value in _words(call.entity) or value in _words(call.relation)


def _words(name: str) -> str:
    """`` word word `` (case-folded, punctuation as spaces), for whole-word containment tests."""
    return " " + _NON_WORD.sub(" ", normalize_key(name)).strip() + " "


def remove_redundant_lookups(doc: Document, calls: list[LookupCall] | None = None) -> tuple[Document, int]:
    """``doc`` without its redundant lookups (the value as written stays), and how many went.

    ``calls`` are the document's lookups when already at hand.
    """
    calls = list(iter_pretraining_lookups(doc.annotated)) if calls is None else calls
    spans = [(c.start, c.end) for c in calls if is_redundant(c)]
    if not spans:
        return doc, 0
    return Document(doc.id, doc.text, remove_spans(doc.annotated, spans), doc.source), len(spans)


# ---------------------------------------------------------------------------------------------
# Splitting


def split_documents(
    docs: Iterable[Document], eval_fraction: float = 0.05, seed: int = 0
) -> tuple[list[Document], list[Document]]:
    """(train, eval): a seeded random ``eval_fraction`` of the documents (at least one, never all)."""
    if not 0 <= eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    docs = list(docs)
    n_eval = 0 if eval_fraction == 0 or len(docs) < 2 else max(1, round(eval_fraction * len(docs)))
    n_eval = min(n_eval, len(docs) - 1) if docs else 0
    chosen = set(random.Random(seed).sample(range(len(docs)), n_eval))
    train = [d for i, d in enumerate(docs) if i not in chosen]
    return train, [d for i, d in enumerate(docs) if i in chosen]
