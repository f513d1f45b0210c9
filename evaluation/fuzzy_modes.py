"""The resolver's fuzzy path on reworded, misspelt and absent lookups: every set, every idea, and
the calibration of the structured mode's defaults.

    python -m lmlm.evaluation.fuzzy_modes --data shared/data/lmlm-paper [--out results/fuzzy_modes]

Sets (:data:`SETS`), each a store of its own: ``dwiki-eval100`` (the paper's extracted database
with its annotated dwiki-eval100 and squad-eval100 documents), ``dwiki-eval1k`` (annotated by the
paper's Llama annotator), ``world`` (the generated world: few relations, syllable names) and
``squad-train1k``. The first three calibrate, the last is held out (``--heldout``). Queries,
each derived from a stored fact (:func:`build_queries`, edits from
:mod:`lmlm.evaluation.perturbations`):

- answerable: ``reworded`` (the relation said another way), ``misspelt`` (a typo in the entity),
  ``case`` (upper case and stray spaces: the exact path);
- absent facts: ``absent_relation`` (a stored entity, another entity's relation it lacks),
  ``absent_entity`` (a name built from a stored one: words reversed plus "Junior");
- hard negatives: ``near_relation`` (a relation worded like one the entity has but meaning
  another: "death date" for "Birth Date", "mother" for "Father", "former employer"),
  ``lookalike`` (another entity's name: "Ingrid Itakura" for "Ko Itakura", "Symphony No. 6"),
  and ``absent_relation``.

Reported per set: the share of answerable queries answered right, of absent-fact queries
answered at all, and of hard negatives answered at all. Calibration: the structured settings of
:data:`GRID` on the calibration sets; chosen is the one with the most answerable queries right,
less ``--wrong-cost`` times the hard negatives answered (by default a wrong answer costs as much
as a missed one; at 2 the choice answers fewer reworded relations than the old default did),
among those that answer at most :data:`MAX_ABSENT` of the absent facts on every calibration set
(and, with ``--max-hard``, at most that share of the hard negatives). ``lmlm kg calibrate`` runs the
same calibration on queries made from one's own store (:mod:`lmlm.evaluation.calibration`).
The ideas (letter matching of names, acronyms, learned contrasts, the reference list, snapping both
relations to the reference list, the margin) are each switched off from the chosen setting. Writes
``fuzzy_modes.json`` and ``fuzzy_modes.png`` under ``--out``.
"""

from __future__ import annotations

import itertools
import logging
import random
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lmlm.kg.embedding import Embedder
from lmlm.kg.facts import Triple, normalize_key
from lmlm.kg.formats import ReadReport, read_triples
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store
from lmlm.kg.resolver import ResolverConfig

from .calibration_args import check_calibration
from .entry_point import parse_script_args, write_json
from .perturbations import absent_name, contrast, contrast_stems, lookalike, misspell, reword, shout

logger = logging.getLogger(__name__)

FILES = [
    "dwiki-eval100-annotator_database.json",
    "dwiki-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
    "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
]
SETS: dict[str, list[str]] = {  # name -> the paper's files it is read from; [] is the generated world
    "dwiki-eval100": FILES,
    "dwiki-eval1k": ["dwiki-eval1k_annotator_llama-v6.1_cleaned.json"],
    "world": [],
    "squad-train1k": ["squad-train1k_chatgpt_gpt4o-v7.1_cleaned.json"],
}
WORLD_PEOPLE = 400
ANSWERABLE = ("reworded", "misspelt", "case")
ABSENT = ("absent_relation", "absent_entity")
HARD = ("near_relation", "absent_relation", "lookalike")
MAX_ABSENT = 0.05
GRID = {
    "entity_threshold": (0.85, 0.9, 0.95),
    "relation_threshold": (0.45, 0.5, 0.55, 0.6, 0.65, 0.7),
    "relation_margin": (0.0, 0.05, 0.1),
    "contrasts": ("store+reference", "store", "reference", "none"),
    "reference_cosine": (0.6, 0.7, 0.8, 1.01),  # 1.01: off
}
OLD_DEFAULT = ResolverConfig(entity_threshold=0.65, relation_threshold=0.65, spelling=False, contrasts="none")


