"""The settings of ``lmlm train annotator`` and its command line.

Kept apart from :mod:`lmlm.train.annotator` like :mod:`lmlm.train.pretrain_args`: every
:class:`AnnotatorArgs` field is a flag whose help comes from the field. Settings may come from a
JSON file or a packaged preset (``train/configs/annotator_*.json``) given with ``--config``; flags
given on the command line override it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class AnnotatorArgs:
    """Settings of ``lmlm train annotator``; each field is a flag (``lora_r`` -> ``--lora-r``)."""

    base_model: str = field(default="", metadata={"help": "instruct model: local path or hub name"})
    data: tuple[str, ...] = field(
        default=(), metadata={"help": "annotated data: paper JSON, JSONL (text, annotated_text), world dir"}
    )
    out_dir: str = field(default="", metadata={"help": "where the adapter, logs and plot go"})
    lora_r: int = field(default=32, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA branch"})
    target_modules: str = field(
        default="all-linear", metadata={"help": "'all-linear' or comma-separated module names"}
    )
    max_length: int = field(default=2048, metadata={"help": "max tokens per example (prompt + completion)"})
    epochs: float = field(default=3.0, metadata={"help": "training epochs"})
    lr: float = field(default=2e-4, metadata={"help": "peak learning rate (cosine decay, 3%% warmup)"})
    batch_size: int = field(default=1, metadata={"help": "examples per device and micro-batch"})
    grad_accum: int = field(default=8, metadata={"help": "micro-batches per optimizer step"})
    eval_fraction: float = field(default=0.05, metadata={"help": "share of the documents held out (0: none)"})
    eval_every: int = field(default=0, metadata={"help": "evaluate every N steps (0: about 10 times a run)"})
    precision: str = field(
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
# Command line: ``lmlm train annotator [--config FILE] [--flag value ...]``

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


def register_cli(subparsers) -> argparse.ArgumentParser:
    """Add ``annotator`` to the ``lmlm train`` group; every :class:`AnnotatorArgs` field is a flag."""
    p = subparsers.add_parser(
        "annotator",
        help="fine-tune an annotator LLM (LoRA) on raw -> annotated text",
        description="Fine-tune an instruct model with LoRA to annotate raw text with lookup calls. "
        "Settings come from --config (a JSON file or a preset name, e.g. annotator_llama31_8b); "
        "flags given on the command line override it.",
    )
    p.add_argument("--config", default=None, help="JSON settings file or preset name")
    # SUPPRESS: a --json given to the group (lmlm train --json ...) is not reset by this parser.
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON")
    for f in fields(AnnotatorArgs):
        flag = "--" + f.name.replace("_", "-")
        note = "required, here or in --config" if f.default in ("", ()) else f"default: {f.default}"
        help_text = f"{f.metadata['help']} ({note})"
        if f.type == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif f.name == "data":
            p.add_argument(flag, nargs="+", default=None, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            choices = PRECISIONS if f.name == "precision" else None
            p.add_argument(flag, type=kind, choices=choices, default=None, help=help_text)
    p.set_defaults(func=cmd_annotator)
    return p


def cmd_annotator(ns: argparse.Namespace) -> int:
    overrides = {f.name: getattr(ns, f.name) for f in fields(AnnotatorArgs)}
    args = args_from_config(ns.config, **overrides)
    from lmlm.train.annotator import train_annotator

    with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its log lines: keep stdout for the result
        result = train_annotator(args, show_progress=True)
    summary = {
        "adapter_dir": str(result.adapter_dir),
        "merged_dir": str(result.merged_dir) if result.merged_dir else None,
        "train_loss": result.train_loss,
        "eval_loss": result.eval_loss,
        "log": str(result.log_path),
        "plot": str(result.plot_path),
    }
    if getattr(ns, "json", False):
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0
