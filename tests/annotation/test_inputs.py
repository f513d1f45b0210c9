"""Reading inputs (JSONL, the paper's JSON, .txt files and folders) and chunking with ids kept."""

from __future__ import annotations

import json

import pytest

from lmlm.annotation.inputs import InputConfig, SourceDocument, chunk_document, read_documents, token_counter
from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import format_annotated_call
from tests.tiny_models import build_tiny_tokenizer


def test_jsonl_paper_json_and_txt_folder_are_read_with_their_ids(tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        json.dumps({"id": "a", "text": "Alpha."})
        + "\n\n"
        + json.dumps({"text": "No id."})
        + "\n"
        + json.dumps({"id": "a", "text": "Alpha again."})
        + "\n"
    )
    paper = tmp_path / "paper.json"
    call = format_annotated_call("Ko", "Birthplace", "Yokohama")
    examples = [
        {"annotated_text": f"Ko was born in {call} Yokohama.", "original_dataset_ids": ["q1", "q2"]},
        {"text": "Raw text.", "annotated_text": "ignored", "original_dataset_ids": "w7"},
        {"text": "No ids."},
    ]
    paper.write_text(json.dumps({"examples": examples, "metadata": {}}))
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Bee.")
    (folder / "sub" / "c.txt").write_text("Sea.")
    docs = list(read_documents([jsonl, paper, folder, folder / "b.txt"]))
    assert [(d.id, d.text) for d in docs] == [
        ("a", "Alpha."),
        ("line-3", "No id."),
        ("a#2", "Alpha again."),
        ("q1", "Ko was born in Yokohama."),  # annotated only: its lookups removed
        ("w7", "Raw text."),
        ("examples[2]", "No ids."),
        ("b", "Bee."),
        ("sub/c", "Sea."),
        ("b#2", "Bee."),
    ]
    assert {d.dataset for d in docs} == {"docs.jsonl", "paper.json", "texts", "b.txt"}


def test_other_fields_can_hold_text_and_id(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"key": 7, "body": "Seven."}) + "\n")
    [doc] = read_documents([path], InputConfig(text_field="body", id_field="key"))
    assert (doc.id, doc.text) == ("7", "Seven.")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.jsonl", '{"text": "ok"}\n{"text": \n', r"bad\.jsonl: line 2: invalid JSON"),
        ("bad.jsonl", '{"id": "x"}\n', r"bad\.jsonl: line 1: no string 'text'"),
        ("bad.jsonl", '["a list"]\n', r"bad\.jsonl: line 1: expected an object"),
        ("bad.json", '{"examples": [{"text": 3}]}', r"bad\.json: examples\[0\]: no string 'text'"),
        ("bad.json", '{"rows": []}', r"bad\.json: top level"),
        ("bad.csv", "a,b\n", r"bad\.csv: file: expected \.jsonl"),
    ],
)
def test_bad_input_names_file_and_record(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFormatError, match=match):
        list(read_documents([path]))


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputFormatError, match="no .txt files"):
        list(read_documents([tmp_path]))


LONG = (
    " ".join(f"Sentence {i} has exactly six words." for i in range(10)) + "\n\nA new paragraph " + "x " * 25
)


def test_word_chunks_cover_the_document_in_order_and_keep_its_id():
    doc = SourceDocument("doc", LONG.strip(), "set")
    chunks = chunk_document(doc, 15)
    assert len(chunks) > 3 and all(len(c.text.split()) <= 15 for c in chunks)
    assert [c.id for c in chunks] == [f"doc#c{i}" for i in range(len(chunks))]
    assert {c.document_id for c in chunks} == {"doc"} and {c.count for c in chunks} == {len(chunks)}
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    assert " ".join(c.text for c in chunks).split() == doc.text.split()  # nothing lost or repeated
    assert (
        chunks[0].text == "Sentence 0 has exactly six words. Sentence 1 has exactly six words."
    )  # sentence ends


def test_a_document_that_fits_is_one_chunk_with_the_document_id():
    [chunk] = chunk_document(SourceDocument("d", "Short text.", "s"), 400)
    assert (chunk.id, chunk.index, chunk.count, chunk.text) == ("d", 0, 1, "Short text.")
    assert len(chunk_document(SourceDocument("d", LONG, "s"), 0)) == 1


def test_token_chunks_respect_the_token_budget(tmp_path):
    tokenizer = build_tiny_tokenizer(tmp_path)
    count = token_counter(tokenizer)
    chunks = chunk_document(SourceDocument("d", LONG.strip(), "s"), 24, count)
    assert len(chunks) > 2
    assert all(count(c.text) <= 24 + 2 for c in chunks)  # summed per sentence: within a token or two
