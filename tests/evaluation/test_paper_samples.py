"""paper_samples: the text-token mask, the sliding windows, the loss they give, the overlap removal."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lmlm.evaluation.loglik import windows
from lmlm.evaluation.paper_samples import build_split, text_loss, text_mask
from lmlm.kg.syntax import format_annotated_call, format_pretraining_lookup
from lmlm.train.corpus import Document
from lmlm.train.masking import encode_documents
from lmlm.train.tokenizer import lookup_token_ids
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer

BORN = (
    "Ko Itakura was born in "
    + format_pretraining_lookup("Ko Itakura", "Birthplace", "Yokohama")
    + " Yokohama."
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def test_text_mask_keeps_the_words_and_drops_the_whole_lookup(tokenizer):
    [enc] = encode_documents([BORN + " " + BORN], tokenizer, "lmlm")
    mask = text_mask(enc.input_ids, enc.trained, lookup_token_ids(tokenizer))
    text = tokenizer.decode(np.asarray(enc.input_ids)[mask])
    # the text around the lookups, with the space written before each (and the end of text)
    # (the tokenizer starts a text with a space: prefix_spaced)
    assert (
        text == " Ko Itakura was born in  Yokohama. Ko Itakura was born in  Yokohama." + tokenizer.eos_token
    )


@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 16, 17, 37])
def test_windows_score_every_position_but_the_first_exactly_once(n):
    scored = []
    for start, end, first in windows(n, 8):
        assert 0 <= start < first <= end <= n and end - start <= 8
        scored += range(first, end)
    assert scored == list(range(1, n))


def test_text_loss_matches_a_direct_computation(tokenizer):
    model = build_tiny_model(tokenizer)
    doc = Document("d", "", BORN)
    [enc] = encode_documents([BORN], tokenizer, "lmlm")
    ids = torch.tensor(enc.input_ids)
    mask = torch.from_numpy(text_mask(enc.input_ids, enc.trained, lookup_token_ids(tokenizer)))
    with torch.no_grad():
        logprobs = model(ids[None]).logits[0, :-1].log_softmax(-1)
    nll = -logprobs.gather(1, ids[1:, None])[:, 0]
    expected = nll[mask[1:]].mean().item()

    whole = text_loss(model, tokenizer, [doc], "lmlm", window=len(ids))
    assert whole.loss == pytest.approx(expected, rel=1e-5)
    assert whole.text_tokens == int(mask[1:].sum())
    assert whole.chars == len("Ko Itakura was born in Yokohama.") + 1
    sliding = text_loss(model, tokenizer, [doc], "lmlm", window=6)  # less context, same tokens scored
    assert sliding.text_tokens == whole.text_tokens and np.isfinite(sliding.loss)

    standard = text_loss(model, tokenizer, [doc], "standard", window=64)
    [plain] = encode_documents([BORN], tokenizer, "standard")
    assert standard.text_tokens == len(plain.input_ids) - 1 and standard.chars == whole.chars


def _paper_file(path, docs):
    examples = [
        {"text": text, "annotated_text": annotated, "original_dataset_ids": [doc_id]}
        for doc_id, text, annotated in docs
    ]
    path.write_text(json.dumps({"examples": examples}))


def test_build_split_removes_training_documents_found_in_an_eval_set(tmp_path):
    def doc(i, text):
        words = text.split()
        return (
            f"id{i}",
            text,
            " ".join(words[:-1]) + " " + format_annotated_call("E", "R", words[-1]) + " " + words[-1],
        )

    shared = "The same article about Alan Turing"
    _paper_file(
        tmp_path / "squad-train1k_x.json", [doc(1, "A squad passage here"), doc(2, "Another squad passage")]
    )
    _paper_file(
        tmp_path / "dwiki-eval1k_x.json",
        [doc(3, shared), doc(4, "An article only for training"), doc(9, "x y")],
    )
    _paper_file(tmp_path / "dwiki-eval100_x.json", [doc(5, "The  same article\nabout Alan Turing")])
    _paper_file(tmp_path / "squad-eval100_x.json", [doc(9, "A held out squad passage")])
    (tmp_path / "dwiki-eval100-annotator_database.json").write_text("{}")  # not picked up as an eval set

    split = build_split(tmp_path)
    assert split.train_counts == {"squad-train1k": 2, "dwiki-eval1k": 3}
    assert split.removed == {"dwiki-eval100": 1, "squad-eval100": 1}  # by text, by id
    assert sorted(d.id for d in split.train) == ["id1", "id2", "id4"]
    assert {name: len(docs) for name, docs in split.evals.items()} == {"dwiki-eval100": 1, "squad-eval100": 1}
