"""Factual precision on held-out people, grounded in the generated world: no LLM, exact.

:func:`run_precision` generates from the world's held-out prompts (people whose biographies the
models never saw; their facts are in the store) with the LMLM and its store, the LMLM without
lookups and the Standard model, and scores each with
:func:`lmlm.evaluation.grounded_precision.score_grounded`: every claim is read back with the
world's sentence templates as (subject, relation, value) and is true only if the world holds that
value for that subject and relation; values in the wrong slot, invented values and repeated
sentences are counted too, and "unknown" answers are misses, not claims.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.train.world.claims import ClaimReader, WorldTruth

from .entry_point import write_json
from .grounded_precision import score_grounded


@dataclass(frozen=True)
class PrecisionArgs:
    """What ``lmlm eval precision`` runs."""

    limit: int = field(default=300, metadata={"help": "held-out prompts, a seeded sample (0: all)"})
    max_new_tokens: int = field(default=48, metadata={"help": "text tokens generated per prompt"})

    def __post_init__(self) -> None:
        if self.limit < 0 or self.max_new_tokens < 1:
            raise ValueError(
                f"--limit must be >= 0 and --max-new-tokens >= 1, got {self.limit}, {self.max_new_tokens}"
            )


def run_precision(
    models,
    args: PrecisionArgs,
    out_dir: str | Path,
    *,
    show_progress: bool = True,
) -> dict:
    """Held-out prompts through three systems, each scored against the world; writes precision.json/.png
    and the generations (``precision_outputs.jsonl``, for ``lmlm eval factscore``)."""
    from .completion import spread
    from .systems import generate_texts, load_causal_lm, open_lmlm
    from .world_sets import WorldSets

    models = models.require("lmlm", "standard", "store", "world")
    world = WorldSets(models.world)
    prompts = spread(world.records("prompts"), args.limit)
    subjects = [p["person"] for p in prompts]
    generated: dict[str, list] = {}
    bar = tqdm(total=3, desc="precision", disable=not show_progress)

    def run(system: str, model, tokenizer, lookup: bool) -> None:
        outputs = generate_texts(
            model,
            tokenizer,
            [p["prompt"] for p in prompts],
            lookup=lookup,
            max_new_tokens=args.max_new_tokens,
            batch_size=models.batch_size,
        )
        generated[system] = outputs
        bar.update()

    with open_lmlm(models.lmlm, models.store, models.device) as (lmlm, _kg):
        run("lmlm", lmlm, lmlm.lmlm_tokenizer, True)
        run("lmlm_no_lookup", lmlm, lmlm.lmlm_tokenizer, False)
    model, tokenizer = load_causal_lm(models.standard, models.device)
    run("standard", model, tokenizer, False)
    bar.close()
    reader = ClaimReader(WorldTruth.from_world(world.world))
    scores = {system: score_grounded(o, subjects, reader).to_dict() for system, o in generated.items()}
    report = {"models": asdict(models), "settings": asdict(args), "prompts": len(prompts), "systems": scores}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "precision.json", report)
    with open(out / "precision_outputs.jsonl", "w", encoding="utf-8") as f:
        for k, p in enumerate(prompts):
            for system, outputs in generated.items():
                record = {
                    "id": p["id"],
                    "system": system,
                    "topic": p["person"],
                    "prompt": p["prompt"],
                    "output": outputs[k].text,
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    plot_precision(report, out / "precision.png")
    return report


def plot_precision(report: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    systems = report["systems"]
    fig = Figure(figsize=(5.5, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    bars = ax.bar(
        list(systems), [100 * (s["precision"] or 0) for s in systems.values()], color=["C1", "C2", "C0"]
    )
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("factual precision (%)")
    ax.set_title(f"held-out people, {report['prompts']} prompts")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
