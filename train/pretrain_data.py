"""Pretraining data: which texts a run trains and evaluates on, packed into cached blocks.

The blocks of a run are saved to ``out_dir/cache/{train,eval}-KEY.npz``; ``KEY`` fingerprints the
texts, the tokenizer, the mode and the block size, so a resumed run, or the other processes of a
multi-GPU run (which wait for the main one), load the arrays instead of tokenizing again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from lmlm.train.corpus import Document, lmlm_text, load_documents, split_documents, standard_text
from lmlm.train.masking import PackedArrays, encode_documents, pack_arrays
from lmlm.train.pretrain_args import PretrainArgs

logger = logging.getLogger(__name__)


def select_texts(args: PretrainArgs, train_docs, eval_docs) -> tuple[list[str], list[str]]:
    """Training and eval texts for ``args.mode``.

    Documents are loaded from ``--data``/``--eval-data`` when not passed in; a world directory's own
    ``corpus/eval.jsonl`` is the default eval set; otherwise ``--eval-fraction`` of the training
    documents is held out. Plain strings are taken as token-format texts.
    """
    if train_docs is None:
        if not args.data:
            raise ValueError("--data is required when no documents are passed in")
        train_docs = load_documents(args.data)
    eval_path = (args.eval_data or _world_eval_file(args)) if eval_docs is None else ""
    if eval_path:
        eval_docs = load_documents(eval_path)
    docs = [Document(str(i), "", d) if isinstance(d, str) else d for i, d in enumerate(train_docs)]
    if eval_docs is None:
        docs, eval_docs = split_documents(docs, eval_fraction=args.eval_fraction, seed=args.seed)
    evals = [Document(str(i), "", d) if isinstance(d, str) else d for i, d in enumerate(eval_docs)]
    if not docs:
        raise ValueError(f"no training documents in {args.data or 'the documents passed in'}")
    text = lmlm_text if args.mode == "lmlm" else standard_text
    return [text(d) for d in docs], [text(d) for d in evals]


def _world_eval_file(args: PretrainArgs) -> str:
    """``DATA/corpus/eval.jsonl`` when ``--data`` is a world directory that has one."""
    path = Path(args.data) / "corpus" / "eval.jsonl" if args.data else None
    return str(path) if path is not None and Path(args.data).is_dir() and path.is_file() else ""


def packed_blocks(texts: list[str], tokenizer, args: PretrainArgs, split: str) -> PackedArrays:
    """Encode + pack, or load the cached arrays of an earlier run over the same texts and settings."""
    out_dir = Path(args.out_dir)
    key = data_key(texts, tokenizer, args.mode, args.block_size)
    cached = load_packed(out_dir, split, key)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    docs = encode_documents(texts, tokenizer, args.mode)
    packed = pack_arrays(docs, args.block_size, pad_id=tokenizer.pad_token_id or 0)
    logger.info(
        "%s: %d docs -> %d blocks in %.1fs", split, len(texts), packed.n_blocks, time.perf_counter() - t0
    )
    save_packed(out_dir, split, key, packed)
    return packed


def summary(train_texts, eval_texts, train: PackedArrays, evals: PackedArrays | None, steps: int) -> dict:
    return {
        "train_docs": len(train_texts),
        "eval_docs": len(eval_texts),
        "train_blocks": train.n_blocks,
        "eval_blocks": evals.n_blocks if evals is not None else 0,
        "train_tokens": int(train.input_ids.size),
        "train_trained_tokens": int(train.trained.sum()),
        "planned_steps": steps,
    }


# ---------------------------------------------------------------------------------------------
# The cache


def data_key(texts: list[str], tokenizer, mode: str, block_size: int) -> str:
    """A fingerprint of the texts and everything that shapes their blocks."""
    h = hashlib.sha1(f"{mode}|{block_size}|{len(tokenizer)}|{tokenizer.eos_token_id}".encode())
    h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    for text in texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _cache_path(out_dir: Path, split: str, key: str) -> Path:
    return out_dir / "cache" / f"{split}-{key}.npz"


def load_packed(out_dir: Path, split: str, key: str) -> PackedArrays | None:
    path = _cache_path(out_dir, split, key)
    if not path.is_file():
        return None
    with np.load(path) as data:
        logger.info("%s blocks from the cache %s", split, path)
        return PackedArrays(data["input_ids"], data["trained"])


def save_packed(out_dir: Path, split: str, key: str, packed: PackedArrays) -> None:
    path = _cache_path(out_dir, split, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{split}-*.npz"):
        stale.unlink()
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, input_ids=packed.input_ids, trained=packed.trained)
    tmp.rename(path)
