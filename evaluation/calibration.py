"""Calibrate the structured resolver on one's own store: which thresholds answer the most reworded
and misspelt lookups right while keeping false answers under a cap.

    lmlm kg --store PATH calibrate [--max-hard 0.02] [--grid full] [--out DIR]

The queries are made from the store's own facts as :mod:`lmlm.evaluation.fuzzy_modes` makes them
(its :func:`~lmlm.evaluation.fuzzy_modes.build_queries`: the relation reworded, the entity
misspelt or re-cased; facts that do not exist; relations worded like a stored one that mean
another, "death date" for "Birth Date"; another entity's look-alike name), with the English
tables of :mod:`lmlm.evaluation.perturbations`. The settings of ``--grid`` are each run on them;
chosen is the one with the most answerable queries right, less ``--wrong-cost`` times the hard
negatives answered, among those that answer at most :data:`~lmlm.evaluation.fuzzy_modes.MAX_ABSENT`
of the absent facts and, with ``--max-hard``, at most that share of the hard negatives. When no
setting meets the cap, the one answering the fewest hard negatives is chosen and the report says
the cap is not met.

A store larger than ``--max-facts`` is sampled by entity (every fact of a sampled entity, so that
"the entity lacks this relation" is known); a made-up name or key that the store does hold after
all is dropped from the negatives. The store is only read. The report (default settings against
chosen, the flags that give the chosen one, the whole grid) is printed and, with ``--out``, written
as ``calibration.json`` and ``calibration.png``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.cli.common import dataclass_to_argv
from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import KnowledgeGraph
from lmlm.kg.resolver import ResolverConfig

from .calibration_args import MIN_FACTS, CalibrateArgs, GridName
from .entry_point import write_json
from .fuzzy_modes import (
    ANSWERABLE,
    MAX_ABSENT,
    Query,
    brief,
    build_queries,
    choose,
    evaluate,
    grid_configs,
    short,
)

# The quick grid keeps the calibrated entity threshold and contrasts and varies what moves the
# trade-off most on the paper's sets: the relation threshold, the margin and the snapping cosine.
QUICK_GRID = {
    "relation_threshold": (0.5, 0.55, 0.6, 0.65, 0.7),
    "relation_margin": (0.0, 0.1),
    "reference_cosine": (0.6, 0.7, 1.01),
}


def configs(grid: GridName) -> list[ResolverConfig]:
    if grid == "full":
        return grid_configs()
    base, names = ResolverConfig(), list(QUICK_GRID)
    return [replace(base, **dict(zip(names, values))) for values in itertools.product(*QUICK_GRID.values())]


def sample_triples(kg: KnowledgeGraph, max_facts: int, seed: int) -> list[Triple]:
    """Every fact of a sample of entities, about ``max_facts`` in all (the whole store when it is no
    larger). An entity is in the sample when a hash of its key and ``seed`` falls under the rate,
    so one pass reads the store and the sample holds no entity partly. Sorted, so that the queries
    made from it do not depend on the order a backend returns its facts in."""
    total = kg.store.count()
    rate = min(1.0, max_facts / total) if total else 1.0
    triples = []
    for fact in kg.store.iter_facts():
        if rate >= 1.0 or _unit(seed, fact.entity_key) < rate:
            triples.append(Triple(fact.entity, fact.relation, fact.value))
    return sorted(triples, key=lambda t: (t.key, t.value))


def _unit(seed: int, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def held_by_store(kg: KnowledgeGraph, queries: list[Query]) -> list[Query]:
    """The negative queries (absent facts, hard negatives) that the store holds after all: the key
    is stored, or, for a made-up name, the entity is (it may lie outside the sample)."""
    negatives = [q for q in queries if q.kind not in ANSWERABLE]
    stored = kg.store.lookup_many([(q.entity, q.relation) for q in negatives])
    names = sorted({q.entity for q in negatives if q.kind in ("absent_entity", "lookalike")})
    keys = dict(zip(names, kg.store.canonical_entity_keys(names)))  # aliases resolve
    held = {f.entity_key for f in kg.store.facts_of_entity_keys(sorted(set(keys.values())))}
    return [q for q, facts in zip(negatives, stored) if facts or keys.get(q.entity) in held]


def calibrate(kg: KnowledgeGraph, args: CalibrateArgs, *, progress: bool = True) -> dict:
    """The report of the module's docstring, for the store of ``kg`` (read only)."""
    triples = sample_triples(kg, args.max_facts, args.seed)
    if len(triples) < MIN_FACTS:
        raise ValueError(f"{kg.store.location}: {len(triples)} facts; calibration needs at least {MIN_FACTS}")
    queries = build_queries(triples, random.Random(args.seed), args.per_kind)
    dropped = set(map(id, held_by_store(kg, queries)))
    queries = [q for q in queries if id(q) not in dropped]
    kinds: dict[str, int] = {}
    for q in queries:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
    settings = configs(args.grid)
    grid = [
        (c, {"store": evaluate(kg, queries, c)})
        for c in tqdm(settings, desc="calibration grid", unit=" settings", disable=not progress)
    ]
    chosen = choose(grid, args.wrong_cost, max_hard=args.max_hard)
    chosen_metrics = next(r["store"] for c, r in grid if c is chosen)
    default = ResolverConfig()
    default_metrics = next((r["store"] for c, r in grid if c == default), None)
    default_metrics = default_metrics or evaluate(kg, queries, default)
    return {
        "store": kg.store.location,
        "facts_read": len(triples),
        "facts_in_store": kg.store.count(),
        "queries": kinds,
        "dropped_as_stored": len(dropped),
        "grid": args.grid,
        "max_hard": args.max_hard,
        "wrong_cost": args.wrong_cost,
        "max_absent": MAX_ABSENT,
        "cap_met": chosen_metrics["hard_answered"] <= args.max_hard
        and chosen_metrics["absent_answered"] <= MAX_ABSENT,
        "default": {"config": short(default), **_figures(default_metrics)},
        "chosen": {
            "config": short(chosen),
            "flags": dataclass_to_argv(chosen, exclude=("cache_size",)),
            **_figures(chosen_metrics),
        },
        "settings": [{"config": short(c), **brief(r["store"])} for c, r in grid],
    }


