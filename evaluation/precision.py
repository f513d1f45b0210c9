"""Factual precision on held-out people, grounded in the generated world: no LLM, exact.

The seam is :data:`PrecisionScorer`: ``scorer(texts, subjects, world) -> PrecisionScore`` takes the
clean texts the systems wrote, the person each prompt is about and the generator's
:class:`~lmlm.train.world.World`. :func:`world_precision` is the default scorer:

* a **stated claim** is a mention in the text of a value the world knows (a place, an
  organisation, a date, a year, an occupation, an award, a person other than the subject), or of
  any date written ``D Month YYYY`` (so invented dates count too);
* it is **supported** when it is a value of one of the subject's facts, or of a fact about a place
  or organisation among those values, up to two hops away (``works for the Kalo Institute, founded
  in 1877``: the organisation's founding year; its town's country), since biographies state those;
* precision = supported / stated, over all texts.

:func:`run_precision` generates from the world's held-out prompts (people whose biographies the
models never saw; their facts are in the store) with the LMLM and its store, the LMLM without
lookups and the Standard model, and scores each with the scorer it is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.train.world import World

_DATE = re.compile(
    r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}\b"
)


@dataclass(frozen=True)
class PrecisionScore:
    texts: int
    stated: int
    supported: int
    examples_unsupported: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return round(self.supported / self.stated, 4) if self.stated else None

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "precision": self.precision,
            "claims_per_text": round(self.stated / max(1, self.texts), 3),
        }


PrecisionScorer = Callable[[Sequence[str], Sequence[str], World], PrecisionScore]


def _claim_pattern(world: World) -> re.Pattern:
    values = sorted(
        {t.value.strip() for t in world.triples if len(t.value.strip()) >= 3}, key=len, reverse=True
    )
    alternatives = [_DATE.pattern] + [re.escape(v) for v in values]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


def supported_values(world: World, subject: str, hops: int = 2) -> set[str]:
    """Values of the subject's facts and of facts about those that are places or organisations,
    ``hops`` deep (lower case). A relative's own facts are not the subject's."""
    facts = world.entity_facts
    people = {p.name for p in world.people}
    frontier, found = {subject}, set()
    for _ in range(hops + 1):
        values = {v for entity in frontier for v in facts.get(entity, {}).values()}
        frontier = {v for v in values - found if v not in people}
        found |= values
    return {v.lower() for v in found}


def world_precision(
    texts: Sequence[str], subjects: Sequence[str], world: World, *, examples: int = 10
) -> PrecisionScore:
    """The default exact scorer (see the module docstring)."""
    if len(texts) != len(subjects):
        raise ValueError(f"{len(texts)} texts for {len(subjects)} subjects")
    pattern = _claim_pattern(world)
    stated = supported = 0
    unsupported: list[dict] = []
    for text, subject in zip(texts, subjects):
        true = supported_values(world, subject)
        for match in pattern.finditer(text):
            claim = match.group(0)
            if claim == subject:
                continue
            stated += 1
            if claim.lower() in true:
                supported += 1
            elif len(unsupported) < examples:
                unsupported.append({"subject": subject, "claim": claim, "text": text})
    return PrecisionScore(len(texts), stated, supported, unsupported)


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
    scorer: PrecisionScorer = world_precision,
    show_progress: bool = True,
) -> dict:
    """Held-out prompts through three systems, each scored by ``scorer``; writes precision.json/.png
    and the generations (``precision_outputs.jsonl``, for ``lmlm eval factscore``)."""
    from .completion import spread
    from .systems import generate_texts, load_causal_lm, open_lmlm
    from .world_sets import WorldSets

    models = models.require("lmlm", "standard", "store", "world")
    world = WorldSets(models.world)
    prompts = spread(world.records("prompts"), args.limit)
    subjects = [p["person"] for p in prompts]
    texts: dict[str, list[str]] = {}
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
        texts[system] = [o.text for o in outputs]
        bar.update()

    with open_lmlm(models.lmlm, models.store, models.device) as (lmlm, _kg):
        run("lmlm", lmlm, lmlm.lmlm_tokenizer, True)
        run("lmlm_no_lookup", lmlm, lmlm.lmlm_tokenizer, False)
    model, tokenizer = load_causal_lm(models.standard, models.device)
    run("standard", model, tokenizer, False)
    bar.close()
    scores = {system: scorer(t, subjects, world.world).to_dict() for system, t in texts.items()}
    report = {"models": asdict(models), "settings": asdict(args), "prompts": len(prompts), "systems": scores}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "precision.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    with open(out / "precision_outputs.jsonl", "w", encoding="utf-8") as f:
        for k, p in enumerate(prompts):
            for system, t in texts.items():
                record = {
                    "id": p["id"],
                    "system": system,
                    "topic": p["person"],
                    "prompt": p["prompt"],
                    "output": t[k],
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
