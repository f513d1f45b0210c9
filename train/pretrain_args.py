"""The settings of a pretraining run.

Kept apart from :mod:`lmlm.train.pretrain` so that the ``lmlm`` command and ``--help`` work
without importing torch. ``lmlm train pretrain`` and ``python -m lmlm.train.pretrain_cli`` make one
flag per field with :func:`lmlm.cli.common.add_dataclass_arguments` (``out_dir`` is ``--out-dir`` or
``--out``); a field's ``help`` is its flag's help text.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from lmlm.train.presets import PRESETS

Mode = Literal["lmlm", "standard"]
Precision = Literal["auto", "fp32", "bf16"]
MODES: tuple[str, ...] = get_args(Mode)
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass(frozen=True)
class PretrainArgs:
    """One pretraining run. Validated on construction; messages name the flag and the bad value."""

    out_dir: str = field(
        metadata={"help": "output directory: checkpoints, final/, log.json, loss.png", "flags": ("--out",)}
    )
    tokenizer: str = field(
        default="", metadata={"help": "tokenizer directory (default: the --init-from model's tokenizer)"}
    )
    data: str = field(
        default="",
        metadata={"help": "training documents: paper JSON, JSONL or a `lmlm data world` directory"},
    )
    eval_data: str = field(
        default="", metadata={"help": "held-out documents (default: --eval-fraction of --data)"}
    )
    eval_fraction: float = field(
        default=0.05, metadata={"help": "share of --data held out for eval when --eval-data is not given"}
    )
    preset: str = field(
        default="tiny-2m", metadata={"help": "architecture (`lmlm train presets`)", "choices": tuple(PRESETS)}
    )
    init_from: str = field(
        default="", metadata={"help": "start from this saved model directory instead of a fresh --preset"}
    )
    mode: Mode = field(
        default="lmlm",
        metadata={"help": "lmlm: train on lookups, values masked; standard: lookups removed, all tokens"},
    )
    epochs: float = field(
        default=1.0, metadata={"help": "passes over the training blocks (may be fractional)"}
    )
    max_steps: int = field(default=0, metadata={"help": "optimizer steps; overrides --epochs when > 0"})
    batch_size: int = field(default=16, metadata={"help": "blocks per micro-batch per device"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    block_size: int = field(default=256, metadata={"help": "tokens per block (the paper: 1024)"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate (AdamW)"})
    min_lr_ratio: float = field(default=0.1, metadata={"help": "the cosine decays to lr * this"})
    warmup: float = field(
        default=0.05, metadata={"help": "warmup: a fraction of the steps if < 1, else a number of steps"}
    )
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW weight decay (matrices only)"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm; 0 turns it off"})
    eval_every: int = field(default=0, metadata={"help": "steps between eval passes; 0: only at the end"})
    save_every: int = field(default=0, metadata={"help": "steps between checkpoints; 0: only at the end"})
    keep_checkpoints: int = field(default=2, metadata={"help": "checkpoints kept (older ones deleted)"})
    log_every: int = field(default=10, metadata={"help": "steps between reading the loss off the device"})
    seed: int = field(default=0, metadata={"help": "seed for initialisation and data order"})
    precision: Precision = field(
        default="auto", metadata={"help": "auto (bf16 on a CUDA GPU that has it, else fp32), fp32 or bf16"}
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "recompute activations in backward (less memory, ~30% slower)"}
    )
    resume: bool = field(default=False, metadata={"help": "continue from the latest checkpoint in --out-dir"})

    def __post_init__(self) -> None:
        _check(bool(self.out_dir), "--out", self.out_dir, "is required")
        _check(self.mode in MODES, "--mode", self.mode, f"must be one of {', '.join(MODES)}")
        _check(
            self.precision in PRECISIONS, "--precision", self.precision, f"must be {', '.join(PRECISIONS)}"
        )
        _check(
            bool(self.init_from) or self.preset in PRESETS,
            "--preset",
            self.preset,
            f"must be one of {', '.join(PRESETS)}",
        )
        _check(bool(self.tokenizer or self.init_from), "--tokenizer", self.tokenizer, "is required")
        _check(math.isfinite(self.epochs) and self.epochs > 0, "--epochs", self.epochs, "must be > 0")
        _check(self.max_steps >= 0, "--max-steps", self.max_steps, "must be >= 0")
        for flag, value in (("--batch-size", self.batch_size), ("--grad-accum", self.grad_accum)):
            _check(value >= 1, flag, value, "must be >= 1")
        _check(self.block_size >= 2, "--block-size", self.block_size, "must be >= 2")
        _check(math.isfinite(self.lr) and self.lr > 0, "--lr", self.lr, "must be > 0")
        _check(0 <= self.min_lr_ratio <= 1, "--min-lr-ratio", self.min_lr_ratio, "must be in [0, 1]")
        _check(self.warmup >= 0, "--warmup", self.warmup, "must be >= 0")
        _check(self.weight_decay >= 0, "--weight-decay", self.weight_decay, "must be >= 0")
        _check(self.max_grad_norm >= 0, "--max-grad-norm", self.max_grad_norm, "must be >= 0")
        _check(0 < self.eval_fraction < 1, "--eval-fraction", self.eval_fraction, "must be in (0, 1)")
        for flag, value in (("--eval-every", self.eval_every), ("--save-every", self.save_every)):
            _check(value >= 0, flag, value, "must be >= 0")
        _check(self.keep_checkpoints >= 1, "--keep-checkpoints", self.keep_checkpoints, "must be >= 1")
        _check(self.log_every >= 1, "--log-every", self.log_every, "must be >= 1")

    def warmup_steps(self, total_steps: int) -> int:
        return round(self.warmup * total_steps) if self.warmup < 1 else int(self.warmup)

    def to_dict(self) -> dict:
        return asdict(self)


def _check(ok: bool, flag: str, value, problem: str) -> None:
    if not ok:
        raise ValueError(f"{flag} {problem}, got {value!r}")
