"""Annotation quality on ground truth: a small annotator trained here, scored against the world.

    python -m lmlm.evaluation.annotation_quality --out results/annotation-quality --threads 1

1. A generated world (:mod:`lmlm.train.world`): biographies of the trained people with every fact
   annotated; a share of the people are held out (no biography of them is used in training).
2. A base model built here (:mod:`lmlm.evaluation.annotation_base`): a byte-level BPE tokenizer
   with a chat template, a small Llama (``--preset``) warmed up on a copy task until it copies
   (``--copy-steps``), optionally pretrained on world text (``--pretrain-epochs``).
3. ``lmlm train annotator`` on it (``--finetune full`` or ``lora``): TRL SFT on (raw -> annotated)
   pairs of the trained people's biographies.
4. New biographies of held-out people, annotated by the pipeline with the local backend
   (``lmlm.annotation.annotate``: validation, repair, cleaning, extraction), greedy.
5. Scores: the share of texts that survive annotation unchanged (and that are accepted); triple
   precision against the world's facts (a triple is right if the world holds it) and against the
   facts the biography states; recall of the facts each biography states; per relation.
6. The baseline, in the same run (``--baseline no-warmup``): steps 2-5 again under ``OUT/baseline``
   from a base without the copy warm-up (the recipe before it), same data, steps and seed.

It also checks the paper's annotated samples (``shared/data/lmlm-paper``) the same way, as the
reference of real annotators (GPT-4o, the paper's Llama-3.1-8B annotator): the share of calls
that parse, of texts preserved exactly, and the pipeline's verdicts (exact, repaired, rejected).

Writes ``annotation_quality.json`` (settings; per arm: scores, losses, seconds per stage) and
``annotation_quality.png`` under ``--out`` (a fresh directory: the world is reused, the models are
not). Measured figures and the settings compared: ``annotation/README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

from lmlm.annotation import BackendConfig, RunConfig, annotate
from lmlm.annotation.output import ANNOTATED, read_records
from lmlm.annotation.prompts import SFT_PROMPT
from lmlm.cli.common import add_dataclass_arguments, dataclass_from_args
from lmlm.evaluation.annotation_base import BASE_PRESET, BASE_PRESETS, build_base
from lmlm.evaluation.annotation_scores import check_paper_samples, score, triple_key
from lmlm.evaluation.entry_point import write_json
from lmlm.kg.syntax import parse_annotated
from lmlm.train.annotator import AnnotatorArgs, train_annotator
from lmlm.train.annotator_args import FINETUNES, Finetune
from lmlm.train.world import WorldConfig, WorldDataConfig, generate_world, write_world
from lmlm.train.world.biographies import write_biography

logger = logging.getLogger(__name__)

PAPER_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lmlm-paper"
Baseline = Literal["no-warmup", "none"]
BASELINES: tuple[str, ...] = get_args(Baseline)
_EVAL_VARIANT = 999  # seeds the held-out biographies apart from any training variant


@dataclass(frozen=True)
class QualityConfig:
    """Sizes of the experiment; each field is a flag."""

    out: str = field(default="", metadata={"help": "output directory"})
    people: int = field(default=1000, metadata={"help": "people in the world"})
    heldout: float = field(default=0.1, metadata={"help": "share of people held out of all training"})
    variants: int = field(default=2, metadata={"help": "training biographies per trained person"})
    eval_docs: int = field(default=60, metadata={"help": "held-out biographies annotated and scored"})
    seed: int = field(default=0, metadata={"help": "world and training seed"})
    names: str = field(
        default="given", metadata={"help": "person names: syllables or given (lmlm data world)"}
    )
    threads: int = field(
        default=0, metadata={"help": "torch CPU threads (0: torch's default; 1 is fastest on a busy CPU)"}
    )
    vocab_size: int = field(default=1024, metadata={"help": "tokenizer vocabulary"})
    preset: str = field(
        default=BASE_PRESET.name,
        metadata={
            "help": f"base architecture: {BASE_PRESET.name} ({BASE_PRESET.description}) or a preset",
            "choices": BASE_PRESETS,
        },
    )
    copy_steps: int = field(
        default=800,
        metadata={"help": "most copy warm-up steps on short sequences, until 90%% copied (0: no warm-up)"},
    )
    copy_longer_steps: int = field(
        default=100, metadata={"help": "copy warm-up steps at each of 3 longer sequence lengths"}
    )
    pretrain_epochs: float = field(
        default=0.0, metadata={"help": "base pretraining epochs on world text after the warm-up (0: none)"}
    )
    finetune: Finetune = field(
        default="full", metadata={"help": "annotator fine-tuning: full (every weight) or lora"}
    )
    sft_steps: int = field(default=800, metadata={"help": "annotator fine-tuning steps"})
    sft_batch_size: int = field(default=8, metadata={"help": "fine-tuning batch size"})
    lora_r: int = field(default=64, metadata={"help": "LoRA rank (--finetune lora)"})
    lr: float = field(default=2e-3, metadata={"help": "fine-tuning peak learning rate"})
    batch_size: int = field(default=8, metadata={"help": "texts annotated together"})
    paper_data: str = field(default=str(PAPER_DATA), metadata={"help": "the paper's samples ('' to skip)"})
    baseline: Baseline = field(
        default="no-warmup",
        metadata={
            "help": "no-warmup: also train and score the same annotator from a base without the copy "
            "warm-up (under OUT/baseline), in the same run; none: the annotator alone"
        },
    )

    def __post_init__(self) -> None:
        if not self.out:
            raise ValueError("--out is required")
        for flag, value in (
            ("--people", self.people),
            ("--eval-docs", self.eval_docs),
            ("--sft-steps", self.sft_steps),
        ):
            if value < 1:
                raise ValueError(f"{flag} must be >= 1, got {value}")
        for flag, value in (
            ("--copy-steps", self.copy_steps),
            ("--copy-longer-steps", self.copy_longer_steps),
        ):
            if value < 0:
                raise ValueError(f"{flag} must be >= 0, got {value}")
        if not 0 < self.heldout < 1:
            raise ValueError(f"--heldout must be in (0, 1), got {self.heldout}")
        if self.preset not in BASE_PRESETS:
            raise ValueError(f"--preset must be one of {', '.join(BASE_PRESETS)}, got {self.preset!r}")
        if self.finetune not in FINETUNES:
            raise ValueError(f"--finetune must be one of {', '.join(FINETUNES)}, got {self.finetune!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"--baseline must be one of {', '.join(BASELINES)}, got {self.baseline!r}")
        if self.pretrain_epochs < 0:
            raise ValueError(f"--pretrain-epochs must be >= 0, got {self.pretrain_epochs}")


# ---------------------------------------------------------------------------------------------
# Data


def build_world(config: QualityConfig, out: Path) -> tuple[Path, list[dict], set[tuple[str, str, str]]]:
    """(world dir, held-out biographies with their gold triples, every true triple of the world)."""
    data = WorldDataConfig(
        people=config.people,
        seed=config.seed,
        variants=config.variants,
        heldout_fraction=config.heldout,
        eval_variants=0,
        names=config.names,
    )
    world_dir = out / "world"
    if not (world_dir / "manifest.json").is_file():
        write_world(world_dir, data)
    world = generate_world(
        WorldConfig(people=config.people, seed=config.seed, names=data.names, complete=data.complete)
    )
    people = json.loads((world_dir / "world.json").read_text())["people"]
    heldout = {p["name"] for p in people if p["heldout"]}
    rng = random.Random(config.seed)
    chosen = [p for p in world.people if p.name in heldout]
    rng.shuffle(chosen)
    docs = []
    for n in range(config.eval_docs):
        person = chosen[n % len(chosen)]
        annotated, raw, _ = write_biography(
            person, world.entity_facts, random.Random(f"eval-{n}-{_EVAL_VARIANT}")
        )
        gold = [triple_key(c.entity, c.relation, c.value) for c in parse_annotated(annotated).calls]
        docs.append(
            {
                "id": f"heldout-{n}",
                "person": person.name,
                "text": raw,
                "annotated_text": annotated,
                "gold": gold,
            }
        )
    truth = {triple_key(t.entity, t.relation, t.value) for t in world.triples}
    return world_dir, docs, truth


# ---------------------------------------------------------------------------------------------
# Models


def train(config: QualityConfig, base: Path, world_dir: Path, out: Path):
    """``lmlm train annotator`` on the base, with the trained people's biographies."""
    args = AnnotatorArgs(
        base_model=str(base),
        data=(str(world_dir / "corpus" / "train.jsonl"),),
        out_dir=str(out / "annotator"),
        finetune=config.finetune,
        lora_r=config.lora_r,
        lora_alpha=2 * config.lora_r,
        lora_dropout=0.0,
        max_length=1024,
        max_steps=config.sft_steps,
        lr=config.lr,
        batch_size=config.sft_batch_size,
        grad_accum=1,
        eval_fraction=0.02,
        gradient_checkpointing=False,
        precision="fp32",
        seed=config.seed,
    )
    return train_annotator(args, show_progress=True)


