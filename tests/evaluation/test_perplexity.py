"""Perplexities on models whose losses are known by hand: a uniform model (every token costs
log V) and a scripted bigram model (1/2 on one favoured next token)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmlm.evaluation.categories import ENTITY, GIVEN, RELATION, TEXT, VALUE, categorize_lmlm, categorize_raw
from lmlm.evaluation.loglik import continuation_nll, token_nll, windows
from lmlm.evaluation.perplexity import (
    dynamic_perplexity,
    standard_perplexity,
    static_perplexity,
    with_store_values,
)
from lmlm.kg import Resolution
from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START, format_pretraining_lookup
from lmlm.train.corpus import Document
from tests.evaluation.scripted_lm import ScriptedLM, uniform
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer

LOOKUP = format_pretraining_lookup("Ko Itakura", "Birthplace", "Yokohama")
BORN = f"Ko Itakura was born in {LOOKUP} Yokohama."


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def _decoded(tokenizer, view, category) -> str:
    return tokenizer.decode([i for i, c in zip(view.ids, view.categories) if c == category])


def test_each_token_of_a_lookup_document_has_its_category(tokenizer):
    view = categorize_lmlm(BORN, tokenizer)
    assert _decoded(tokenizer, view, ENTITY) == f" {DB_START} Ko Itakura"
    assert _decoded(tokenizer, view, RELATION) == f"{DB_SEP} Birthplace{DB_RETURN}"
    assert _decoded(tokenizer, view, GIVEN) == f"{tokenizer.eos_token} Yokohama{DB_END}"
    assert _decoded(tokenizer, view, VALUE) == "Yokohama"  # the copy's space is its own token here
    assert _decoded(tokenizer, view, TEXT) == f" Ko Itakura was born in .{tokenizer.eos_token}"
    raw = categorize_raw(BORN, tokenizer)
    assert tokenizer.decode(raw.ids[1:-1]) == " Ko Itakura was born in Yokohama."
    assert _decoded(tokenizer, raw, VALUE) == "Yokohama"
    assert raw.count(ENTITY) == raw.count(RELATION) == 0


def test_an_occupation_copy_marks_the_value_not_its_article(tokenizer):
    text = "Ada is " + format_pretraining_lookup("Ada", "Occupation", "engineer") + " an engineer."
    assert _decoded(tokenizer, categorize_raw(text, tokenizer), VALUE).strip() == "engineer"


def test_uniform_model_gives_the_vocabulary_size_and_the_normalized_ratio(tokenizer):
    model = uniform(build_tiny_model(tokenizer))
    vocab = model.get_output_embeddings().weight.shape[0]
    docs = [Document("d", "", BORN), Document("e", "", "Ko Itakura is a footballer.")]
    lmlm_views = [categorize_lmlm(d.annotated, tokenizer) for d in docs]
    raw_views = [categorize_raw(d.annotated, tokenizer) for d in docs]
    scored = sum(int((v.categories != GIVEN).sum()) for v in lmlm_views)
    original = sum(len(v.ids) - 1 for v in raw_views)

    static = static_perplexity(model, tokenizer, docs)
    assert static.ppl == pytest.approx(vocab)  # every scored token costs log V
    assert static.text_ppl == pytest.approx(vocab)
    assert static.normalized_ppl == pytest.approx(vocab ** (scored / original))
    assert static.original_tokens == original and static.scored_tokens == scored
    assert static.tokens["entity"] == 1 + 1 + len(tokenizer.encode(" Ko Itakura"))  # space, opener, name
    assert static.loss("relation") == pytest.approx(math.log(vocab))

    standard = standard_perplexity(model, tokenizer, docs)
    assert standard.ppl == pytest.approx(vocab) and standard.normalized_ppl == pytest.approx(vocab)
    assert standard.original_tokens == original and standard.tokens["entity"] == 0

    # never a lookup under a uniform model (argmax is token 0): dynamic = the original text
    dynamic = dynamic_perplexity(model, tokenizer, docs, lambda qs: [None] * len(qs))
    assert dynamic.lookups == 0 and dynamic.original_tokens == original
    assert dynamic.normalized_ppl == pytest.approx(vocab)


def _chain(tokenizer, texts: list[str]) -> list[int]:
    ids: list[int] = []
    for text in texts:
        ids += tokenizer.encode(text, add_special_tokens=False)
    return ids


def test_dynamic_lookup_costs_match_a_hand_computation(tokenizer):
    """The bigram model opens a lookup after the space before "Yokohama", writes "Ko Itakura / born", the store
    answers Yokohama; each favoured token costs log 2, each other log 2(V-1), a ruleless row log V."""
    vocab = len(tokenizer)
    raw = tokenizer.encode("Ko Itakura was born in Yokohama.", add_special_tokens=False)
    query = _chain(tokenizer, [DB_START, " Ko Itakura", DB_SEP, " born", DB_RETURN])
    in_token = tokenizer.encode(" in", add_special_tokens=False)[0]
    space = tokenizer.encode(" ", add_special_tokens=False)[0]
    assert raw[raw.index(in_token) + 1] == space  # this tokenizer: " Yokohama" is a space, then "Yo"
    rules = {a: b for a, b in zip(query, query[1:])}
    rules[space] = query[0]  # after the text's space: open
    end = tokenizer.convert_tokens_to_ids(DB_END)
    rules[end] = space  # after the value: the copy's space (the corpus writes one)
    model = ScriptedLM(vocab, rules)
    asked = []

    def store(queries):
        asked.extend(queries)
        return [Resolution("Yokohama", "exact", 1.0, "f1")]

    result = dynamic_perplexity(
        model, tokenizer, [Document("d", "", f"Ko Itakura was born in {LOOKUP} Yokohama.")], store
    )
    assert asked == [("Ko Itakura", "born")] and result.lookup_paths == {"exact": 1}
    fav, other, flat = math.log(2), math.log(2 * (vocab - 1)), math.log(vocab)
    ids = [tokenizer.eos_token_id, *raw, tokenizer.eos_token_id]
    expected_text = 0.0
    for prev, token in zip(ids, ids[1:]):
        if prev in rules:
            expected_text += fav if rules[prev] == token else other
        else:
            expected_text += flat
    # opener (after the space), the query's tokens, then the second space after <|db_end|>
    expected_query = len(query) * fav + fav
    assert result.nll["text"] + result.nll["value"] == pytest.approx(expected_text)
    assert result.nll["entity"] + result.nll["relation"] == pytest.approx(expected_query)
    assert result.original_tokens == len(raw) + 1
    assert result.normalized_ppl == pytest.approx(math.exp((expected_text + expected_query) / (len(raw) + 1)))


def test_static_with_store_values_reads_the_stores_answer():
    text = with_store_values(BORN, lambda qs: [Resolution(None, "miss", 0.0, None)] * len(qs))
    assert format_pretraining_lookup("Ko Itakura", "Birthplace", "unknown") in text
    assert text.endswith(" Yokohama.")


@pytest.mark.parametrize("n", [2, 5, 9, 17])
def test_windowed_nll_equals_whole_sequence_nll_within_the_window(tokenizer, n):
    model = build_tiny_model(tokenizer)
    seq = list(range(5, 5 + n))
    [whole] = token_nll(model, [seq], window=64)
    [windowed] = token_nll(model, [seq], window=4)
    assert np.isnan(whole[0]) and np.isnan(windowed[0])
    scored = [p for s, e, f in windows(n, 4) for p in range(f, e)]
    assert scored == list(range(1, n))
    # the first window's positions see the same context in both
    assert windowed[1:4] == pytest.approx(whole[1:4])


def test_continuation_nll_batches_like_one_at_a_time(tokenizer):
    model = build_tiny_model(tokenizer)
    contexts, continuations = [[1, 2, 3], [4], [5, 6]], [[7], [8, 9, 10], [11, 12]]
    batched = continuation_nll(model, contexts, continuations, batch_size=3)
    for c, x, got in zip(contexts, continuations, batched):
        [alone] = continuation_nll(model, [c], [x])
        assert got == pytest.approx(alone, abs=1e-5) and len(got) == len(x)
    with pytest.raises(ValueError, match="item 0"):
        continuation_nll(model, [[]], [[1]])
