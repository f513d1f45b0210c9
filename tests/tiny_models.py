"""Tiny tokenizers and models for tests: built here, never downloaded.

``build_tiny_tokenizer(tmp_path)`` trains a byte-level BPE (with the four lookup tokens) on a small
built-in corpus in well under a second; ``build_tiny_model(tokenizer)`` gives a random-weight
Llama or GPT-2 (hidden 32, 2 layers) with the tokenizer's vocabulary and special ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lmlm.kg.syntax import format_pretraining_lookup

_PEOPLE = [
    ("Ko Itakura", "Yokohama", "footballer", "Borussia Mönchengladbach"),
    ("Ada Lovelace", "London", "mathematician", "the Analytical Engine"),
    ("Marie Curie", "Warsaw", "physicist", "the University of Paris"),
    ("Alan Turing", "Maida Vale", "computer scientist", "the National Physical Laboratory"),
    ("Hedy Lamarr", "Vienna", "actress", "Metro-Goldwyn-Mayer"),
    ("Srinivasa Ramanujan", "Erode", "mathematician", "Trinity College"),
]


def tiny_corpus() -> list[str]:
    """Biographies in the pretraining token format: plain text, lookups and their copies."""
    texts = []
    for name, city, job, employer in _PEOPLE:
        born = format_pretraining_lookup(name, "Place of birth", city)
        work = format_pretraining_lookup(name, "Employer", employer)
        texts.append(
            f"{name} is a {job}. {name} was born in {born} {city}, and later worked for {work} {employer}. "
            f"People still talk about {name}, the {job} from {city}."
        )
    return texts


def build_tiny_tokenizer(tmp_dir: str | Path, texts: Sequence[str] | None = None, vocab_size: int = 400):
    """A byte-level BPE trained on ``texts`` (default :func:`tiny_corpus`), saved under ``tmp_dir``."""
    from lmlm.train.tokenizer import train_tokenizer

    texts = list(texts) if texts is not None else tiny_corpus() * 3
    return train_tokenizer(texts, Path(tmp_dir) / "tokenizer", vocab_size=vocab_size, min_frequency=1)


def build_plain_tokenizer(vocab_size: int = 300):
    """A Llama-like base without the lookup tokens (bos ``<s>``, eos ``</s>``, no pad), in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(tiny_corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")


def build_tiny_model(tokenizer, arch: str = "llama", hidden: int = 32, layers: int = 2, seed: int = 0):
    """A random-weight causal LM sized to ``tokenizer`` (``arch``: llama or gpt2)."""
    import torch
    from transformers import AutoModelForCausalLM

    from lmlm.train.presets import Preset

    preset = Preset("test", arch, hidden, layers, 2, hidden * 2, 512, arch == "gpt2", "tests")
    config = preset.build_config(
        len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).eval()