# ---------------------------------------------------------------------------------------------
# The run


def run(config: QualityConfig) -> dict:
    """The whole experiment; writes and returns the result."""
    import torch

    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _run(config)
    finally:
        torch.set_num_threads(threads)


def _run(config: QualityConfig) -> dict:
    out = Path(config.out)
    for stage in ("base", "annotator", "annotated", "baseline"):
        if (out / stage).exists():
            raise ValueError(f"--out {out}: holds an earlier run ({stage}/); choose a new directory")
    out.mkdir(parents=True, exist_ok=True)
    world_dir, docs, truth = build_world(config, out)
    inputs = out / "heldout.jsonl"
    inputs.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
    baseline = None
    if config.baseline == "no-warmup":  # the same recipe from a base that never saw the copy task
        plain = replace(config, copy_steps=0)
        baseline = run_arm(plain, world_dir, inputs, docs, truth, out / "baseline")
    result = {
        "settings": asdict(config),
        "annotator": run_arm(config, world_dir, inputs, docs, truth, out),
        "baseline": baseline,
        "paper_samples": check_paper_samples(Path(config.paper_data))
        if config.paper_data and Path(config.paper_data).is_dir()
        else [],
    }
    write_json(out / "annotation_quality.json", result)
    plot(result, out / "annotation_quality.png")
    return result


