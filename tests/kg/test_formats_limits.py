"""Every reader alike at the edges: a file with no records reads as no triples (and importing it logs
no change), an over-long line is refused before it is read whole, an over-long field is refused with
its file and place."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from lmlm.kg.embedded_store import EmbeddedStore
from lmlm.kg.errors import InputFormatError
from lmlm.kg.formats import FORMATS, detect_format, read_triples
from lmlm.kg.knowledge_graph import KnowledgeGraph
from lmlm.kg.limits import MAX_LINE_BYTES, MAX_VALUE_CHARS

EMPTY_FILES = {
    "zero bytes.json": "",
    "zero bytes.jsonl": "",
    "zero bytes.csv": "",
    "zero bytes.txt": "",
    "blank lines.jsonl": "\n  \n\n",
    "blank.json": "  \n\t\n",
    "byte order mark.json": "\ufeff",
    "header only.csv": "entity,relation,value\n",
    "no triplets.json": json.dumps(
        {"entities": [], "relationships": [], "return_values": [], "triplets": []}
    ),
    "no examples.json": json.dumps({"examples": []}),
}


@pytest.mark.parametrize("name", list(EMPTY_FILES))
def test_a_file_with_no_records_reads_as_no_triples_and_imports_nothing(tmp_path, name):
    path = tmp_path / name
    path.write_text(EMPTY_FILES[name], encoding="utf-8")
    assert list(read_triples(path)) == []
    with KnowledgeGraph(EmbeddedStore(tmp_path / "store"), index_dir=tmp_path / "index") as kg:
        [(report, problems)] = kg.import_files([path])
        assert (report.change_id, report.read, report.added, problems) == (None, 0, 0, [])
        assert kg.store.history() == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_file_is_no_records_in_every_format_asked_for(tmp_path, fmt):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert detect_format(path) in FORMATS
    assert list(read_triples(path, fmt)) == []


def jsonl_line(value: str) -> str:
    return json.dumps({"entity": "A", "relation": "r", "value": value}) + "\n"


def test_a_line_longer_than_the_limit_is_refused_with_its_number(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text(jsonl_line("ok") + jsonl_line("x" * MAX_LINE_BYTES), encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        list(read_triples(path))
    assert (info.value.path, info.value.location) == (str(path), "line 2")
    assert f"longer than {MAX_LINE_BYTES:,} bytes" in info.value.problem
    csv_path = tmp_path / "long.csv"
    csv_path.write_text("entity,relation,value\nA,r," + "x" * MAX_LINE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="line 2: longer than"):
        list(read_triples(csv_path))


def test_a_line_of_exactly_the_limit_is_read(tmp_path):
    head = jsonl_line("")
    line = jsonl_line("v" * (MAX_LINE_BYTES - len(head)))  # its newline included
    assert len(line.encode()) == MAX_LINE_BYTES
    path = tmp_path / "edge.jsonl"
    path.write_text(line + line[:-1], encoding="utf-8")  # the last one without a newline
    with pytest.raises(InputFormatError, match="line 1: value is"):  # read, then over the field limit
        list(read_triples(path))


def test_a_runaway_line_is_refused_without_being_read_whole(tmp_path):
    """The issue's case, one 50 MB line, which took 1.3 GB: fed through a pipe that ends the line
    only after 100 MB, it is refused once the limit is passed, so the reader cannot have read it
    whole (the feeder then meets a closed pipe)."""
    fifo = tmp_path / "runaway.jsonl"
    os.mkfifo(fifo)
    fed = []

    def feed() -> None:
        with open(fifo, "wb") as fh:
            try:
                fh.write(b'{"entity": "A", "relation": "r", "value": "')
                for _ in range(100):
                    fh.write(b"x" * 1_000_000)
                    fed.append(1)
                fh.write(b'"}\n')
            except BrokenPipeError:
                pass

    feeder = threading.Thread(target=feed)
    feeder.start()
    with pytest.raises(InputFormatError, match="line 1: longer than") as info:
        list(read_triples(fifo))
    feeder.join(timeout=60)
    assert str(fifo) in str(info.value) and len(fed) < 100


FIELD_TOO_LONG = {
    "long.jsonl": (jsonl_line("ok") + jsonl_line("v" * (MAX_VALUE_CHARS + 1)), "line 2"),
    "long.csv": ("entity,relation,value\nA,r,ok\nA,r," + "v" * (MAX_VALUE_CHARS + 1) + "\n", "line 3"),
    "long.json": (
        json.dumps({"triplets": [["A", "r", "ok"], ["A", "r", "v" * (MAX_VALUE_CHARS + 1)]]}),
        "triplets[1]",
    ),
}


@pytest.mark.parametrize("name", list(FIELD_TOO_LONG))
def test_a_field_over_its_limit_names_file_and_place(tmp_path, name):
    text, where = FIELD_TOO_LONG[name]
    path = Path(tmp_path / name)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        list(read_triples(path))
    assert (info.value.path, info.value.location) == (str(path), where)
    assert f"value is {MAX_VALUE_CHARS + 1:,} characters, over the limit of {MAX_VALUE_CHARS:,}" in str(
        info.value
    )
