"""Annotation quality on ground truth: a small annotator trained here, scored against the world.

    python -m lmlm.evaluation.annotation_quality --out results/annotation-quality

1. A generated world (:mod:`lmlm.train.world`): biographies of the trained people with every fact
   annotated; a share of the people are held out (no biography of them is used in training).
2. A base model built here: a byte-level BPE tokenizer with a chat template, and a small Llama
   (``--preset``) pretrained briefly on the trained people's biographies, each raw and then
   annotated in one document (``lmlm.train.pretrain``, standard mode), so that it knows the words
   and the call syntax and has learnt to copy names and values from its context.
3. ``lmlm train annotator`` on it: LoRA, TRL SFT on (raw -> annotated) pairs of those biographies.
4. New biographies of held-out people, annotated by the pipeline with the local backend
   (``lmlm.annotation.annotate``: validation, repair, cleaning, extraction).
5. Scores: the share of texts that survive annotation unchanged (and that are accepted); triple
   precision against the world's facts (a triple is right if the world holds it) and against the
   facts the biography states; recall of the facts each biography states; per relation.

It also checks the paper's annotated samples (``shared/data/lmlm-paper``) the same way, as the
reference of real annotators (GPT-4o, the paper's Llama-3.1-8B annotator): the share of calls
that parse, of texts preserved exactly, and the pipeline's verdicts (exact, repaired, rejected).

Writes ``annotation_quality.json`` and ``annotation_quality.png`` under ``--out``.

Measured on the 2-core development machine (shared with other jobs): at the sizes it allows in
tens of minutes (``tiny-2m``, 170-415 pretraining steps of 4k tokens, 300 LoRA steps), the base
model does not learn to copy a passage from its context, so the annotator writes a plausible
biography of somebody else instead of copying the text: every held-out text is rejected and no
triple is extracted. The script is the measurement; a meaningful annotator needs a base that can
copy (a larger ``--preset``, many more ``--pretrain-epochs``, a GPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmlm.annotation import BackendConfig, RunConfig, annotate, validate_annotation
from lmlm.cli.common import add_dataclass_arguments, dataclass_from_args
from lmlm.kg.facts import normalize_key
from lmlm.kg.syntax import parse_annotated, strip_lookups
from lmlm.train.annotator import ANNOTATOR_SYSTEM_PROMPT, AnnotatorArgs, train_annotator
from lmlm.train.corpus import Document
from lmlm.train.pretrain import PretrainArgs, pretrain
from lmlm.train.tokenizer import train_tokenizer
from lmlm.train.world import WorldConfig, WorldDataConfig, generate_world, write_world
from lmlm.train.world.biographies import write_biography

logger = logging.getLogger(__name__)

CHAT_TEMPLATE = (
    "{% for m in messages %}### {{ m['role'] }}\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}### assistant\n{% endif %}"
)
PAPER_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lmlm-paper"
_EVAL_VARIANT = 999
_SENTENCE = re.compile(r"(?<=[.!?])\s+")  # seeds the held-out biographies apart from any training variant


@dataclass(frozen=True)
class QualityConfig:
    """Sizes of the experiment; each field is a flag."""

    out: str = field(default="", metadata={"help": "output directory"})
    people: int = field(default=1000, metadata={"help": "people in the world"})
    heldout: float = field(default=0.1, metadata={"help": "share of people held out of all training"})
    variants: int = field(default=1, metadata={"help": "training biographies per trained person"})
    eval_docs: int = field(default=60, metadata={"help": "held-out biographies annotated and scored"})
    seed: int = field(default=0, metadata={"help": "world and training seed"})
    names: str = field(
        default="given", metadata={"help": "person names: syllables or given (lmlm data world)"}
    )
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: torch's default)"})
    vocab_size: int = field(default=2048, metadata={"help": "tokenizer vocabulary"})
    preset: str = field(default="tiny-2m", metadata={"help": "base model architecture (lmlm.train.presets)"})
    pretrain_epochs: float = field(default=6.0, metadata={"help": "base pretraining epochs on world text"})
    sft_steps: int = field(default=300, metadata={"help": "annotator fine-tuning steps (LoRA)"})
    sft_batch_size: int = field(default=4, metadata={"help": "fine-tuning batch size"})
    lora_r: int = field(default=64, metadata={"help": "LoRA rank"})
    lr: float = field(default=2e-3, metadata={"help": "fine-tuning peak learning rate"})
    batch_size: int = field(default=8, metadata={"help": "texts annotated together"})
    paper_data: str = field(default=str(PAPER_DATA), metadata={"help": "the paper's samples ('' to skip)"})

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
        if not 0 < self.heldout < 1:
            raise ValueError(f"--heldout must be in (0, 1), got {self.heldout}")


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
        gold = [_key(c.entity, c.relation, c.value) for c in parse_annotated(annotated).calls]
        docs.append(
            {
                "id": f"heldout-{n}",
                "person": person.name,
                "text": raw,
                "annotated_text": annotated,
                "gold": gold,
            }
        )
    truth = {_key(t.entity, t.relation, t.value) for t in world.triples}
    return world_dir, docs, truth


def _key(entity: str, relation: str, value: str) -> tuple[str, str, str]:
    return normalize_key(entity), normalize_key(relation), normalize_key(value)


def _pretraining_texts(world_dir: Path, seed: int) -> list[str]:
    """World text that teaches a small model to copy from its context, which annotating asks.

    Two kinds of document per training biography: the raw text, then the same text annotated; and
    a passage of sentences drawn from any biographies, then the same passage again. A small model
    learns to copy only when copying is the easiest way to lower its loss (see the demo model in
    README.md): the second half of a repeated passage can be predicted in no other way.
    """
    rows = [json.loads(line) for line in (world_dir / "corpus" / "train.jsonl").read_text().splitlines()]
    sentences = [s for row in rows for s in _SENTENCE.split(row["text"]) if s]
    rng = random.Random(seed)
    texts = []
    for row in rows:
        passage = " ".join(rng.sample(sentences, min(len(sentences), rng.randint(3, 6))))
        texts += [f"{row['text']}\n\n{row['annotated_text']}", f"{passage}\n\n{passage}"]
    return texts


# ---------------------------------------------------------------------------------------------
# Models


def build_base(config: QualityConfig, world_dir: Path, out: Path) -> Path:
    """A tokenizer with a chat template and a small Llama pretrained on the world's text."""
    texts = _pretraining_texts(world_dir, config.seed)
    tok_dir = out / "tokenizer"
    tokenizer = train_tokenizer(texts + [ANNOTATOR_SYSTEM_PROMPT] * 20, tok_dir, vocab_size=config.vocab_size)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(tok_dir)
    args = PretrainArgs(
        out_dir=str(out / "base"),
        tokenizer=str(tok_dir),
        preset=config.preset,
        mode="standard",
        epochs=config.pretrain_epochs,
        block_size=512,
        batch_size=8,
        lr=2e-3,
        eval_fraction=0.02,
        seed=config.seed,
        precision="fp32",
    )
    docs = [Document(str(i), text, "") for i, text in enumerate(texts)]
    result = pretrain(args, train_docs=docs, show_progress=True)
    return result.final_dir


