"""The settings of annotator fine-tuning, and their JSON files and presets.

Kept apart from :mod:`lmlm.train.annotator` like :mod:`lmlm.train.pretrain_args`, so that the
``lmlm`` command imports them without torch. ``lmlm train annotator`` (:mod:`lmlm.cli.train`) makes
one flag per :class:`AnnotatorArgs` field, help from the field. Settings may come from a JSON file or
a packaged preset (``train/configs/annotator_*.json``, :func:`load_config`); flags given on the
command line override it (:func:`args_from_config`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
Finetune = Literal["lora", "full"]
FINETUNES: tuple[str, ...] = get_args(Finetune)


@dataclass(frozen=True)
class AnnotatorArgs:
    """Settings of ``lmlm train annotator``; each field is a flag (``lora_r`` -> ``--lora-r``)."""

    base_model: str = field(
        default="",
        metadata={"help": "instruct model: local path or hub name (required, here or in --config)"},
    )
    data: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "annotated data: paper JSON, JSONL (text, annotated_text), world dir "
            "(required, here or in --config)"
        },
    )
    out_dir: str = field(
        default="",
        metadata={
            "help": "where the adapter, logs and plot go (required, here or in --config)",
            "flags": ("--out",),
        },
    )
    finetune: Finetune = field(
        default="lora",
        metadata={
            "help": "lora: train a LoRA adapter (written to OUT/adapter); full: train every weight, "
            "for a small base built here (the model is written to OUT/model)"
        },
    )
    lora_r: int = field(default=32, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA branch"})
    target_modules: str = field(
        default="all-linear", metadata={"help": "'all-linear' or comma-separated module names"}
    )
    max_length: int = field(default=2048, metadata={"help": "max tokens per example (prompt + completion)"})
    epochs: float = field(default=3.0, metadata={"help": "training epochs"})
    lr: float = field(default=2e-4, metadata={"help": "peak learning rate (cosine decay, 3% warmup)"})
    batch_size: int = field(default=1, metadata={"help": "examples per device and micro-batch"})
    grad_accum: int = field(default=8, metadata={"help": "micro-batches per optimizer step"})
    eval_fraction: float = field(default=0.05, metadata={"help": "share of the documents held out (0: none)"})
    eval_every: int = field(default=0, metadata={"help": "evaluate every N steps (0: about 10 times a run)"})
    precision: Precision = field(
        default="auto", metadata={"help": "auto (bf16 on a bf16 GPU, else fp32), fp32, bf16"}
    )
    gradient_checkpointing: bool = field(
        default=True, metadata={"help": "trade compute for activation memory"}
    )
    seed: int = field(default=0, metadata={"help": "random seed (split, LoRA init, data order)"})
    max_steps: int = field(default=-1, metadata={"help": "stop after N optimizer steps (-1: run all epochs)"})
    merge: bool = field(
        default=False, metadata={"help": "also save the base model with the adapter merged in"}
    )

    def __post_init__(self):
        if isinstance(self.data, (str, Path)):
            object.__setattr__(self, "data", (str(self.data),))
        object.__setattr__(self, "data", tuple(str(p) for p in self.data))
        _check(bool(self.base_model), "--base-model", self.base_model, "is required")
        _check(bool(self.data), "--data", self.data, "needs at least one file")
        _check(bool(self.out_dir), "--out-dir", self.out_dir, "is required")
        _check(self.finetune in FINETUNES, "--finetune", self.finetune, f"must be one of {FINETUNES}")
        full_merge = self.merge and self.finetune == "full"
        _check(not full_merge, "--merge", self.merge, "is for --finetune lora (a full fine-tune is whole)")
        for flag, value in [("--lora-r", self.lora_r), ("--lora-alpha", self.lora_alpha)]:
            _check(value >= 1, flag, value, "must be >= 1")
        for flag, value in [("--batch-size", self.batch_size), ("--grad-accum", self.grad_accum)]:
            _check(value >= 1, flag, value, "must be >= 1")
        _check(0 <= self.lora_dropout < 1, "--lora-dropout", self.lora_dropout, "must be in [0, 1)")
        _check(bool(self.target_modules.strip()), "--target-modules", self.target_modules, "is empty")
        _check(self.max_length >= 16, "--max-length", self.max_length, "must be >= 16")
        _check(self.epochs > 0, "--epochs", self.epochs, "must be > 0")
        _check(0 < self.lr < 1, "--lr", self.lr, "must be in (0, 1)")
        _check(0 <= self.eval_fraction < 1, "--eval-fraction", self.eval_fraction, "must be in [0, 1)")
        _check(self.eval_every >= 0, "--eval-every", self.eval_every, "must be >= 0")
        _check(self.precision in PRECISIONS, "--precision", self.precision, f"must be one of {PRECISIONS}")
        _check(
            self.max_steps == -1 or self.max_steps >= 1, "--max-steps", self.max_steps, "must be -1 or >= 1"
        )


def _check(ok: bool, flag: str, value, problem: str) -> None:
    if not ok:
        raise ValueError(f"{flag} {problem}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Settings files: ``lmlm train annotator --config FILE_OR_PRESET [--flag value ...]``

CONFIG_PACKAGE = "lmlm.train"


def load_config(path_or_name: str) -> dict:
    """A JSON object of :class:`AnnotatorArgs` fields: a file, or a preset of ``train/configs``."""
    path = Path(path_or_name)
    if not path.is_file():
        packaged = resources.files(CONFIG_PACKAGE) / "configs" / f"{path_or_name.removesuffix('.json')}.json"
        if not packaged.is_file():
            raise ValueError(f"--config {path_or_name}: no such file or packaged preset")
        path = packaged
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object of settings")
    known = {f.name for f in fields(AnnotatorArgs)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return config


def args_from_config(config: str | None = None, **overrides) -> AnnotatorArgs:
    """The preset or file ``config`` with ``overrides`` (``None`` values ignored) on top."""
    settings = load_config(config) if config else {}
    settings |= {key: value for key, value in overrides.items() if value is not None}
    return AnnotatorArgs(**settings)
