"""Readers and writers of triples: the paper's JSON files, JSONL, CSV; errors name file and place."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmlm.kg import syntax
from lmlm.kg.errors import InputFormatError
from lmlm.kg.facts import Fact, Triple
from lmlm.kg.formats import (
    CSV,
    JSONL,
    PAPER_ANNOTATED,
    PAPER_DATABASE,
    ReadReport,
    detect_format,
    read_annotated_documents,
    read_csv,
    read_jsonl,
    read_paper_database,
    read_paper_examples,
    read_triples,
    write_jsonl,
    write_paper_database,
)

TRICKY = [
    "Destiny's Child",
    'say "hi"',
    "back\\slash \\' \\\\",
    "`code` {braces} [brackets] (parens)",
    "line\nbreak\r\nand\ttab",
    "emoji 🧠🚀 ünïcödé, separators \u2028 \u2029 \x85 \x0c",
    "comma, semicolon; pipe|",
    "x" * 4_096,  # the longest entity and value lmlm.kg.limits allows
]


def tricky_triples() -> list[Triple]:
    return [
        Triple(name, f"rel {n}", name, source=name, annotator=f"model {n}") for n, name in enumerate(TRICKY)
    ]


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def assert_error(excinfo: pytest.ExceptionInfo, path: Path, location: str, *words: str) -> None:
    error = excinfo.value
    assert error.path == str(path)
    assert error.location == location
    message = str(error)
    assert message.startswith(f"{path}: {location}: ")
    for word in words:
        assert word in message


# ---------------------------------------------------------------------------------------------
# Paper database


def test_read_paper_database(tmp_path):
    data = {
        "entities": ["A", "B"],
        "relationships": ["r"],
        "return_values": ["1", "2"],
        "triplets": [["B", "r", "2"], ["A", "r", "1"]],
    }
    path = write_text(tmp_path / "db.json", json.dumps(data))
    assert list(read_paper_database(path)) == [Triple("B", "r", "2"), Triple("A", "r", "1")]


@pytest.mark.parametrize(
    "content, location, words",
    [
        ('{"triplets": [\n  ["A", "r", "1"],\n  ["B", "r"\n]}', "line 4 column 2", ["invalid JSON"]),
        ('{"triplets": [["A", "r", "1"], ["B", "r"]]}', "triplets[1]", ["[entity, relation, value]"]),
        ('{"triplets": [["A", "r", 1]]}', "triplets[0]", ["strings"]),
        ('{"triplets": [["A", " ", "1"]]}', "triplets[0]", ["relation is empty"]),
        ('{"triplets": {"A": 1}}', "triplets", ["expected a list, got dict"]),
        ('{"entities": []}', "top level", ["no 'triplets' key"]),
        ('[["A", "r", "1"]]', "top level", ["expected an object, got list"]),
    ],
)
def test_paper_database_errors(tmp_path, content, location, words):
    path = write_text(tmp_path / "db.json", content)
    with pytest.raises(InputFormatError) as excinfo:
        list(read_paper_database(path))
    assert_error(excinfo, path, location, *words)


def test_json_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "db.json"
    path.write_bytes(b'{"triplets": [\n["A", "r", "1"],\n["B\xff", "r", "2"]]}')
    with pytest.raises(InputFormatError) as excinfo:
        list(read_paper_database(path))
    assert_error(excinfo, path, "line 3", "not UTF-8")


def test_missing_file_is_an_input_error(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(InputFormatError) as excinfo:
        list(read_paper_database(path))
    assert_error(excinfo, path, "file", "No such file")


def test_paper_database_writer_lists_and_round_trip(tmp_path):
    items = tricky_triples() + [Triple("B", "r", "v"), Triple("A", "r", "v")]
    path = tmp_path / "db.json"
    assert write_paper_database(items, path) == len(items)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["entities"] == sorted({t.entity for t in items})
    assert data["relationships"] == sorted({t.relation for t in items})
    assert data["return_values"] == sorted({t.value for t in items})
    assert data["triplets"] == [[t.entity, t.relation, t.value] for t in items]
    # the format has no provenance: what comes back is the triple without it
    assert list(read_paper_database(path)) == [Triple(t.entity, t.relation, t.value) for t in items]


def test_paper_database_writer_takes_facts_and_empty_input(tmp_path):
    fact = Fact(id="f1", entity="E", relation="R", value="V", seq=3)
    write_paper_database([fact], tmp_path / "one.json")
    assert list(read_paper_database(tmp_path / "one.json")) == [Triple("E", "R", "V")]
    write_paper_database([], tmp_path / "empty.json")
    assert json.loads((tmp_path / "empty.json").read_text()) == {
        "entities": [],
        "relationships": [],
        "return_values": [],
        "triplets": [],
    }


# ---------------------------------------------------------------------------------------------
# Paper annotated documents


def annotated_file(tmp_path: Path, examples: list) -> Path:
    return write_text(tmp_path / "docs.json", json.dumps({"examples": examples, "metadata": {}}))


def test_read_annotated_documents_with_provenance(tmp_path):
    path = annotated_file(
        tmp_path,
        [
            {
                "annotated_text": "[dblookup('Carson's Mounds Mall', 'Closed') -> 2018] 2018 and "
                "[dblookup('Destiny\\'s Child', 'Formed In') -> Houston, Texas] Houston",
                "model_id": "gpt-4o",
                "original_dataset_ids": ["57288428ff", "57288429aa"],
            },
            {"annotated_text": "[dblookup('A', 'r') -> v] v", "original_dataset_ids": "60095830"},
            {"annotated_text": "[dblookup('B', 'r') -> w] w", "model_id": "annotator"},
            {"annotated_text": "no calls here", "model_id": "annotator"},
        ],
    )
    assert list(read_annotated_documents(path)) == [
        Triple("Carson's Mounds Mall", "Closed", "2018", "57288428ff", "gpt-4o"),
        Triple("Destiny's Child", "Formed In", "Houston, Texas", "57288428ff", "gpt-4o"),
        Triple("A", "r", "v", "60095830", None),
        Triple("B", "r", "w", "examples[2]", "annotator"),
    ]


def test_annotated_documents_with_repeated_ids_get_unique_sources(tmp_path):
    calls = [f"[dblookup('E{i}', 'r') -> v] v" for i in range(4)]
    path = annotated_file(
        tmp_path,
        [
            {"annotated_text": calls[0], "original_dataset_ids": ["p", "q"]},
            {"annotated_text": calls[1], "original_dataset_ids": "p"},
            {"annotated_text": calls[2], "original_dataset_ids": ["p#2"]},
            {"annotated_text": calls[3], "original_dataset_ids": ["p"], "text": None},
        ],
    )
    assert [t.source for t in read_annotated_documents(path)] == ["p", "p#2", "p#2#2", "p#3"]
    assert [e.id for e in read_paper_examples(path)] == ["p", "p#2", "p#2#2", "p#3"]


BROKEN_DOCS = [
    {"annotated_text": "[dblookup('A', 'r') -> v] v", "original_dataset_ids": "d0"},
    {
        "annotated_text": "x [dblookup('B', 'r') -> w] w and [dblookup('C', 'r' -> lost",
        "original_dataset_ids": "d1",
    },
    {"annotated_text": "cut [dblookup('D', 'r') -> ", "original_dataset_ids": "d2"},
]


def test_annotated_problems_raise_by_default(tmp_path):
    path = annotated_file(tmp_path, BROKEN_DOCS)
    offset = BROKEN_DOCS[1]["annotated_text"].index("[dblookup('C'")
    with pytest.raises(InputFormatError) as excinfo:
        list(read_annotated_documents(path))
    assert_error(excinfo, path, f"examples[1] (document d1) char {offset}", "dblookup('C'")


def test_annotated_problems_collected_in_a_report(tmp_path):
    path = annotated_file(tmp_path, BROKEN_DOCS)
    report = ReadReport()
    got = list(read_triples(path, report=report))
    assert [t.entity for t in got] == ["A", "B"]
    assert (report.documents, report.calls) == (3, 2)
    assert [(p.doc_id, p.reason) for p in report.problems] == [
        ("d1", syntax.CUT_OFF),
        ("d2", syntax.CUT_OFF),
    ]
    summary = report.summary()
    assert summary.startswith("2 calls could not be parsed: d1, char ")
    assert "d2, char 4" in summary
    assert ReadReport(documents=1, calls=5).summary() == "all 5 calls in 1 documents parsed"


def test_report_summary_is_bounded():
    problems = [syntax.ParseProblem(f"d{n}", n, syntax.CUT_OFF, "[dblookup(") for n in range(12)]
    summary = ReadReport(problems=problems).summary(limit=3)
    assert summary.startswith("12 calls could not be parsed: d0, char 0")
    assert summary.endswith("; and 9 more")
    assert "d3," not in summary


@pytest.mark.parametrize(
    "examples, location, words",
    [
        (["just a string"], "examples[0]", ["expected an object"]),
        (
            [{"annotated_text": "ok"}, {"text": "no annotated_text"}],
            "examples[1]",
            ["annotated_text", "null"],
        ),
        ([{"annotated_text": 3}], "examples[0]", ["annotated_text must be a string, got int"]),
        ([{"annotated_text": "x", "model_id": 7}], "examples[0]", ["model_id"]),
        ([{"annotated_text": "x", "original_dataset_ids": [1, 2]}], "examples[0]", ["original_dataset_ids"]),
        ([{"annotated_text": "x", "original_dataset_ids": [""]}], "examples[0]", ["original_dataset_ids"]),
        ([{"annotated_text": "x", "text": ["raw"]}], "examples[0]", ["text must be a string or null"]),
        (
            [{"annotated_text": "[dblookup('_', 'r') -> v] v"}],
            "examples[0] (document examples[0]) char 0",
            ["empty"],
        ),
    ],
)
def test_annotated_document_errors(tmp_path, examples, location, words):
    path = annotated_file(tmp_path, examples)
    with pytest.raises(InputFormatError) as excinfo:
        list(read_annotated_documents(path))
    assert_error(excinfo, path, location, *words)


# ---------------------------------------------------------------------------------------------
# JSONL


def test_read_jsonl_fields_aliases_and_blank_lines(tmp_path):
    lines = [
        '{"entity": "A", "relation": "r", "value": "v", "source": "doc1", "annotator": "m", "seq": 4}',
        "",
        "   ",
        '{"subject": "B", "predicate": "p", "object": "o", "source": null}',
    ]
    path = write_text(tmp_path / "t.jsonl", "\n".join(lines) + "\n")
    assert list(read_jsonl(path)) == [Triple("A", "r", "v", "doc1", "m"), Triple("B", "p", "o")]


@pytest.mark.parametrize(
    "bad_line, words",
    [
        ('{"entity": "A", "relation": "r"', ["invalid JSON"]),
        ('["A", "r", "v"]', ["expected an object, got list"]),
        ('{"entity": "A", "relation": "r"}', ["missing 'value'"]),
        ('{"entity": "A", "relation": "r", "value": 1976}', ["value must be a string, got int"]),
        ('{"entity": "", "relation": "r", "value": "v"}', ["entity is empty"]),
        ('{"entity": "A", "relation": "r", "value": "v", "source": 5}', ["source must be a string or null"]),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, bad_line, words):
    good = '{"entity": "A", "relation": "r", "value": "v"}'
    path = write_text(tmp_path / "t.jsonl", f"{good}\n\n{bad_line}\n{good}\n")
    with pytest.raises(InputFormatError) as excinfo:
        list(read_jsonl(path))
    assert_error(excinfo, path, "line 3", *words)


def test_jsonl_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"entity": "A", "relation": "r", "value": "v"}\n{"entity": "\xe9"}\n')
    with pytest.raises(InputFormatError) as excinfo:
        list(read_jsonl(path))
    assert_error(excinfo, path, "line 2", "not UTF-8")


def test_jsonl_streams(tmp_path):
    good = '{"entity": "A", "relation": "r", "value": "v"}'
    path = write_text(tmp_path / "t.jsonl", f"{good}\nnot json\n")
    triples = read_jsonl(path)
    assert next(triples) == Triple("A", "r", "v")  # read before the bad line is reached
    with pytest.raises(InputFormatError):
        next(triples)


def test_jsonl_round_trip_of_triples_and_facts(tmp_path):
    items = tricky_triples()
    path = tmp_path / "t.jsonl"
    assert write_jsonl(items, path) == len(items)
    assert list(read_jsonl(path)) == items
    assert len(path.read_text(encoding="utf-8").split("\n")) == len(items) + 1  # newlines escaped

    facts = [Fact(id=f"f{n}", seq=n, change_id=9, created_at=1.5, **vars_of(t)) for n, t in enumerate(items)]
    write_jsonl(facts, path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [Fact.from_dict(row) for row in rows] == facts
    assert list(read_jsonl(path)) == items


def vars_of(triple: Triple) -> dict:
    return {k: getattr(triple, k) for k in ("entity", "relation", "value", "source", "annotator")}


# ---------------------------------------------------------------------------------------------
# CSV


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_csv_with_header_in_any_order_and_extra_columns(tmp_path):
    path = write_rows(
        tmp_path / "t.csv",
        [
            ["Value", "entity", "confidence", "relation", "source"],
            ["v1", "A", "0.9", "r", "doc1"],
            ["v2", "B", "0.1", "r", ""],
        ],
    )
    assert list(read_csv(path)) == [Triple("A", "r", "v1", "doc1"), Triple("B", "r", "v2")]


def test_csv_without_header(tmp_path):
    path = write_rows(tmp_path / "t.csv", [["A", "r", "v"], ["B", "r", "w"]])
    assert list(read_csv(path)) == [Triple("A", "r", "v"), Triple("B", "r", "w")]
    path = write_rows(tmp_path / "t5.csv", [["A", "r", "v", "doc", "model"]])
    assert list(read_csv(path)) == [Triple("A", "r", "v", "doc", "model")]


def test_csv_round_trip_with_quoted_commas_newlines(tmp_path):
    items = tricky_triples()
    rows = [["entity", "relation", "value", "source", "annotator"]]
    rows += [[t.entity, t.relation, t.value, t.source, t.annotator] for t in items]
    path = write_rows(tmp_path / "t.csv", rows)
    assert list(read_csv(path)) == items


def test_csv_errors_name_the_first_line_of_the_record(tmp_path):
    path = write_text(tmp_path / "t.csv", 'entity,relation,value\n"A\nmultiline",r,v\n\nB,r\n')
    with pytest.raises(InputFormatError) as excinfo:
        list(read_csv(path))
    assert_error(excinfo, path, "line 5", "expected 3 columns, got 2")


@pytest.mark.parametrize(
    "content, location, words",
    [
        ("A,r\n", "line 1", ["no header", "got 2"]),
        ("A,r,v\nB,r,v,s,a,x\n", "line 2", ["expected 3 columns, got 6"]),
        ("entity,relation,value,value\nA,r,v,w\n", "line 1", ["value more than once"]),
        ("entity,relation,value\nA,,v\n", "line 2", ["relation is empty"]),
        ('entity,relation,value\n"A,r,v\n', "line 2", ["invalid CSV", "end of data"]),
        ('entity,relation,value\nA,"r"x,v\n', "line 2", ["invalid CSV"]),
    ],
)
def test_csv_errors(tmp_path, content, location, words):
    path = write_text(tmp_path / "t.csv", content)
    with pytest.raises(InputFormatError) as excinfo:
        list(read_csv(path))
    assert_error(excinfo, path, location, *words)


def test_csv_not_utf8_and_bom(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"entity,relation,value\nA,r,v\nB,r,\xe9t\xe9\n")
    with pytest.raises(InputFormatError) as excinfo:
        list(read_csv(path))
    assert_error(excinfo, path, "line 3", "not UTF-8")
    path.write_bytes("\ufeffentity,relation,value\nA,r,v\n".encode())
    assert list(read_csv(path)) == [Triple("A", "r", "v")]


# ---------------------------------------------------------------------------------------------
# Detection, dispatch, atomic writes


def test_detect_format(tmp_path):
    db = write_text(tmp_path / "db.json", '{"triplets": [["A", "r", "v"]], "entities": ["A"]}')
    docs = write_text(tmp_path / "docs.json", '\ufeff{\n    "examples": []}')
    lines = write_text(tmp_path / "facts.txt", '{"entity": "A", "relation": "r", "value": "v"}\n')
    other = write_text(tmp_path / "other.json", '{"factscore_0": {}}')
    assert detect_format(tmp_path / "x.jsonl") == detect_format(tmp_path / "x.NDJSON") == JSONL
    assert detect_format(tmp_path / "x.csv") == CSV
    assert detect_format(db) == PAPER_DATABASE
    assert detect_format(docs) == PAPER_ANNOTATED
    assert detect_format(lines) == JSONL
    with pytest.raises(InputFormatError) as excinfo:
        detect_format(other)
    assert_error(excinfo, other, "top level", "'factscore_0'", "paper-database")


def test_read_triples_dispatches(tmp_path):
    db = write_text(tmp_path / "db.json", '{"triplets": [["A", "r", "v"]]}')
    lines = write_text(tmp_path / "t.jsonl", '{"entity": "A", "relation": "r", "value": "v"}\n')
    rows = write_rows(tmp_path / "t.csv", [["A", "r", "v"]])
    assert (
        list(read_triples(db))
        == list(read_triples(lines))
        == list(read_triples(rows))
        == [Triple("A", "r", "v")]
    )
    assert list(read_triples(rows, fmt=CSV)) == [Triple("A", "r", "v")]
    with pytest.raises(ValueError, match="fmt must be one of"):
        read_triples(rows, fmt="xml")


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "t.jsonl"
    write_jsonl([Triple("A", "r", "v")], path)

    def failing():
        yield Triple("B", "r", "v")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_jsonl(failing(), path)
    assert list(read_jsonl(path)) == [Triple("A", "r", "v")]  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]  # no temporary file left
    assert path.stat().st_mode & 0o777 == 0o644


def test_modules_import_without_torch():
    code = "import sys, lmlm.kg.formats, lmlm.kg.syntax; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
