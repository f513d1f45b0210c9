"""Pretraining documents: readers, errors that name the place, cleaning filters, splits, paper files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmlm.kg.errors import InputFormatError
from lmlm.kg.formats import ReadReport, read_annotated_documents
from lmlm.kg.syntax import LOOKUP_TOKENS, format_pretraining_lookup, iter_pretraining_lookups, strip_lookups
from lmlm.train.corpus import (
    OUTPUTS,
    CleanConfig,
    Document,
    clean_documents,
    lmlm_text,
    load_documents,
    split_documents,
    standard_text,
    write_documents,
)
from lmlm.train.world.data import WorldDataConfig, write_world
from tests.paper_data import PAPER_DATA

PAPER = PAPER_DATA
PAPER_FILES = [
    "dwiki-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
    "dwiki-eval1k_annotator_llama-v6.1_cleaned.json",
    "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
    "squad-train1k_chatgpt_gpt4o-v7.1_cleaned.json",
]
needs_paper = pytest.mark.skipif(not PAPER.is_dir(), reason=f"the paper's data files are not at {PAPER}")

GOOD = "Ko Itakura was born in [dblookup('Ko Itakura', 'Birthplace') -> Yokohama] Yokohama in 1997."
BROKEN = "He plays for (dblookup('Ko Itakura', 'Team') -> Gladbach] Gladbach now."


def write_paper(path: Path, *texts: str, raw: list[str] | None = None) -> Path:
    examples = [
        {"annotated_text": t, "original_dataset_ids": [f"doc-{i}"], **({"text": raw[i]} if raw else {})}
        for i, t in enumerate(texts)
    ]
    path.write_text(json.dumps({"examples": examples, "metadata": {}}), encoding="utf-8")
    return path


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_paper_json_converts_to_the_token_format(tmp_path):
    path = write_paper(tmp_path / "docs.json", GOOD, raw=["Ko Itakura was born in Yokohama in 1997."])
    [doc] = load_documents(path)
    lookup = format_pretraining_lookup("Ko Itakura", "Birthplace", "Yokohama")
    assert doc == Document(
        "doc-0",
        "Ko Itakura was born in Yokohama in 1997.",
        f"Ko Itakura was born in {lookup} Yokohama in 1997.",
        "docs.json",
    )
    assert lmlm_text(doc) == doc.annotated
    assert standard_text(doc) == doc.text


def test_a_broken_call_names_file_record_document_and_offset(tmp_path):
    path = write_paper(tmp_path / "docs.json", GOOD, GOOD + " " + BROKEN)
    with pytest.raises(InputFormatError) as info:
        load_documents(path)
    message = str(info.value)
    offset = len(GOOD) + 1 + BROKEN.index("dblookup")
    assert str(path) in message and "examples[1]" in message and "doc-1" in message
    assert f"char {offset}" in message and "not opened with '['" in message


def test_lenient_drops_the_broken_call_keeps_the_words_and_counts_it(tmp_path):
    path = write_paper(tmp_path / "docs.json", GOOD + " " + BROKEN)
    report = ReadReport()
    [doc] = load_documents(path, lenient=True, report=report)
    assert (report.documents, report.calls, len(report.problems)) == (1, 1, 1)
    assert "dblookup" not in doc.annotated and doc.annotated.endswith("in 1997. He plays for Gladbach now.")
    assert doc.text == "Ko Itakura was born in Yokohama in 1997. He plays for Gladbach now."
    assert standard_text(doc) == strip_lookups(doc.annotated)


def test_jsonl_takes_either_format_and_plain_text(tmp_path):
    lookup = format_pretraining_lookup("Ko Itakura", "Team", "Gladbach")
    path = write_lines(
        tmp_path / "docs.jsonl",
        json.dumps({"id": "a", "annotated_text": GOOD}),
        "",
        json.dumps({"annotated_text": f"He plays for {lookup} Gladbach."}),
        json.dumps({"id": 7, "text": "No facts here."}),
    )
    a, b, c = load_documents(path)
    assert a.id == "a" and a.text == "Ko Itakura was born in Yokohama in 1997."
    assert (
        b.id == "line-3"
        and b.annotated == f"He plays for {lookup} Gladbach."
        and b.text == "He plays for Gladbach."
    )
    assert c == Document("7", "No facts here.", "No facts here.", "docs.jsonl")


@pytest.mark.parametrize(
    "line, problem",
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"id": "x"}', "needs 'text' or 'annotated_text'"),
        ('{"text": 3}', "text must be a string"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, line, problem):
    path = write_lines(tmp_path / "bad.jsonl", json.dumps({"text": "fine"}), line)
    with pytest.raises(InputFormatError) as info:
        load_documents(path)
    assert str(info.value).startswith(f"{path}: line 2") and problem in str(info.value)


def test_malformed_token_lookups_are_errors_unless_lenient(tmp_path):
    start, sep, ret, end = LOOKUP_TOKENS
    good = format_pretraining_lookup("A", "r", "1")
    text = f"One {good} 1 and {start} A{sep} r{end} two."
    path = write_lines(tmp_path / "t.jsonl", json.dumps({"id": "t", "annotated_text": text}))
    with pytest.raises(InputFormatError, match=r"line 1 \(document t\) char \d+: lookup tokens"):
        load_documents(path)
    [doc] = load_documents(path, lenient=True)
    assert [c.value for c in iter_pretraining_lookups(doc.annotated)] == ["1"]
    assert doc.annotated.count(start) == 1 and doc.text == "One 1 and two."


def test_format_errors(tmp_path):
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        load_documents(write_lines(tmp_path / "x.txt", "hello"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"examples": [\n{"annotated_text": 1', encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"bad.json: line 2 column \d+: invalid JSON"):
        load_documents(bad)
    bad.write_text('{"examples": [{"annotated_text": 1}]}', encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"examples\[0\]: annotated_text must be a string"):
        load_documents(bad)
    with pytest.raises(ValueError, match="fmt must be"):
        load_documents(bad, fmt="csv")


def test_world_directory_loads_its_training_corpus(tmp_path):
    write_world(tmp_path / "w", WorldDataConfig(people=20, seed=1, variants=2))
    docs = load_documents(tmp_path / "w")
    records = [json.loads(line) for line in (tmp_path / "w" / "corpus" / "train.jsonl").open()]
    assert [d.id for d in docs] == [r["id"] for r in records] and docs[0].source == "world"
    for doc, record in zip(docs, records):
        assert standard_text(doc) == record["text"] == strip_lookups(doc.annotated)
        assert not any(token in standard_text(doc) for token in LOOKUP_TOKENS)
        assert len(list(iter_pretraining_lookups(doc.annotated))) == record["annotated_text"].count(
            "[dblookup("
        )


# One reader of the paper's annotated files: the ids of the documents trained on are the sources of
# the facts imported from the same file.
ID_CASES = [["q1", "q2"], "s", None, "s", [], ["q1"], ""]


def test_paper_ids_are_the_sources_the_kg_import_records(tmp_path):
    examples = [
        {"annotated_text": f"[dblookup('E{i}', 'r') -> v] v", "original_dataset_ids": ids}
        for i, ids in enumerate(ID_CASES)
    ]
    path = tmp_path / "docs.json"
    path.write_text(json.dumps({"examples": examples}), encoding="utf-8")
    ids = [d.id for d in load_documents(path)]
    assert ids == ["q1", "s", "examples[2]", "s#2", "examples[4]", "q1#2", "examples[6]"]
    assert ids == [t.source for t in read_annotated_documents(path)]


@pytest.mark.parametrize("ids", [[1, 2], {"id": "x"}, 7, ["", "x"]])
def test_paper_ids_of_the_wrong_kind_name_the_record(tmp_path, ids):
    examples = [{"annotated_text": "fine"}, {"annotated_text": "fine", "original_dataset_ids": ids}]
    path = tmp_path / "docs.json"
    path.write_text(json.dumps({"examples": examples}), encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"docs.json: examples\[1\]: original_dataset_ids must be"):
        load_documents(path)


def test_paper_text_of_the_wrong_kind_and_a_missing_file_name_the_file(tmp_path):
    path = tmp_path / "docs.json"
    path.write_text(json.dumps({"examples": [{"annotated_text": "a", "text": 3}]}), encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"examples\[0\]: text must be a string or null, got int"):
        load_documents(path)
    with pytest.raises(InputFormatError, match=r"absent.json: file: No such file"):
        load_documents(tmp_path / "absent.json")


@pytest.mark.parametrize("to", OUTPUTS)
def test_written_documents_load_back(tmp_path, to):
    docs = load_documents(write_paper(tmp_path / "d.json", GOOD, GOOD.replace("1997", "1998")))
    path = tmp_path / "out" / f"{to}.jsonl"
    assert write_documents(docs, path, to) == 2
    back = load_documents(path)
    assert [d.text for d in back] == [d.text for d in docs]
    expected = [standard_text(d) for d in docs] if to == "standard" else [d.annotated for d in docs]
    assert [d.annotated for d in back] == expected


def crafted_documents() -> list[Document]:
    """One document per filter, plus two clean ones (one with a redundant lookup)."""

    def doc(i: int, raw: str, lookups: list[tuple[str, str, str]] = (), tail: str = "") -> Document:
        annotated = raw + "".join(f" {format_pretraining_lookup(*k)} {k[2]}" for k in lookups) + tail
        return Document(f"d{i}", strip_lookups(annotated) if lookups else raw, annotated)

    words = "The quiet harbour town grew slowly over many long and eventful years, says the record."
    fact = ("Town", "Founded", "1850")
    return [
        doc(0, words, [fact], "."),  # kept
        doc(1, "Tiny.", [fact]),  # too_short (min_chars 12)
        doc(2, words * 30, [fact]),  # too_long (max_chars 2000)
        Document("d3", words + " And a long second half the annotator dropped entirely.", words),  # low_ratio
        Document("d4", "Short raw text.", words),  # high_ratio
        doc(5, "Dense little text.", [fact] * 6),  # dense
        doc(0, words, [fact], "."),  # duplicate of d0's raw text
        doc(
            7, "The Arsenal club, as its name says,", [("Arsenal F.C.", "Name", "Arsenal"), fact]
        ),  # redundant
    ]


def test_each_filter_fires_and_is_counted():
    config = CleanConfig(min_chars=12, max_chars=2000, min_ratio=0.8, max_ratio=1.2, max_density=30)
    docs = crafted_documents()
    kept, report = clean_documents(docs, config)
    assert [d.id for d in kept] == ["d0", "d7"]
    assert report.dropped == {
        "too_short": 1,
        "too_long": 1,
        "low_ratio": 1,
        "high_ratio": 1,
        "dense": 1,
        "duplicate": 1,
    }
    assert (report.input, report.kept, report.redundant_lookups_removed, report.lookups) == (8, 2, 1, 2)
    # the redundant lookup is gone, its words stay
    assert [c.relation for c in iter_pretraining_lookups(kept[1].annotated)] == ["Founded"]
    assert strip_lookups(kept[1].annotated) == docs[7].text == kept[1].text
    short = clean_documents(docs, CleanConfig(min_chars=20, max_chars=2000))[1]
    assert short.dropped["too_short"] == 2  # d1 and d4
    off = clean_documents(
        docs, CleanConfig(min_chars=12, max_chars=2000, drop_redundant=False, dedupe=False)
    )[1]
    assert off.redundant_lookups_removed == 0 and off.dropped["duplicate"] == 0
    assert report.to_dict()["dropped"] == report.dropped


def test_clean_config_names_the_bad_flag():
    with pytest.raises(ValueError, match="--min-chars"):
        CleanConfig(min_chars=10, max_chars=5)
    with pytest.raises(ValueError, match="--max-density"):
        CleanConfig(max_density=0)


def test_split_is_seeded_disjoint_and_complete():
    docs = [Document(f"d{i}", f"text {i}", f"text {i}") for i in range(100)]
    train, evaluation = split_documents(docs, 0.1, seed=1)
    assert len(evaluation) == 10 and len(train) == 90
    assert sorted(d.id for d in train + evaluation) == sorted(d.id for d in docs)
    assert split_documents(docs, 0.1, seed=1) == (train, evaluation)
    assert split_documents(docs, 0.1, seed=2)[1] != evaluation
    assert len(split_documents(docs[:3], 0.01)[1]) == 1 and split_documents(docs[:1], 0.5)[1] == []
    with pytest.raises(ValueError, match="eval_fraction"):
        split_documents(docs, 1.0)


@needs_paper
@pytest.mark.parametrize("name", PAPER_FILES)
def test_paper_files_load_leniently_and_keep_almost_every_call(name):
    path = PAPER / name
    report = ReadReport()
    docs = load_documents(path, lenient=True, report=report)
    assert len(docs) == report.documents > 50 and len({d.id for d in docs}) == len(docs)
    assert report.calls / (report.calls + len(report.problems)) >= 0.995
    lookups = sum(len(list(iter_pretraining_lookups(d.annotated))) for d in docs)
    assert lookups == report.calls
    assert all("dblookup(" not in d.annotated for d in docs)
    kept, cleaned = clean_documents(docs)
    assert cleaned.input == len(docs) == cleaned.kept + sum(cleaned.dropped.values())
    assert cleaned.kept > 0.8 * len(docs) and cleaned.redundant_lookups_removed > 0


@needs_paper
def test_strict_loading_names_the_one_broken_call_of_the_paper_files():
    path = PAPER / "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json"
    with pytest.raises(InputFormatError, match=r"examples\[66\] \(document \w+\) char 1518"):
        load_documents(path)
    assert len(load_documents(PAPER / "squad-train1k_chatgpt_gpt4o-v7.1_cleaned.json")) == 990


def test_data_modules_do_not_import_torch():
    code = (
        "import sys, lmlm.train.corpus, lmlm.train.world.data, lmlm.cli.data;"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