@dataclass(frozen=True)
class FuzzyModesArgs:
    data: str = field(metadata={"help": "directory of the paper's released samples (the files of --sets)"})
    sets: list[str] = field(default_factory=lambda: list(SETS), metadata={"help": "sets to build"})
    heldout: str = field(default="squad-train1k", metadata={"help": "the set left out of calibration"})
    per_kind: int = field(default=300, metadata={"help": "queries of each kind, per set"})
    seed: int = field(default=0, metadata={"help": "random seed for the queries and the world"})
    out: str = field(default="results/fuzzy_modes", metadata={"help": "output directory (JSON and PNG)"})
    wrong_cost: float = field(
        default=1.0, metadata={"help": "calibration: what a hard negative answered costs, in missed answers"}
    )
    max_hard: float = field(
        default=1.0,
        metadata={"help": "calibration: the largest share of hard negatives answered on any set; 1: no cap"},
    )

    def __post_init__(self) -> None:
        check_calibration(self.max_hard, self.wrong_cost, self.per_kind)
        check_sets(self.data, self.sets)
        if not [s for s in self.sets if s != self.heldout]:
            raise ValueError(f"--sets: every set is --heldout {self.heldout}; nothing to calibrate on")


def check_sets(data: str, sets: list[str]) -> None:
    """``--sets`` are known and ``--data`` holds their files, or a ValueError naming the flag."""
    unknown = [s for s in sets if s not in SETS]
    if unknown or not sets:
        raise ValueError(f"--sets: unknown {unknown or 'none given'}; choose from {', '.join(SETS)}")
    if not Path(data).is_dir():
        raise ValueError(f"--data {data}: no such directory")
    missing = [f for s in sets for f in SETS[s] if not (Path(data) / f).is_file()]
    if missing:
        raise ValueError(f"--data {data}: missing {', '.join(dict.fromkeys(missing))}")


@dataclass(frozen=True)
class Query:
    kind: str
    entity: str
    relation: str
    gold: frozenset[str]  # normalised acceptable values; empty when the fact is absent
    source: str = ""  # the stored relation the query was made from


class CachingEmbedder(Embedder):
    """An embedder that keeps every vector it made: the grid resolves the same texts many times."""

    def __init__(self) -> None:
        super().__init__(recent_queries=0)
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts, *, show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if new:
            self._memo.update(zip(new, super().encode(new, show_progress=show_progress)))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def load_set(name: str, data: Path, seed: int) -> list[Triple]:
    if not SETS[name]:
        from lmlm.train.world import WorldConfig, generate_world

        return list(generate_world(WorldConfig(people=WORLD_PEOPLE, seed=seed + 1)).triples)
    return [t for f in SETS[name] for t in read_triples(data / f, report=ReadReport())]


def build_queries(triples: list[Triple], rng: random.Random, per_kind: int) -> list[Query]:
    """Up to ``per_kind`` queries of each kind (see the module's docstring), from the facts in a
    random order; none of them but ``case`` is a stored key."""
    values: dict[tuple[str, str], set[str]] = {}
    relations_of: dict[str, set[str]] = {}
    for t in triples:
        values.setdefault(t.key, set()).add(normalize_key(t.value))
        relations_of.setdefault(t.key[0], set()).add(t.key[1])
    all_relations = sorted({t.relation for t in triples})
    queries: list[Query] = []
    made: dict[str, int] = dict.fromkeys(ANSWERABLE + ABSENT + HARD, 0)

    def absent_relation(t: Triple) -> str | None:
        relation = rng.choice(all_relations)
        lacks = normalize_key(relation) not in relations_of[t.key[0]]
        return relation if lacks and reword(relation) is not None else None

    def near_relation(t: Triple) -> str | None:
        relation = contrast(t.relation, rng)
        if relation is None:
            return None
        stems, have = contrast_stems(t.relation, relation), relations_of[t.key[0]]
        lacks = normalize_key(relation) not in have and not any(s in r for r in have for s in stems)
        return relation if lacks else None

    makers = {
        "reworded": lambda t: (t.entity, reword(t.relation, rng)),
        "misspelt": lambda t: (misspell(t.entity, rng), t.relation),
        "case": lambda t: (shout(t.entity), t.relation.lower()),
        "absent_relation": lambda t: (t.entity, absent_relation(t)),
        "absent_entity": lambda t: (absent_name(t.entity), t.relation),
        "near_relation": lambda t: (t.entity, near_relation(t)),
        "lookalike": lambda t: (lookalike(t.entity, rng), t.relation),
    }
    for t in rng.sample(triples, len(triples)):
        for kind, make in makers.items():
            if made[kind] >= per_kind:
                continue
            entity, relation = make(t)
            if not entity or not relation:
                continue
            key = (normalize_key(entity), normalize_key(relation))
            new_entity = key[0] not in relations_of
            if kind == "case" or (
                key not in values and (new_entity or kind not in ("absent_entity", "lookalike"))
            ):
                gold = frozenset(values[t.key]) if kind in ANSWERABLE else frozenset()
                queries.append(Query(kind, entity, relation, gold, t.relation))
                made[kind] += 1
    return queries


