"""Tokenizers that keep the four lookup tokens whole.

A new tokenizer is a byte-level BPE (the ``tokenizers`` library, GPT-2 style, no prefix space)
wrapped in ``PreTrainedTokenizerFast``; an existing one is extended with the four tokens. Either
way the tokens are special ``AddedToken`` s with ``normalized=False, lstrip=False, rstrip=False``:

* they are split off before BPE runs, so ``"a<|db_entity|>b"`` is ``[a, TOKEN, b]`` and the text
  between two tokens is encoded on its own. Encoding a document in one go therefore gives the same
  ids as encoding its pieces one by one, which is what the lookup decoder relies on when it
  injects ``<|db_return|> value<|db_end|>`` into a running generation;
* the spaces around them stay in the neighbouring pieces, and ``clean_up_tokenization_spaces`` is
  off, so ``decode(encode(text)) == text``.

Everything runs offline from local files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from lmlm.kg.syntax import LOOKUP_TOKENS
from lmlm.model.lookup_state import LookupTokenIds

logger = logging.getLogger(__name__)

END_OF_TEXT = "<|endoftext|>"
_SPLIT_AT_LOOKUP_TOKENS = re.compile("|".join(re.escape(token) for token in LOOKUP_TOKENS))
_SPLIT_AT_SPECIAL = re.compile("(" + "|".join(re.escape(t) for t in (*LOOKUP_TOKENS, END_OF_TEXT)) + ")")


def prefix_spaced(text: str) -> str:
    """What ``decode(encode(text))`` gives with a tokenizer of :func:`train_tokenizer`: a space
    added at the start of the text and after each special token where there is none (LMLM text
    has one there already: `` Entity``, `` Relation``, `` value``, `` copy``)."""
    pieces = _SPLIT_AT_SPECIAL.split(text)
    return "".join(
        p if not p or p.startswith(" ") or _SPLIT_AT_SPECIAL.fullmatch(p) else " " + p for p in pieces
    )


def _lookup_added_tokens() -> list[AddedToken]:
    return [AddedToken(t, normalized=False, lstrip=False, rstrip=False, special=True) for t in LOOKUP_TOKENS]


def _pieces(texts: Iterable[str]) -> Iterator[str]:
    """The texts cut at the lookup tokens: BPE merges should not be spent on spelling them out."""
    for text in texts:
        yield from _SPLIT_AT_LOOKUP_TOKENS.split(text)


def train_tokenizer(
    texts: Iterable[str], out_dir: str | Path, vocab_size: int = 4096, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` and save it to ``out_dir`` (``AutoTokenizer`` loads it).

    ``vocab_size`` counts the BPE vocabulary with ``<|endoftext|>`` (bos = eos = pad); the four
    lookup tokens come on top, so ``len(tokenizer) == vocab_size + 4`` once the corpus is large
    enough to fill the vocabulary. Lookup tokens in ``texts`` are cut out before training.
    """
    if vocab_size < 257:
        raise ValueError(f"--vocab-size must be at least 257 (256 bytes + <|endoftext|>), got {vocab_size}")
    if min_frequency < 1:
        raise ValueError(f"--min-frequency must be at least 1, got {min_frequency}")
    tok = Tokenizer(models.BPE())
    # A word is the same token at the start of a text as inside it ("Ko" and " Ko" would differ
    # otherwise): the model copies a name from the prompt into a lookup with one induction step, as
    # with the paper's SentencePiece tokenizer. Text after a lookup token already starts with a space.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_pieces(texts), trainer)
    if tok.get_vocab_size() <= 257:
        raise ValueError("the tokenizer corpus is empty: no text to learn merges from")
    tok.add_special_tokens(_lookup_added_tokens())
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
        extra_special_tokens=list(LOOKUP_TOKENS),
        clean_up_tokenization_spaces=False,
    )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out_dir))
    logger.info("tokenizer: %d tokens, saved to %s", len(tokenizer), out_dir)
    return tokenizer


def extend_tokenizer(base, out_dir: str | Path, model=None):
    """Add the four lookup tokens (and pad = eos if there is no pad) to ``base``; resize ``model``.

    ``base`` is a tokenizer or a local directory; ``model`` (optional) a causal LM whose embeddings
    grow to the new vocabulary, new rows set to the mean of the old ones (so the new tokens start
    as an "average" token instead of noise). Both are saved to ``out_dir``.
    Returns ``(tokenizer, model_or_None)``.
    """
    tokenizer = base
    if isinstance(base, (str, Path)):
        if not Path(base).is_dir():
            raise ValueError(f"--extend: {base} is not a directory holding a tokenizer (no downloads here)")
        tokenizer = AutoTokenizer.from_pretrained(str(base))
    missing = [t for t in LOOKUP_TOKENS if t not in tokenizer.get_vocab()]
    tokenizer.add_special_tokens({"additional_special_tokens": _lookup_added_tokens()})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.clean_up_tokenization_spaces = False
    logger.info("tokenizer extended with %d lookup tokens (%d in all)", len(missing), len(tokenizer))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out_dir))
    if model is not None:
        resize_embeddings(model, len(tokenizer))
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(str(out_dir))
    return tokenizer, model


def resize_embeddings(model, vocab_size: int) -> int:
    """Grow the model's input (and untied output) embeddings to ``vocab_size`` rows; returns rows added.

    New rows are the mean of the old ones. Never shrinks: a model may carry spare rows.
    """
    old = model.get_input_embeddings().weight.shape[0]
    if vocab_size <= old:
        return 0
    model.resize_token_embeddings(vocab_size, mean_resizing=False)
    with torch.no_grad():
        for emb in {model.get_input_embeddings(), model.get_output_embeddings()} - {None}:
            emb.weight[old:] = emb.weight[:old].mean(dim=0, keepdim=True)
    logger.info("embeddings resized from %d to %d rows", old, vocab_size)
    return vocab_size - old


def lookup_token_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    """``{token: id}`` for the four lookup tokens (:class:`lmlm.model.lookup_state.LookupTokenIds`);
    ValueError naming the missing tokens."""
    return LookupTokenIds.from_tokenizer(tokenizer).by_token()
