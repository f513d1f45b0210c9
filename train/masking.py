"""Which tokens a pretraining document trains on, how documents are packed into blocks, which
blocks each micro-batch holds.

LMLM mode (the paper's objective): the model learns to write the lookup query and to copy the
answer into the text, but never to guess the answer itself, since at inference the knowledge
graph supplies it::

    born in <|db_entity|> Ko Itakura<|db_relationship|> Birthplace<|db_return|> Yokohama<|db_end|> Yokohama on
    trained  trained ...                                           trained      masked   masked     trained ...

The value region is every token after ``<|db_return|>`` up to and including ``<|db_end|>``.
Unlike the paper's code, the mask is computed on the whole document before packing, so a value cut
by a block boundary stays masked; ``<|endoftext|>`` is appended to each document and trained.

Standard mode (the baseline): the lookups are removed with ``strip_lookups`` and every token trains.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Literal

import numpy as np

from lmlm.kg.syntax import DB_END, DB_RETURN, strip_lookups
from lmlm.train.tokenizer import lookup_token_ids

logger = logging.getLogger(__name__)

Mode = Literal["lmlm", "standard"]
MODES: tuple[str, ...] = ("lmlm", "standard")
IGNORE_INDEX = -100  # the label torch's cross-entropy skips


@dataclass(frozen=True)
class EncodedDocument:
    """One document's token ids and, per token, whether it is a training target."""

    input_ids: tuple[int, ...]
    trained: tuple[bool, ...]

    @property
    def n_trained(self) -> int:
        return sum(self.trained)


@dataclass(frozen=True)
class Block:
    """``block_size`` tokens of the packed stream; ``labels`` is -100 where a token does not train."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class PackedArrays:
    """The packed stream as arrays shaped ``(n_blocks, block_size)``: the form the trainer uses."""

    input_ids: np.ndarray  # int32
    trained: np.ndarray  # bool

    @property
    def n_blocks(self) -> int:
        return int(self.input_ids.shape[0])


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")


def value_mask(input_ids: Sequence[int], lookup_ids: dict[str, int]) -> np.ndarray:
    """True on the tokens of each looked-up value and its ``<|db_end|>``.

    A value runs from the token after ``<|db_return|>`` to the next ``<|db_end|>``. A malformed one
    (another lookup token comes first, or the document ends) is masked up to that point, so the
    model is never trained to guess a value.
    """
    ids = np.asarray(input_ids)
    mask = np.zeros(len(ids), dtype=bool)
    markers = np.flatnonzero(np.isin(ids, list(lookup_ids.values())))
    return_id, end_id = lookup_ids[DB_RETURN], lookup_ids[DB_END]
    for i, pos in enumerate(markers):
        if ids[pos] != return_id:
            continue
        if i + 1 == len(markers):
            mask[pos + 1 :] = True
            continue
        nxt = markers[i + 1]
        mask[pos + 1 : nxt + 1 if ids[nxt] == end_id else nxt] = True
    return mask


def encode_document(text: str, tokenizer, mode: Mode) -> EncodedDocument:
    """Tokenize one pretraining document and mark its training targets (see the module docstring)."""
    return encode_documents([text], tokenizer, mode)[0]


def encode_documents(
    texts: Sequence[str], tokenizer, mode: Mode, *, batch_size: int = 1000
) -> list[EncodedDocument]:
    """:func:`encode_document` for many texts, tokenized in batches (the Rust tokenizer runs in parallel)."""
    _check_mode(mode)
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no eos token: every document must end with one")
    lookup_ids = lookup_token_ids(tokenizer) if mode == "lmlm" else None
    eos = tokenizer.eos_token_id
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id not in (None, eos) else None
    out: list[EncodedDocument] = []
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start : start + batch_size])
        if mode == "standard":
            batch = [strip_lookups(t) for t in batch]
        for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            out.append(_encoded(ids, lookup_ids, bos, eos))
    return out


def _encoded(ids: list[int], lookup_ids: dict[str, int] | None, bos: int | None, eos: int) -> EncodedDocument:
    trained = [True] * len(ids)
    if lookup_ids is not None:
        trained = (~value_mask(ids, lookup_ids)).tolist()
    if bos is not None:  # a Llama-style tokenizer: the document opens with bos, never a target
        ids, trained = [bos, *ids], [False, *trained]
    return EncodedDocument(tuple(ids) + (eos,), tuple(trained) + (True,))


def pack_arrays(docs: Iterable[EncodedDocument], block_size: int, pad_id: int = 0) -> PackedArrays:
    """Concatenate the documents and cut the stream into blocks; the last one is padded (pads never train)."""
    if block_size < 2:
        raise ValueError(f"--block-size must be at least 2, got {block_size}")
    docs = list(docs)
    total = sum(len(d.input_ids) for d in docs)
    n_blocks = max(1, -(-total // block_size))
    ids = np.full(n_blocks * block_size, pad_id, dtype=np.int32)
    trained = np.zeros(n_blocks * block_size, dtype=bool)
    ids[:total] = np.fromiter(chain.from_iterable(d.input_ids for d in docs), dtype=np.int32, count=total)
    trained[:total] = np.fromiter(chain.from_iterable(d.trained for d in docs), dtype=bool, count=total)
    return PackedArrays(ids.reshape(n_blocks, block_size), trained.reshape(n_blocks, block_size))


def pack_documents(docs: Iterable[EncodedDocument], block_size: int, pad_id: int = 0) -> list[Block]:
    """The packed stream as :class:`Block` s with labels (-100 where a token does not train)."""
    packed = pack_arrays(docs, block_size, pad_id)
    labels = np.where(packed.trained, packed.input_ids, IGNORE_INDEX)
    return [Block(tuple(i.tolist()), tuple(lab.tolist())) for i, lab in zip(packed.input_ids, labels)]


class BatchPlan:
    """Which blocks micro-batch ``m`` of the run holds on this process.

    Epoch ``e`` is the permutation seeded ``seed + e``, padded by wrapping to a multiple of the
    process count and dealt round-robin; each process cuts its share into ``batch_size`` slices.
    """

    def __init__(self, n_blocks: int, batch_size: int, rank: int, world: int, seed: int):
        if not 0 <= rank < world:
            raise ValueError(f"process {rank} outside 0..{world - 1}")
        self.n_blocks, self.batch_size, self.seed = n_blocks, batch_size, seed
        self.rank, self.world = rank, world
        self.per_rank = math.ceil(n_blocks / world)
        self.per_epoch = math.ceil(self.per_rank / batch_size)
        self._epoch, self._share = -1, np.empty(0, dtype=np.int64)

    def indices(self, micro: int) -> np.ndarray:
        epoch, i = divmod(micro, self.per_epoch)
        if epoch != self._epoch:
            perm = np.random.default_rng(self.seed + epoch).permutation(self.n_blocks)
            self._share = np.resize(perm, self.per_rank * self.world)[self.rank :: self.world]
            self._epoch = epoch
        return self._share[i * self.batch_size : (i + 1) * self.batch_size]