def train(config: QualityConfig, base: Path, world_dir: Path, out: Path):
    args = AnnotatorArgs(
        base_model=str(base),
        data=(str(world_dir / "corpus" / "train.jsonl"),),
        out_dir=str(out / "annotator"),
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
# Scores


def score(docs: list[dict], truth: set, report: dict, triples_path: Path) -> dict:
    """Precision and recall of the triples the pipeline extracted, and the text checks."""
    predicted: dict[str, set] = {}
    for line in triples_path.read_text().splitlines():
        t = json.loads(line)
        predicted.setdefault(t["source"], set()).add(_key(t["entity"], t["relation"], t["value"]))
    n_pred = n_true = n_stated = n_gold = 0
    per_relation: dict[str, Counter] = {}
    for doc in docs:
        pred, gold = predicted.get(doc["id"], set()), set(map(tuple, doc["gold"]))
        n_pred += len(pred)
        n_true += len(pred & truth)
        n_stated += len(pred & gold)
        n_gold += len(gold)
        for key in gold:
            counts = per_relation.setdefault(key[1], Counter())
            counts["gold"] += 1
            counts["found"] += key in pred
    totals = report["directory"]
    return {
        "documents": len(docs),
        "text_preserved_share": totals["text_preserved"] / len(docs),
        "accepted_share": totals["accepted"] / len(docs),
        "exact": totals["exact"],
        "repaired": totals["repaired"],
        "rejected": totals["rejected"],
        "rejected_reasons": totals["rejected_reasons"],
        "repairs": totals["repairs"],
        "predicted_triples": n_pred,
        "gold_triples": n_gold,
        "precision_world": n_true / n_pred if n_pred else 0.0,
        "precision_stated": n_stated / n_pred if n_pred else 0.0,
        "recall": n_stated / n_gold if n_gold else 0.0,
        "recall_by_relation": {rel: c["found"] / c["gold"] for rel, c in sorted(per_relation.items())},
    }


def check_paper_samples(folder: Path) -> list[dict]:
    """The same checks on the paper's annotated files: calls that parse, text preserved, verdicts."""
    rows = []
    for path in sorted(folder.glob("*_cleaned.json")):
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        calls = problems = preserved = 0
        verdicts: Counter = Counter()
        reasons: Counter = Counter()
        for ex in examples:
            parsed = parse_annotated(ex["annotated_text"])
            calls += len(parsed.calls)
            problems += len(parsed.problems)
            preserved += strip_lookups(ex["annotated_text"]) == ex["text"]
            verdict = validate_annotation(ex["text"], ex["annotated_text"])
            verdicts[verdict.status] += 1
            reasons[verdict.reason] += verdict.status == "rejected"
        rows.append(
            {
                "file": path.name,
                "annotator": examples[0].get("model_id") if examples else None,
                "documents": len(examples),
                "calls": calls + problems,
                "calls_parsed_share": calls / max(1, calls + problems),
                "text_preserved_share": preserved / max(1, len(examples)),
                "verdicts": dict(verdicts),
                "rejected_reasons": {k: v for k, v in reasons.items() if v},
            }
        )
    return rows


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
    out.mkdir(parents=True, exist_ok=True)
    world_dir, docs, truth = build_world(config, out)
    base = build_base(config, world_dir, out)
    trained = train(config, base, world_dir, out)
    inputs = out / "heldout.jsonl"
    inputs.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
    report = annotate(
        [inputs],
        RunConfig(out=str(out / "annotated"), resume=(out / "annotated" / "run.json").exists()),
        BackendConfig(
            backend="local", model=str(trained.adapter_dir), batch_size=config.batch_size, device="cpu"
        ),
        show_progress=True,
    )
    result = {
        "settings": asdict(config),
        "annotator": {
            "train_loss": trained.train_loss,
            "eval_loss": trained.eval_loss,
            "adapter": str(trained.adapter_dir),
        },
        "heldout": score(docs, truth, report, Path(report["files"]["triples.jsonl"])),
        "annotation_seconds": report["this_run"]["seconds"],
        "paper_samples": check_paper_samples(Path(config.paper_data))
        if config.paper_data and Path(config.paper_data).is_dir()
        else [],
    }
    (out / "annotation_quality.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, out / "annotation_quality.png")
    return result


def plot(result: dict, path: Path) -> Path:
    """Bars: the trained annotator's scores, and the paper annotators' text checks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    held = result["heldout"]
    names = ["text preserved", "accepted", "precision (world)", "precision (stated)", "recall"]
    values = [
        held["text_preserved_share"],
        held["accepted_share"],
        held["precision_world"],
        held["precision_stated"],
        held["recall"],
    ]
    ax.bar(range(len(names)), values, color="tab:blue")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title(f"annotator trained here, {held['documents']} held-out biographies")
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
    held = result["heldout"]
    print(json.dumps({k: v for k, v in held.items() if k != "recall_by_relation"}, indent=2))
    for row in result["paper_samples"]:
        print(
            f"{row['file']}: calls parsed {row['calls_parsed_share']:.3f}, text preserved "
            f"{row['text_preserved_share']:.3f}, verdicts {row['verdicts']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