def _figures(metrics: dict) -> dict:
    return {**brief(metrics), "by_kind": metrics["by_kind"]}


def summary(report: dict) -> str:
    kinds = ", ".join(f"{k} {n}" for k, n in report["queries"].items())
    lines = [
        f"{report['store']}: {report['facts_read']} of {report['facts_in_store']} facts read; "
        f"queries: {kinds}",
        f"{'setting':<10}{'answerable right':>18}{'absent answered':>17}{'hard neg answered':>19}",
    ]
    for label in ("default", "chosen"):
        m = report[label]
        lines.append(
            f"{label:<10}{m['answerable_right']:>18.3f}{m['absent_answered']:>17.3f}{m['hard_answered']:>19.3f}"
        )
    cap = f"hard negatives <= {report['max_hard']:g}, absent facts <= {report['max_absent']:g}"
    if not report["cap_met"]:
        lines.append(f"NOTE: no setting of the {report['grid']} grid meets {cap}; chosen answers the fewest")
    flags = " ".join(report["chosen"]["flags"])
    lines.append(f"flags for the chosen setting: {flags or '(the defaults)'}")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.2))
    xs = [s["hard_answered"] for s in report["settings"]]
    ys = [s["answerable_right"] for s in report["settings"]]
    ax.scatter(xs, ys, s=8, color="0.7", label=f"{report['grid']} grid")
    for label, marker in (("default", "o"), ("chosen", "*")):
        m = report[label]
        ax.scatter(m["hard_answered"], m["answerable_right"], s=80, marker=marker, label=label)
    if report["max_hard"] < 1.0:
        ax.axvline(report["max_hard"], color="0.4", linestyle="--", linewidth=1, label="--max-hard")
    ax.set_xlabel("hard negatives answered")
    ax.set_ylabel("answerable queries right")
    ax.set_title(Path(str(report["store"])).name or str(report["store"]), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(report: dict, out: str | Path) -> list[Path]:
    """``calibration.json`` and ``calibration.png`` under ``out``."""
    out = Path(out)
    paths = [write_json(out / "calibration.json", report), out / "calibration.png"]
    plot(report, paths[1])
    return paths
