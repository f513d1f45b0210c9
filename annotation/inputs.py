"""What to annotate: documents read from files, cut into chunks that keep their document's id.

Inputs (each path one of):

* a ``.jsonl``/``.ndjson`` file: one object a line with the text in ``text_field`` (else the
  ``annotated_text``, its lookups removed) and the id in ``id_field`` (else ``line-N``);
* a ``.json`` file: the paper's annotated documents (``{"examples": [...]}``: the raw ``text``, the
  id from ``original_dataset_ids`` as :mod:`lmlm.kg.formats` reads it) or a list of such objects;
* a ``.txt`` file (one document, its name the id) or a directory of them (read recursively, ids
  are the paths relative to it, without ``.txt``).

Files are read as they stream (JSON files whole). A repeated id gets ``#2``, ``#3``... in order,
so ids are unique and the same on every run (``--resume`` relies on it). Errors name the file
and the line or record.

Chunks are cut at paragraph and sentence ends, so that each holds at most ``chunk_size`` words
(or tokens of ``tokenizer``); a longer sentence is cut between words. Chunk ``i`` of a document
cut into several is ``ID#cI``; a document that fits is one chunk with the document's own id.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import strip_lookups
from lmlm.train.corpus import _jsonl_records

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_WORD_END = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class InputConfig:
    """How inputs are read and chunked; every field is a flag of ``lmlm annotate``."""

    text_field: str = field(default="text", metadata={"help": "JSON/JSONL field that holds the text"})
    id_field: str = field(default="id", metadata={"help": "JSON/JSONL field that holds the document id"})
    chunk_by: Literal["words", "tokens"] = field(
        default="words", metadata={"help": "chunk size unit: words, or tokens of --chunk-tokenizer"}
    )
    chunk_size: int = field(
        default=400, metadata={"help": "most words (tokens) a chunk holds; 0: no chunking"}
    )
    chunk_tokenizer: str = field(
        default="", metadata={"help": "tokenizer for --chunk-by tokens (default: the local model's)"}
    )

    def __post_init__(self) -> None:
        if self.chunk_size < 0:
            raise ValueError(f"--chunk-size must be >= 0, got {self.chunk_size}")
        if not self.text_field or not self.id_field:
            raise ValueError("--text-field and --id-field must not be empty")


@dataclass(frozen=True)
class SourceDocument:
    id: str
    text: str
    dataset: str  # the input file's name


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: ``text`` is ``document[start:end]``."""

    id: str
    document_id: str
    index: int
    count: int
    start: int
    end: int
    text: str
    dataset: str


# ---------------------------------------------------------------------------------------------
# Reading


def read_documents(
    paths: Iterable[str | os.PathLike], config: InputConfig | None = None
) -> Iterator[SourceDocument]:
    """Every document of ``paths`` in order (see the module docstring); ids made unique."""
    config = config or InputConfig()
    seen: dict[str, int] = {}
    for path in map(Path, paths):
        for doc in _read_path(path, config):
            n = seen[doc.id] = seen.get(doc.id, 0) + 1
            yield doc if n == 1 else SourceDocument(f"{doc.id}#{n}", doc.text, doc.dataset)


def _read_path(path: Path, config: InputConfig) -> Iterator[SourceDocument]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise InputFormatError(str(path), "directory", "holds no .txt files")
        for file in files:
            yield SourceDocument(
                file.relative_to(path).with_suffix("").as_posix(), _read_text(file), path.name
            )
        return
    suffix = path.suffix.lower()
    if suffix == ".txt":
        yield SourceDocument(path.stem, _read_text(path), path.name)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(path, config)
    elif suffix == ".json":
        yield from _read_json(path, config)
    else:
        raise InputFormatError(str(path), "file", "expected .jsonl, .json, .txt or a directory of .txt files")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputFormatError(str(path), "file", f"not UTF-8 (byte {e.start})") from e
    except OSError as e:
        raise InputFormatError(str(path), "file", e.strerror or str(e)) from e


