"""The settings of an unlearning experiment (``lmlm eval unlearn --config FILE``).

A config file is a JSON object whose keys are :class:`UnlearnConfig` fields; an unknown key, or a
bad value, is an error naming the file and the key. Command-line flags override the file.

Fine-tuning hyperparameters follow TOFU (Maini et al., 2024: AdamW, weight decay 0.01, 5 epochs,
batch 32, linear warmup over the first epoch) and NPO (Zhang et al., 2024: beta 0.1), with the
learning rate scaled to the model: TOFU's 1e-5 for Llama-2-7B is 1/30 of that model's
pretraining peak (3e-4); the demo pretrains at 3e-3, hence 1e-4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from lmlm.kg.errors import InputFormatError

SPLITS = ("forget_01", "forget_05", "forget_10")
METHODS = ("delete", "ga", "gd", "npo")
TARGETS = ("standard", "lmlm")


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class UnlearnConfig:
    """One unlearning experiment on a generated world (TOFU-style)."""

    out_dir: str = field(metadata={"help": "where the table, the plot and the runs go", "flags": ("--out",)})
    demo: str = field(
        default="",
        metadata=_help("demo directory with the models, store and world (default: $LMLM_HOME/demo)"),
    )
    splits: tuple[str, ...] = field(default=SPLITS, metadata=_help(f"forget splits: {', '.join(SPLITS)}"))
    methods: tuple[str, ...] = field(
        default=METHODS, metadata=_help("delete (LMLM: the store), ga, gd, npo (fine-tuning the weights)")
    )
    weights_of: tuple[str, ...] = field(
        default=TARGETS, metadata=_help("models whose weights ga/gd/npo fine-tune: standard, lmlm")
    )
    epochs: float = field(default=5.0, metadata=_help("fine-tuning epochs over the forget set (TOFU: 5)"))
    lr: float = field(
        default=1e-4, metadata=_help("peak learning rate of the fine-tuning (see the module docstring)")
    )
    batch_size: int = field(default=32, metadata=_help("forget documents per step (TOFU: 32)"))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay (TOFU: 0.01)"))
    warmup_epochs: float = field(default=1.0, metadata=_help("linear warmup, in epochs (TOFU: 1)"))
    npo_beta: float = field(default=0.1, metadata=_help("NPO's beta (the NPO paper: 0.1)"))
    perturbed: int = field(default=5, metadata=_help("wrong answers per fact in the truth ratio (TOFU: 5)"))
    max_forget_facts: int = field(
        default=400, metadata=_help("forget facts evaluated per split (TOFU's forget10: 400)")
    )
    utility_facts: int = field(
        default=200, metadata=_help("retain facts and world facts evaluated for utility, each")
    )
    utility_docs: int = field(
        default=50, metadata=_help("retain people's eval biographies scored for utility")
    )
    max_new_tokens: int = field(default=12, metadata=_help("tokens generated per fact (stated? ROUGE)"))
    miss_value: str = field(default="unknown", metadata=_help("what the LMLM reads when a lookup misses"))
    references: str = field(
        default="shared",
        metadata={
            "help": "retain references: shared (one per model, trained without the largest split's forget "
            "people: the splits are nested) or per_split (TOFU's one per split)",
            "choices": ("shared", "per_split"),
        },
    )
    reference_max_steps: int = field(
        default=0, metadata=_help("retain references: optimizer steps (0: the demo models' own recipe)")
    )
    reference_cache: str = field(
        default="",
        metadata=_help("where retain references are kept between runs (default: DEMO/unlearning-references)"),
    )
    batch: int = field(default=32, metadata=_help("sequences per forward pass in evaluation"))
    seed: int = field(default=0, metadata=_help("seed of the samples, perturbations and fine-tuning"))

    def __post_init__(self) -> None:
        for name, allowed in (("splits", SPLITS), ("methods", METHODS), ("weights_of", TARGETS)):
            value = getattr(self, name)
            if not value or any(v not in allowed for v in value):
                raise ValueError(
                    f"--{name.replace('_', '-')} must be among {', '.join(allowed)}; got {list(value)}"
                )
        positive = (
            "epochs",
            "lr",
            "batch_size",
            "npo_beta",
            "perturbed",
            "max_forget_facts",
            "utility_facts",
        )
        positive += ("max_new_tokens", "batch")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(self, name)!r}")
        for name in ("weight_decay", "warmup_epochs", "utility_docs", "reference_max_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)!r}")
        if self.references not in ("shared", "per_split"):
            raise ValueError(f"--references must be shared or per_split, got {self.references!r}")
        if not self.out_dir:
            raise ValueError("--out is required")

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> UnlearnConfig:
        """The config in JSON file ``path``, ``overrides`` (flags given) on top."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise InputFormatError(str(path), "file", "not found") from e
        except json.JSONDecodeError as e:
            raise InputFormatError(str(path), f"line {e.lineno}", f"invalid JSON: {e.msg}") from e
        if not isinstance(data, dict):
            raise InputFormatError(str(path), "top level", "expected a JSON object of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputFormatError(
                str(path), f"key {unknown[0]!r}", f"not a setting; settings: {', '.join(sorted(known))}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**{**values, **overrides})
        except (TypeError, ValueError) as e:
            raise InputFormatError(str(path), "settings", str(e)) from e

    @classmethod
    def quick(cls, out_dir: str, demo: str = "") -> UnlearnConfig:
        """Small enough for CI: one split, one epoch, few facts, references trained briefly."""
        return cls(
            out_dir=out_dir,
            demo=demo,
            splits=("forget_10",),
            epochs=1.0,
            warmup_epochs=0.0,
            max_forget_facts=30,
            utility_facts=12,
            utility_docs=4,
            max_new_tokens=6,
            reference_max_steps=20,
        )