def evaluate(kg: KnowledgeGraph, queries: list[Query], config: ResolverConfig) -> dict:
    """Right, answered and total per kind, and the three shares of the module's docstring."""
    answers = kg.resolver(config).resolve_many([(q.entity, q.relation) for q in queries])
    by_kind: dict[str, dict[str, int]] = {}
    for q, a in zip(queries, answers):
        row = by_kind.setdefault(q.kind, {"n": 0, "answered": 0, "right": 0})
        row["n"] += 1
        row["answered"] += a.value is not None
        row["right"] += a.value is not None and normalize_key(a.value) in q.gold

    def share(kinds: tuple[str, ...], what: str) -> float:
        n = sum(by_kind[k]["n"] for k in kinds if k in by_kind)
        return round(sum(by_kind[k][what] for k in kinds if k in by_kind) / n, 4) if n else 0.0

    return {
        "answerable_right": share(ANSWERABLE, "right"),
        "absent_answered": share(ABSENT, "answered"),
        "hard_answered": share(HARD, "answered"),
        "by_kind": by_kind,
    }


def grid_configs() -> list[ResolverConfig]:
    names = list(GRID)
    return [ResolverConfig(**dict(zip(names, values))) for values in itertools.product(*GRID.values())]


def choose(
    results: list[tuple[ResolverConfig, dict[str, dict]]], wrong_cost: float = 1.0, *, max_hard: float = 1.0
) -> ResolverConfig:
    """The calibration rule of the module's docstring, over ``(config, {set: metrics})``. With
    ``max_hard``, only the settings answering at most that share of hard negatives on every set are
    feasible; when none is, the one answering the fewest (on average) is chosen."""

    def objective(per_set: dict[str, dict]) -> float:
        return float(
            np.mean([m["answerable_right"] - wrong_cost * m["hard_answered"] for m in per_set.values()])
        )

    def mean_hard(per_set: dict[str, dict]) -> float:
        return float(np.mean([m["hard_answered"] for m in per_set.values()]))

    few_absent = [
        (c, r) for c, r in results if all(m["absent_answered"] <= MAX_ABSENT for m in r.values())
    ] or results
    feasible = [(c, r) for c, r in few_absent if all(m["hard_answered"] <= max_hard for m in r.values())]
    if not feasible:
        return min(few_absent, key=lambda cr: (mean_hard(cr[1]), -objective(cr[1])))[0]
    return max(feasible, key=lambda cr: objective(cr[1]))[0]


def ideas(chosen: ResolverConfig) -> dict[str, ResolverConfig]:
    """The settings the report compares: the paper's flat mode, the old default, the calibrated
    one, and the calibrated one with each idea switched off or changed."""
    return {
        "flat 0.6 (paper)": ResolverConfig(mode="flat", threshold=0.6),
        "structured, old default": OLD_DEFAULT,
        "calibrated": chosen,
        "- letter matching of names": replace(chosen, spelling=False),
        "- acronyms": replace(chosen, acronyms=False),
        "- learned contrasts (store)": replace(
            chosen, contrasts="reference" if "reference" in chosen.contrasts else "none"
        ),
        "- reference list": replace(chosen, contrasts="store" if "store" in chosen.contrasts else "none"),
        "- reference snapping": replace(chosen, reference_cosine=1.01),
        "- all contrasts": replace(chosen, contrasts="none"),
        "margin 0.1": replace(chosen, relation_margin=0.1),
        "relation 0.65 (old)": replace(chosen, relation_threshold=0.65),
    }


