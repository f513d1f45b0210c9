"""The tokenizer keeps the four lookup tokens whole and gives back exactly the text it was given."""

from __future__ import annotations

import re

import pytest
import torch
from transformers import AutoTokenizer

from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START, LOOKUP_TOKENS, format_pretraining_lookup
from lmlm.train.tokenizer import extend_tokenizer, lookup_token_ids, prefix_spaced, train_tokenizer
from tests.tiny_models import build_plain_tokenizer, build_tiny_model, build_tiny_tokenizer, tiny_corpus

ROUND_TRIP = [
    "a" + DB_START + "b",
    f"born in {format_pretraining_lookup('Ko Itakura', 'Place of birth', 'Yokohama')} Yokohama on 27 January.",
    f"  two  spaces {DB_START}  Entity {DB_SEP}  Relation {DB_RETURN}  Value {DB_END}  after ",
    f"no spaces{DB_START}E{DB_SEP}R{DB_RETURN}V{DB_END}V.",
    f"unicode: Mönchengladbach, 東京, emoji 🎉 {DB_START} Zoë{DB_SEP} Lieu{DB_RETURN} Besançon{DB_END} Besançon",
    "lines\n\n\tand tabs \r\n" + DB_END + "\n",
    "punctuation , . ! ? ' \" ( ) - don't",
]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tok")


@pytest.fixture(scope="module")
def tokenizer(tok_dir):
    return build_tiny_tokenizer(tok_dir)


def test_saved_tokenizer_loads_with_autotokenizer(tokenizer, tok_dir):
    loaded = AutoTokenizer.from_pretrained(str(tok_dir / "tokenizer"))
    assert len(loaded) == len(tokenizer) == 400 + len(LOOKUP_TOKENS)
    assert loaded.eos_token == loaded.bos_token == loaded.pad_token == "<|endoftext|>"
    assert lookup_token_ids(loaded) == lookup_token_ids(tokenizer)
    assert loaded.clean_up_tokenization_spaces is False


def test_lookup_tokens_are_atomic(tokenizer):
    ids = lookup_token_ids(tokenizer)
    assert len(set(ids.values())) == 4
    for token, token_id in ids.items():
        encoded = tokenizer("a" + token + "b", add_special_tokens=False).input_ids
        a = tokenizer("a", add_special_tokens=False).input_ids
        b = tokenizer("b", add_special_tokens=False).input_ids
        assert encoded == a + [token_id] + b
        assert tokenizer.convert_ids_to_tokens(token_id) == token


@pytest.mark.parametrize("text", ROUND_TRIP + tiny_corpus())
def test_decode_encode_round_trip(tokenizer, text):
    """Exact for text that starts with a space; otherwise the one prefix space is added."""
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert tokenizer.decode(ids, skip_special_tokens=False) == prefix_spaced(text)
    spaced = prefix_spaced(text)
    assert tokenizer.decode(tokenizer(spaced, add_special_tokens=False).input_ids) == spaced


def test_a_word_is_one_token_at_the_start_and_inside_a_text(tokenizer):
    """So the model can copy a name from the start of the prompt into a lookup."""
    start = tokenizer("Ko Itakura was born", add_special_tokens=False).input_ids[:2]
    inside = tokenizer(f"x {DB_START} Ko Itakura", add_special_tokens=False).input_ids[-2:]
    assert start == inside


@pytest.mark.parametrize("text", ROUND_TRIP + tiny_corpus())
def test_whole_text_encodes_like_its_pieces(tokenizer, text):
    """What the lookup decoder relies on: the text between two tokens encodes on its own."""
    ids = lookup_token_ids(tokenizer)
    pieces = re.split("(" + "|".join(re.escape(t) for t in LOOKUP_TOKENS) + ")", text)
    incremental = []
    for piece in pieces:
        incremental += [ids[piece]] if piece in ids else tokenizer(piece, add_special_tokens=False).input_ids
    assert tokenizer(text, add_special_tokens=False).input_ids == incremental


def test_injected_value_matches_document_tokens(tokenizer):
    """The decoder encodes ``DB_RETURN + " " + value + DB_END`` and drops the first token."""
    value = "Borussia Mönchengladbach"
    doc = f"worked for {format_pretraining_lookup('Ko Itakura', 'Employer', value)} {value}."
    doc_ids = tokenizer(doc, add_special_tokens=False).input_ids
    ret, end = lookup_token_ids(tokenizer)[DB_RETURN], lookup_token_ids(tokenizer)[DB_END]
    injected = tokenizer(DB_RETURN + " " + value + DB_END, add_special_tokens=False).input_ids[1:]
    start = doc_ids.index(ret) + 1
    assert doc_ids[start : doc_ids.index(end) + 1] == injected


def test_training_corpus_tokens_do_not_leak_into_merges(tokenizer):
    vocab = tokenizer.get_vocab()
    assert not [t for t in vocab if "db_" in t and t not in LOOKUP_TOKENS]


def test_lookup_token_ids_names_the_missing_tokens(tmp_path):
    base = build_plain_tokenizer()
    with pytest.raises(ValueError, match="lacks the lookup tokens"):
        lookup_token_ids(base)


def test_train_tokenizer_rejects_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="--vocab-size"):
        train_tokenizer(["text"], tmp_path, vocab_size=100)
    with pytest.raises(ValueError, match="empty"):
        train_tokenizer([], tmp_path, vocab_size=300)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_extend_tokenizer_adds_tokens_and_resizes_model(tmp_path, arch):
    base = build_plain_tokenizer()
    base.save_pretrained(str(tmp_path / "base"))
    model = build_tiny_model(base, arch=arch)
    old_in = model.get_input_embeddings().weight.detach().clone()
    tokenizer, resized = extend_tokenizer(str(tmp_path / "base"), tmp_path / "ext", model=model)
    assert len(tokenizer) == len(base) + 4
    assert tokenizer.pad_token == "</s>"
    for emb in (resized.get_input_embeddings(), resized.get_output_embeddings()):
        assert emb.weight.shape[0] == len(tokenizer)
        torch.testing.assert_close(emb.weight[len(base) :], emb.weight[: len(base)].mean(0).expand(4, -1))
    torch.testing.assert_close(resized.get_input_embeddings().weight[: len(base)], old_in)
    reloaded = AutoTokenizer.from_pretrained(str(tmp_path / "ext"))
    text = "x " + format_pretraining_lookup("E", "R", "V") + " V"
    assert reloaded.decode(reloaded(text, add_special_tokens=False).input_ids) == text
    assert lookup_token_ids(reloaded) == lookup_token_ids(tokenizer)


def test_extend_tokenizer_refuses_a_hub_name(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        extend_tokenizer("meta-llama/Llama-2-7b-hf", tmp_path)