def run_arm(config: QualityConfig, world_dir: Path, inputs: Path, docs: list[dict], truth: set, out: Path):
    """Base, fine-tuning, annotation of the held-out texts and their scores; files under ``out``."""
    began = time.perf_counter()
    base = build_base(config, world_dir, out)
    base_seconds = time.perf_counter() - began
    trained = train(config, base.path, world_dir, out)
    sft_seconds = time.perf_counter() - began - base_seconds
    report = annotate(
        [inputs],
        # the prompt it was trained with (auto picks it for an adapter only, not for a whole model)
        RunConfig(out=str(out / "annotated"), prompt=SFT_PROMPT),
        BackendConfig(
            backend="local", model=str(trained.model_dir), batch_size=config.batch_size, device="cpu"
        ),
        show_progress=True,
    )
    accepted = {record["document_id"] for record in read_records(out / "annotated" / ANNOTATED)}
    copy = base.copy
    return {
        "base": {"path": str(base.path), "parameters": base.parameters, "copy_warmup": copy and asdict(copy)},
        "train_loss": trained.train_loss,
        "eval_loss": trained.eval_loss,
        "model": str(trained.model_dir),
        "adapter": str(trained.adapter_dir) if trained.adapter_dir else None,
        "heldout": score(docs, truth, report, Path(report["files"]["triples.jsonl"]), accepted),
        "seconds": {
            "copy_warmup": copy.seconds if copy else 0.0,
            "pretrain": base.pretrain_seconds,
            "base": base_seconds,
            "finetune": sft_seconds,
            "annotate": report["this_run"]["seconds"],
            "total": time.perf_counter() - began,
        },
    }


_SCORES = {
    "text preserved": "text_preserved_share",
    "accepted": "accepted_share",
    "precision (world)": "precision_world",
    "precision (stated)": "precision_stated",
    "recall": "recall",
}


def plot(result: dict, path: Path) -> Path:
    """Bars: the annotator's scores next to the baseline's, and the paper annotators' text checks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    arms = [("copy warm-up", result["annotator"], "tab:blue")]
    if result["baseline"]:
        arms.append(("baseline: no warm-up", result["baseline"], "tab:gray"))
    width = 0.8 / len(arms)
    for i, (label, arm, color) in enumerate(arms):
        xs = [x + (i - (len(arms) - 1) / 2) * width for x in range(len(_SCORES))]
        bars = ax.bar(xs, [arm["heldout"][key] for key in _SCORES.values()], width, color=color, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=6)  # a zero bar is otherwise invisible
    ax.set_xticks(range(len(_SCORES)), list(_SCORES), rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title(
        f"annotators trained here, {result['annotator']['heldout']['documents']} held-out biographies"
    )
    rows = result["paper_samples"]
    if rows:
        labels = [r["file"].split("_cleaned")[0] for r in rows]
        xs = range(len(rows))
        ax2.bar([x - 0.2 for x in xs], [r["text_preserved_share"] for r in rows], 0.4, label="text preserved")
        accepted = [
            (r["verdicts"].get("exact", 0) + r["verdicts"].get("repaired", 0)) / r["documents"] for r in rows
        ]
        ax2.bar([x + 0.2 for x in xs], accepted, 0.4, label="accepted after repair")
        ax2.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=7)
        ax2.set_ylim(0, 1)
        ax2.legend(fontsize=7)
        ax2.set_title("the paper's annotated samples")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataclass_arguments(parser, QualityConfig)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    result = run(dataclass_from_args(QualityConfig, args))
    for name in ("annotator", "baseline"):
        if result[name]:
            held = result[name]["heldout"]
            print(name, json.dumps({k: v for k, v in held.items() if k != "recall_by_relation"}, indent=2))
    for row in result["paper_samples"]:
        print(
            f"{row['file']}: calls parsed {row['calls_parsed_share']:.3f}, text preserved "
            f"{row['text_preserved_share']:.3f}, verdicts {row['verdicts']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