def _read_jsonl(path: Path, config: InputConfig) -> Iterator[SourceDocument]:
    for where, record in _jsonl_records(path):  # streams; errors name the line
        yield _document(path, where, record, config, record["id"])


def _read_json(path: Path, config: InputConfig) -> Iterator[SourceDocument]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise InputFormatError(
            str(path), f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}"
        ) from e
    items = data.get("examples") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputFormatError(str(path), "top level", "expected a list or an object with an 'examples' list")
    for i, item in enumerate(items):
        where = f"examples[{i}]"
        ids = item.get("original_dataset_ids") if isinstance(item, dict) else None
        paper_id = ids[0] if isinstance(ids, list) and ids else ids if isinstance(ids, str) and ids else None
        yield _document(path, where, item, config, paper_id or where)


def _document(path: Path, where: str, record, config: InputConfig, default_id: str) -> SourceDocument:
    if not isinstance(record, dict):
        raise InputFormatError(str(path), where, f"expected an object, got {type(record).__name__}")
    text = record.get(config.text_field)
    if text is None and isinstance(record.get("annotated_text"), str):
        text = strip_lookups(record["annotated_text"])
    if not isinstance(text, str):
        raise InputFormatError(str(path), where, f"no string {config.text_field!r} (or 'annotated_text')")
    doc_id = record.get(config.id_field)
    if doc_id is not None and not isinstance(doc_id, (str, int)):
        raise InputFormatError(str(path), where, f"{config.id_field!r} must be a string or number")
    return SourceDocument(str(doc_id) if doc_id not in (None, "") else default_id, text, path.name)


# ---------------------------------------------------------------------------------------------
# Chunking


def word_counter(_text: str) -> int:
    return len(_text.split())


def token_counter(tokenizer) -> Callable[[str], int]:
    """Tokens of a Hugging Face tokenizer (special tokens not counted)."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def chunk_document(doc: SourceDocument, size: int, count: Callable[[str], int] = word_counter) -> list[Chunk]:
    """``doc`` cut into chunks of at most ``size`` units (``count``); ``size`` 0: one chunk."""
    spans = _chunk_spans(doc.text, size, count) if size else [(0, len(doc.text))]
    spans = [(s, e) for s, e in spans if doc.text[s:e].strip()] or [(0, len(doc.text))]
    n = len(spans)
    return [
        Chunk(doc.id if n == 1 else f"{doc.id}#c{i}", doc.id, i, n, s, e, doc.text[s:e], doc.dataset)
        for i, (s, e) in enumerate(spans)
    ]


def _chunk_spans(text: str, size: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Greedy packing of sentences (a too long one cut by words) into spans of <= size units.

    A span's size is the sum of its units' (exact for words; for tokens within a token or so of
    tokenizing the span whole), so each unit is counted once.
    """
    units = [span for start, end in _sentence_spans(text) for span in _fit(text, start, end, size, count)]
    spans: list[tuple[int, int]] = []
    start, end, total = None, 0, 0
    for unit_start, unit_end in units:
        n = count(text[unit_start:unit_end])
        if start is not None and total + n > size:
            spans.append((start, end))
            start = None
        if start is None:
            start, total = unit_start, 0
        end, total = unit_end, total + n
    if start is not None:
        spans.append((start, end))
    return [_trim(text, s, e) for s, e in spans]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences with the whitespace after them, covering ``text``."""
    spans, pos = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((pos, match.end()))
        pos = match.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def _fit(text: str, start: int, end: int, size: int, count) -> list[tuple[int, int]]:
    """The span itself if it fits, else pieces of whole words that do (a word longer than ``size`` alone)."""
    if count(text[start:end]) <= size:
        return [(start, end)]
    pieces, piece_start, total = [], start, 0
    for match in _WORD_END.finditer(text, start, end):
        n = count(match.group())
        if match.start() > piece_start and total + n > size:
            pieces.append((piece_start, match.start()))
            piece_start, total = match.start(), 0
        total += n
    pieces.append((piece_start, end))
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
