"""The LMLM class on random-weight models: loading (paper layout, GPT-2), saving, plain generate,
and decoding that survives whatever the model writes (forced with logit biases)."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from lmlm import load_lmlm
from lmlm.kg import KnowledgeGraph, KnowledgeGraphError, Resolver, ResolverConfig, Triple
from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START, LOOKUP_TOKENS
from lmlm.model import LMLM, DecodingArgs, LookupDecoder, post_process
from lmlm.train.tokenizer import train_tokenizer

TEXTS = [
    f"Kalo Miren was born in {DB_START} Kalo Miren{DB_SEP} Place of birth{DB_RETURN} Renford{DB_END} Renford.",
    "Sana Tovel works as a painter at the Velna Institute.",
] * 20


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return train_tokenizer(TEXTS, tmp_path_factory.mktemp("tok"), vocab_size=300)


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    kg = KnowledgeGraph.open(tmp_path_factory.mktemp("kg"))
    kg.import_triples([Triple("Kalo Miren", "Place of birth", "Renford")])
    yield kg.resolver(fuzzy=False)
    kg.close()


def _llama(vocab: int, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
    )
    return LlamaForCausalLM(config).eval()


def _paper_layout_tokenizer(tmp_path) -> PreTrainedTokenizerFast:
    """Like the paper's checkpoints: 32,000 base tokens (<unk>, <s>, </s> first), the four lookup
    tokens added as 32000-32003, pad = eos = </s>."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for ch in sorted(alphabet):
        vocab[ch] = len(vocab)
    while len(vocab) < 32000:
        vocab[f"filler{len(vocab)}"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.add_special_tokens({"additional_special_tokens": list(LOOKUP_TOKENS)})
    fast.pad_token = fast.eos_token
    fast.save_pretrained(tmp_path)
    return fast


def test_loads_a_checkpoint_laid_out_like_the_papers(tmp_path, resolver):
    tok = _paper_layout_tokenizer(tmp_path)
    assert [tok.convert_tokens_to_ids(t) for t in LOOKUP_TOKENS] == [32000, 32001, 32002, 32003]
    _llama(32004).save_pretrained(tmp_path)
    model = load_lmlm(tmp_path, lookup_fn=resolver)
    assert isinstance(model, LlamaForCausalLM)
    assert model.lmlm_tokenizer.pad_token_id == model.lmlm_tokenizer.eos_token_id == 2
    out = model.generate_outputs(["Kalo Miren was born in"], max_new_tokens=5)[0]
    assert out.text_tokens == 5 and out.finish_reason == "length"


def test_save_pretrained_writes_the_base_architecture(tmp_path, tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    plain = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert type(plain) is LlamaForCausalLM
    again = load_lmlm(tmp_path, lookup_fn=resolver)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert again.lmlm_tokenizer.convert_tokens_to_ids(DB_START) == tokenizer.convert_tokens_to_ids(DB_START)


def test_plain_generate_and_dtype_moves_still_work(tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    ids = tokenizer("Kalo Miren", return_tensors="pt")
    plain = model.generate(**ids, max_new_tokens=6, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert plain.shape[1] == ids["input_ids"].shape[1] + 6
    model.to(torch.bfloat16)
    out = model.generate_outputs("Kalo Miren", max_new_tokens=6, enable_lookup=False)[0]
    assert out.text_tokens + out.malformed >= 1
    model.to(torch.float32)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_batched_decoding_equals_one_prompt_at_a_time(arch, tokenizer, resolver):
    if arch == "gpt2":
        torch.manual_seed(0)
        config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=512)
        base = GPT2LMHeadModel(config).eval()
    else:
        base = _llama(len(tokenizer))
    model = load_lmlm(base, tokenizer=tokenizer, lookup_fn=resolver)
    prompts = ["Kalo Miren was born in", "Sana", "Sana Tovel works as a painter at the"]
    batched = model.generate_outputs(prompts, max_new_tokens=12)
    single = [model.generate_outputs(p, max_new_tokens=12)[0] for p in prompts]
    assert [o.raw_text for o in batched] == [o.raw_text for o in single]
    assert all(o.text_tokens == 12 for o in batched)


def test_a_model_forced_to_write_stray_returns_is_closed_and_counted(tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    out = model.generate_outputs("Kalo", max_new_tokens=6, logit_bias={DB_RETURN: 100.0}, constrain=False)[0]
    assert out.malformed >= 6 and out.finish_reason == "length"
    assert not any(t in out.text for t in LOOKUP_TOKENS)


def test_grammar_constrained_decoding_never_writes_a_stray_lookup_token(tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    for token in (DB_RETURN, DB_SEP, DB_END):
        out = model.generate_outputs("Kalo", max_new_tokens=6, logit_bias={token: 100.0})[0]
        assert out.malformed == 0 and not any(t in out.raw_text for t in LOOKUP_TOKENS)


def test_a_model_forced_to_open_lookups_forever_still_ends(tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    args = DecodingArgs(max_new_tokens=5, logit_bias={DB_START: 100.0}, max_query_tokens=4, constrain=False)
    out = LookupDecoder(model, tokenizer, resolver, args).generate(["Kalo"])[0]
    assert out.finish_reason == "length" and out.unclosed and out.malformed > 0
    assert not any(t in out.text for t in LOOKUP_TOKENS)
    assert post_process(out.raw_text) == out.text


def test_max_lookups_suppresses_the_opener(tokenizer, resolver):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, lookup_fn=resolver)
    out = model.generate_outputs("Kalo", max_new_tokens=8, logit_bias={DB_START: 100.0}, max_lookups=0)[0]
    assert DB_START not in out.raw_text and out.text_tokens == 8 and not out.lookups


def test_decoding_args_are_checked():
    with pytest.raises(ValueError, match="max_new_tokens"):
        DecodingArgs(max_new_tokens=0)
    with pytest.raises(ValueError, match="top_p"):
        DecodingArgs(top_p=0)
    with pytest.raises(ValueError, match="temperature"):
        DecodingArgs(temperature=0)
    with pytest.raises(ValueError, match="logit_bias"):
        DecodingArgs(logit_bias="strong")
    with pytest.raises(ValueError, match="lookup tokens"):
        DecodingArgs(logit_bias={"hello": 1.0})
    with pytest.raises(TypeError, match="fallback"):  # the miss policy is the resolver's
        DecodingArgs(fallback="top1")


def test_a_tokenizer_without_the_lookup_tokens_is_refused(tmp_path):
    tok = Tokenizer(models.BPE(vocab={"<|endoftext|>": 0, "a": 1}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    plain_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    with pytest.raises(ValueError, match="lookup tokens"):
        load_lmlm(_llama(len(plain_tok)), tokenizer=plain_tok)


def test_lookup_decoding_without_a_resolver_is_refused(tokenizer):
    model = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer)
    with pytest.raises(ValueError, match="lookup function"):
        model.generate_outputs("Kalo", max_new_tokens=3)
    assert model.generate_outputs("Kalo", max_new_tokens=3, enable_lookup=False)[0].text_tokens >= 1


def test_a_missing_model_or_store_is_named_and_nothing_is_created(tmp_path, tokenizer):
    with pytest.raises(OSError, match="no model at"):
        load_lmlm(tmp_path / "absent", tmp_path / "store")
    assert not (tmp_path / "store").exists()
    load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer).save_pretrained(tmp_path / "model")
    with pytest.raises(KnowledgeGraphError, match="no such store"):
        load_lmlm(tmp_path / "model", tmp_path / "no-store")
    assert not (tmp_path / "no-store").exists()


def test_one_loader_for_a_directory_a_graph_a_lookup_function_or_nothing(tmp_path, tokenizer):
    load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer).save_pretrained(tmp_path / "model")
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        kg.import_triples([Triple("Kalo Miren", "Place of birth", "Renford")])
    # a store directory: opened (never created), the model's to close; the resolver's policy applies
    model = load_lmlm(tmp_path / "model", tmp_path / "kg", resolver_config=ResolverConfig(fallback="unknown"))
    assert isinstance(model, LMLM) and isinstance(model, LlamaForCausalLM)
    assert isinstance(model.lookup_fn, Resolver) and model.lookup_fn.config.fallback == "unknown"
    assert model.lookup_fn([("Kalo Miren", "Place of birth")])[0].value == "Renford"
    assert model.lookup_fn([("Nobody", "Place of birth")])[0].value == "unknown"
    model.knowledge_graph.close()
    # an open graph: used as it is (the caller's to close)
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        model = load_lmlm(tmp_path / "model", kg)
        assert model.knowledge_graph is kg and model.lookup_fn.config.fallback == "none"

    # any lookup function
    def lookup(pairs):
        return []

    model = load_lmlm(tmp_path / "model", lookup_fn=lookup)
    assert model.lookup_fn is lookup and model.knowledge_graph is None
    # nothing: plain decoding only
    model = load_lmlm(tmp_path / "model", dtype=torch.bfloat16)
    assert model.lookup_fn is None and model.dtype == torch.bfloat16
    assert model.generate_outputs("Kalo", max_new_tokens=3, enable_lookup=False)[0].text_tokens >= 1


def test_the_loader_refuses_what_it_cannot_honour(tmp_path, tokenizer, resolver):
    with pytest.raises(ValueError, match="not both"):
        load_lmlm(_llama(len(tokenizer)), tmp_path, tokenizer=tokenizer, lookup_fn=resolver)
    with pytest.raises(ValueError, match="resolver_config"):
        load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, resolver_config=ResolverConfig())
    with pytest.raises(ValueError, match="tokenizer"):
        load_lmlm(_llama(len(tokenizer)))
    with pytest.raises(TypeError, match="already loaded"):
        load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="store must be"):
        load_lmlm(_llama(len(tokenizer)), 42, tokenizer=tokenizer)


def test_the_lmlm_class_records_its_base_and_is_made_once(tokenizer):
    first = load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer)
    second = load_lmlm(_llama(len(tokenizer), seed=1), tokenizer=tokenizer)
    assert type(first) is type(second) and type(first)._lmlm_base is LlamaForCausalLM
    assert load_lmlm(first) is first and type(first)._lmlm_base is LlamaForCausalLM  # no LMLM of an LMLM


def test_the_papers_loader_name_is_the_same_loader(tmp_path, tokenizer):
    from lmlm import from_pretrained_with_db

    load_lmlm(_llama(len(tokenizer)), tokenizer=tokenizer).save_pretrained(tmp_path / "model")
    KnowledgeGraph.open(tmp_path / "kg").close()
    model = from_pretrained_with_db(tmp_path / "model", tmp_path / "kg")
    assert isinstance(model.lookup_fn, Resolver)
    model.knowledge_graph.close()