def run(args: FuzzyModesArgs) -> dict:
    rng = random.Random(args.seed)
    embedder = CachingEmbedder()
    calibration = [s for s in args.sets if s != args.heldout]
    report: dict = {"sets": {}, "calibration_sets": calibration, "heldout": args.heldout}
    graphs, queries = {}, {}
    with tempfile.TemporaryDirectory(prefix="lmlm-fuzzy-modes-") as tmp:
        for name in args.sets:
            triples = load_set(name, Path(args.data), args.seed)
            graph = KnowledgeGraph(
                open_store(Path(tmp) / name / "store"),
                index_dir=Path(tmp) / name / "index",
                embedder=embedder,
            )
            graph.import_triples(triples)
            graph.build_fuzzy_index(show_progress=True)
            graphs[name], queries[name] = graph, build_queries(triples, rng, args.per_kind)
            kinds: dict[str, int] = {}
            for q in queries[name]:
                kinds[q.kind] = kinds.get(q.kind, 0) + 1
            report["sets"][name] = {"facts": len(triples), "queries": kinds}
        configs = tqdm(grid_configs(), desc="calibration grid", unit=" settings")
        grid = [(c, {s: evaluate(graphs[s], queries[s], c) for s in calibration}) for c in configs]
        chosen = choose(grid, args.wrong_cost, max_hard=args.max_hard)
        report["grid"] = [{"config": short(c), **{s: brief(m) for s, m in r.items()}} for c, r in grid]
        report["chosen"] = short(chosen)
        report["defaults_are_calibrated"] = short(ResolverConfig()) == short(chosen)
        report["settings"] = {
            label: {
                "config": short(c),
                "results": {s: evaluate(graphs[s], queries[s], c) for s in args.sets},
            }
            for label, c in ideas(chosen).items()
        }
        for graph in graphs.values():
            graph.close()
    return report


def short(config: ResolverConfig) -> dict:
    keep = ("mode", "threshold") if config.mode == "flat" else ("mode", *GRID, "spelling", "acronyms")
    return {k: v for k, v in asdict(config).items() if k in keep}


def brief(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("answerable_right", "absent_answered", "hard_answered")}


def print_report(report: dict) -> None:
    for name, info in report["sets"].items():
        role = "held out" if name == report["heldout"] else "calibration"
        print(f"{name} ({role}): {info['facts']} facts; queries {info['queries']}")
    print(f"\ncalibrated on {', '.join(report['calibration_sets'])}: {report['chosen']}")
    if not report["defaults_are_calibrated"]:
        print("NOTE: ResolverConfig's defaults differ from this calibration")
    for name in report["sets"]:
        print(f"\n== {name}{' (held out)' if name == report['heldout'] else ''}")
        print(
            f"{'setting':<30}{'answerable right':>17}{'absent answered':>16}{'hard neg answered':>18}   by kind"
        )
        for label, s in report["settings"].items():
            m = s["results"][name]
            kinds = " ".join(
                f"{k}:{v['right' if k in ANSWERABLE else 'answered']}/{v['n']}"
                for k, v in m["by_kind"].items()
            )
            print(
                f"{label:<30}{m['answerable_right']:>17.3f}{m['absent_answered']:>16.3f}"
                f"{m['hard_answered']:>18.3f}   {kinds}"
            )


def main(argv=None) -> int:
    args = parse_script_args(FuzzyModesArgs, argv, __doc__)
    report = run(args)
    out = Path(args.out)
    write_json(out / "fuzzy_modes.json", report)
    print_report(report)
    plot(report, out / "fuzzy_modes.png")
    print(f"\nwrote {out / 'fuzzy_modes.json'} and fuzzy_modes.png")
    return 0


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["sets"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        if name in report["calibration_sets"]:
            xs = [g[name]["hard_answered"] for g in report["grid"]]
            ys = [g[name]["answerable_right"] for g in report["grid"]]
            ax.scatter(xs, ys, s=6, color="0.75", label="calibration grid")
        for label, s in report["settings"].items():
            m = s["results"][name]
            ax.scatter(m["hard_answered"], m["answerable_right"], s=30)
            ax.annotate(
                label,
                (m["hard_answered"], m["answerable_right"]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_title(f"{name}{' (held out)' if name == report['heldout'] else ''}", fontsize=9)
        ax.set_xlabel("hard negatives answered")
        ax.set_ylabel("answerable queries right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
