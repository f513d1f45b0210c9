"""``lmlm demo build``: the demo world, its tokenizer, an LMLM and a Standard model, the store.

Everything is cached under ``$LMLM_HOME/demo`` stage by stage; a stage is rebuilt only when its
settings (or an earlier stage) changed, so the first ``lmlm demo`` builds (a few minutes on a
laptop CPU) and later ones start at once. The last stage measures what the demo model is for, on
prompts about people it never saw in training (``report.json``, see :mod:`lmlm.demo_report`):
how many of the facts it states are true in the world, come through an exact lookup made before
them and stand in the right slot, how often it repeats itself, the same for the Standard model, and
whether forgetting facts in (a copy of) the store makes it stop stating them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lmlm.train.presets import PRESETS
from lmlm.train.world.biographies import RELATION_ORDERS, SLOTS

logger = logging.getLogger(__name__)
_RELATIONS = "one of " + ", ".join(SLOTS.values())
_ORDERS = "one of " + ", ".join(RELATION_ORDERS)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo build; each field is a flag of ``lmlm demo`` (``vocab_size`` -> ``--vocab-size``)."""

    people: int = field(
        default=1500,
        metadata={
            "help": "people in the generated world (a tenth held out: facts in the store, no biography)"
        },
    )
    seed: int = field(default=0, metadata={"help": "world and training seed"})
    variants: int = field(default=4, metadata={"help": "biographies per trained person"})
    facts_per_biography: int = field(
        default=4,
        metadata={"help": "facts each biography writes (0: all); the variants take turns through them"},
    )
    relation_order: str = field(
        default="life",
        metadata={
            "help": "order of a biography's facts: life (birth, education, work, award, family) or random",
            "choices": RELATION_ORDERS,
        },
    )
    absent_share: float = field(
        default=0.1,
        metadata={
            "help": "share of the trained people's facts kept out of the store: their lookups in the "
            "corpus return 'unknown' and the text says so, so the model learns what to write on a miss"
        },
    )
    vocab_size: int = field(default=1024, metadata={"help": "BPE vocabulary of the demo tokenizer"})
    preset: str = field(
        default="tiny-2m", metadata={"help": "model preset for both models", "choices": tuple(PRESETS)}
    )
    # 2.4 epochs learnt to copy names on one machine and not on another (other rounding); 4 did on
    # both seeds tried there, while 3.5 repeated sentences (README, "The demo model")
    epochs: float = field(default=4.0, metadata={"help": "passes over the corpus for each model"})
    lr: float = field(default=3e-3, metadata={"help": "peak learning rate"})
    batch_size: int = field(default=8, metadata={"help": "blocks per step"})
    block_size: int = field(default=256, metadata={"help": "tokens per block"})
    max_new_tokens: int = field(default=48, metadata={"help": "text tokens per evaluation prompt"})
    eval_prompts: int = field(
        default=300, metadata={"help": "held-out prompts the build evaluates the LMLM on"}
    )
    entities_from_context: bool = field(
        default=True,
        metadata={
            "help": "decode the report's and the walkthrough's prompts with DecodingArgs.entities_from_context: "
            "a lookup of a name not yet written (another person's) is not asked"
        },
    )
    forget_relation: str = field(
        default="Place of birth",
        metadata={
            "help": "relation the forgetting check forgets for the evaluated people",
            "choices": tuple(SLOTS.values()),
        },
    )

    def __post_init__(self) -> None:
        for flag, value, ok, need in (
            ("--people", self.people, self.people >= 10, ">= 10"),
            ("--vocab-size", self.vocab_size, self.vocab_size >= 257, ">= 257"),
            ("--epochs", self.epochs, self.epochs > 0, "> 0"),
            ("--lr", self.lr, self.lr > 0, "> 0"),
            ("--batch-size", self.batch_size, self.batch_size >= 1, ">= 1"),
            ("--block-size", self.block_size, self.block_size >= 16, ">= 16"),
            ("--max-new-tokens", self.max_new_tokens, self.max_new_tokens >= 1, ">= 1"),
            ("--eval-prompts", self.eval_prompts, self.eval_prompts >= 1, ">= 1"),
            ("--facts-per-biography", self.facts_per_biography, self.facts_per_biography >= 0, ">= 0"),
            ("--absent-share", self.absent_share, 0 <= self.absent_share < 1, "in [0, 1)"),
            ("--relation-order", self.relation_order, self.relation_order in RELATION_ORDERS, _ORDERS),
            ("--forget-relation", self.forget_relation, self.forget_relation in SLOTS.values(), _RELATIONS),
        ):
            if not ok:
                raise ValueError(f"{flag} must be {need}, got {value!r}")


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def world(self) -> Path:
        return self.root / "world"

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer"

    def run(self, mode: str) -> Path:
        return self.root / "runs" / mode

    def model(self, mode: str) -> Path:
        return self.root / "models" / mode

    @property
    def kg(self) -> Path:
        return self.root / "kg"

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    @property
    def stamps(self) -> Path:
        return self.root / "build.json"

    def entities_from_context(self) -> bool:
        """How the built demo's report decoded (``DecodingArgs.entities_from_context``), so that the
        app and ``lmlm generate`` decode its models alike; ``DemoConfig``'s default before a build."""
        try:
            decoding = json.loads(self.report.read_text(encoding="utf-8"))["decoding"]
            return bool(decoding["entities_from_context"])
        except (OSError, ValueError, KeyError, TypeError):
            return DemoConfig().entities_from_context


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Stamps:
    """Which stage was built with which settings (``build.json``)."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def fresh(self, stage: str, key: str) -> bool:
        return self.data.get(stage, {}).get("key") == key

    def done(self, stage: str, key: str, seconds: float) -> None:
        self.data[stage] = {"key": key, "seconds": round(seconds, 1)}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2), encoding="utf-8")
        tmp.replace(self.path)


def build_demo(
    root: Path,
    config: DemoConfig | None = None,
    *,
    force: bool = False,
    say: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict:
    """Builds (or reuses) every stage; returns the evaluation report."""
    config = config or DemoConfig()
    paths = DemoPaths(Path(root))
    paths.root.mkdir(parents=True, exist_ok=True)
    stamps = _Stamps(paths.stamps)
    world_key = _key(
        "world",
        config.people,
        config.seed,
        config.variants,
        config.facts_per_biography,
        config.relation_order,
        config.absent_share,
        "given",
        "complete",
    )
    tok_key = _key(world_key, config.vocab_size)
    train_key = _key(tok_key, config.preset, config.epochs, config.lr, config.batch_size, config.block_size)
    stages = [
        ("world", world_key, lambda: _build_world(paths, config)),
        ("tokenizer", tok_key, lambda: _build_tokenizer(paths, config)),
        ("lmlm", _key(train_key, "lmlm"), lambda: _build_model(paths, config, "lmlm", show_progress)),
        (
            "standard",
            _key(train_key, "standard"),
            lambda: _build_model(paths, config, "standard", show_progress),
        ),
        ("kg", _key(world_key, "kg"), lambda: _build_store(paths)),
        (
            "report",
            _key(
                train_key,
                config.max_new_tokens,
                config.eval_prompts,
                config.forget_relation,
                config.entities_from_context,
            ),
            lambda: _evaluate(paths, config),
        ),
    ]
    rebuild = force
    for name, key, build in stages:
        if not rebuild and stamps.fresh(name, key):
            continue
        rebuild = True  # every later stage depends on this one
        say(f"demo build: {name} ...")
        start = time.perf_counter()
        build()
        stamps.done(name, key, time.perf_counter() - start)
        say(f"demo build: {name} done in {time.perf_counter() - start:.0f} s")
    report = json.loads(paths.report.read_text(encoding="utf-8"))
    if rebuild:  # the build's own stage times (as measured; the report stage included)
        report["stages"] = {name: stamps.data[name]["seconds"] for name, _, _ in stages}
        _write_report(paths, report)
    return report


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


def _build_world(paths: DemoPaths, config: DemoConfig) -> None:
    from lmlm.train.world.data import WorldDataConfig, write_world

    _fresh_dir(paths.world)
    # Given + family names from fixed lists, so a tiny model learns to copy names rather than
    # recall them; every person complete (each has every relation), and a share of the trained
    # people's facts kept out of the store, so the corpus shows what a miss looks like.
    world = WorldDataConfig(
        people=config.people,
        seed=config.seed,
        variants=config.variants,
        names="given",
        complete=True,
        facts_per_biography=config.facts_per_biography,
        relation_order=config.relation_order,
        absent_share=config.absent_share,
    )
    write_world(paths.world, world)


def _build_tokenizer(paths: DemoPaths, config: DemoConfig) -> None:
    from lmlm.train.corpus import load_documents
    from lmlm.train.tokenizer import train_tokenizer

    _fresh_dir(paths.tokenizer)
    docs = load_documents(paths.world)
    train_tokenizer([d.annotated for d in docs], paths.tokenizer, vocab_size=config.vocab_size)


def _build_model(paths: DemoPaths, config: DemoConfig, mode: str, show_progress: bool) -> None:
    from lmlm.train.corpus import load_documents
    from lmlm.train.pretrain import pretrain
    from lmlm.train.pretrain_args import PretrainArgs

    run, final = paths.run(mode), paths.model(mode)
    _fresh_dir(run)
    args = PretrainArgs(
        out_dir=str(run),
        tokenizer=str(paths.tokenizer),
        preset=config.preset,
        mode=mode,
        epochs=config.epochs,
        batch_size=config.batch_size,
        block_size=config.block_size,
        lr=config.lr,
        seed=config.seed,
        eval_data=str(paths.world / "corpus" / "eval.jsonl"),
    )
    result = pretrain(args, train_docs=load_documents(paths.world), show_progress=show_progress)
    _fresh_dir(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(result.final_dir, final)


def _build_store(paths: DemoPaths) -> None:
    from lmlm.kg import KnowledgeGraph

    _fresh_dir(paths.kg)
    with KnowledgeGraph.open(paths.kg) as kg:
        kg.import_files([paths.world / "triples.jsonl"], fmt="jsonl")


def _evaluate(paths: DemoPaths, config: DemoConfig) -> dict:
    from lmlm.demo_report import evaluate_demo

    report = evaluate_demo(paths, config)
    _write_report(paths, report)
    return report


def _write_report(paths: DemoPaths, report: dict) -> None:
    tmp = paths.report.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(paths.report)
