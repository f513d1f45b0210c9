"""Compare the resolver's fuzzy modes (``flat`` vs ``structured``) on a paraphrase set built from the
paper's released samples.

    python -m lmlm.evaluation.fuzzy_modes --data shared/data/lmlm-paper [--out results/fuzzy_modes]

The store holds the triples of the paper's extracted database and of its annotated evaluation
documents. Queries, each derived from a stored fact:

- ``reworded``: the relation said another way (``Birth Date`` -> ``date of birth``, synonyms);
- ``misspelt``: a letter of the entity's longest word dropped, swapped, replaced or added;
- ``case``: the entity upper-cased with extra spaces (the exact path catches these);
- ``absent_relation``: a stored entity with a relation it does not have (should miss);
- ``absent_entity``: an entity that is not stored with a stored relation (should miss).

The edits and synonyms are :mod:`lmlm.evaluation.perturbations`'s, shared with the benchmarks.

Reports, per mode and threshold setting: precision of returned values (right value / values
returned), recall on present facts, and the false-answer rate on absent facts. Writes JSON and a PNG.
"""

from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from lmlm.kg.facts import Triple, normalize_key
from lmlm.kg.formats import ReadReport, read_triples
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store
from lmlm.kg.resolver import ResolverConfig

from .entry_point import parse_script_args, write_json
from .perturbations import absent_name, misspell, reword, shout

FILES = [
    "dwiki-eval100-annotator_database.json",
    "dwiki-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
    "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
]


@dataclass(frozen=True)
class FuzzyModesArgs:
    data: str = field(
        metadata={"help": f"directory of the paper's released samples, with {', '.join(FILES)}"}
    )
    per_kind: int = field(default=300, metadata={"help": "queries of each kind"})
    seed: int = field(default=0, metadata={"help": "random seed for the queries"})
    out: str = field(default="results/fuzzy_modes", metadata={"help": "output directory (JSON and PNG)"})

    def __post_init__(self) -> None:
        if self.per_kind < 1:
            raise ValueError(f"--per-kind must be >= 1, got {self.per_kind}")
        if not Path(self.data).is_dir():
            raise ValueError(f"--data {self.data}: no such directory")
        missing = [name for name in FILES if not (Path(self.data) / name).is_file()]
        if missing:
            raise ValueError(f"--data {self.data}: missing {', '.join(missing)}")


@dataclass(frozen=True)
class Query:
    kind: str
    entity: str
    relation: str
    gold: frozenset[str]  # normalised acceptable values; empty when the fact is absent


def build_queries(triples: list[Triple], rng: random.Random, per_kind: int) -> list[Query]:
    values: dict[tuple[str, str], set[str]] = {}
    relations_of: dict[str, set[str]] = {}
    for t in triples:
        values.setdefault(t.key, set()).add(normalize_key(t.value))
        relations_of.setdefault(t.key[0], set()).add(t.key[1])
    all_relations = sorted({t.relation for t in triples})
    entities = sorted({t.entity for t in triples})
    sample = rng.sample(triples, len(triples))
    queries: list[Query] = []

    def gold(t: Triple) -> frozenset[str]:
        return frozenset(values[t.key])

    for kind, make in [
        ("reworded", lambda t: (t.entity, reword(t.relation))),
        ("misspelt", lambda t: (misspell(t.entity, rng), t.relation)),
        ("case", lambda t: (shout(t.entity), t.relation.lower())),
    ]:
        made = 0
        for t in sample:
            entity, relation = make(t)
            if entity and relation and (normalize_key(entity), normalize_key(relation)) not in values:
                queries.append(Query(kind, entity, relation, gold(t)))
                made += 1
            elif kind == "case" and entity:
                queries.append(Query(kind, entity, relation, gold(t)))
                made += 1
            if made >= per_kind:
                break
    made = 0
    for t in sample:
        relation = rng.choice(all_relations)
        if normalize_key(relation) not in relations_of[t.key[0]] and reword(relation) is not None:
            queries.append(Query("absent_relation", t.entity, relation, frozenset()))
            made += 1
        if made >= per_kind:
            break
    made = 0
    known = {normalize_key(e) for e in entities}
    for t in sample:
        fake = absent_name(rng.choice(entities))
        if normalize_key(fake) not in known:
            queries.append(Query("absent_entity", fake, t.relation, frozenset()))
            made += 1
        if made >= per_kind:
            break
    return queries


def evaluate(kg: KnowledgeGraph, queries: list[Query], config: ResolverConfig) -> dict:
    answers = kg.resolver(config).resolve_many([(q.entity, q.relation) for q in queries])
    by_kind: dict[str, dict] = {}
    for q, a in zip(queries, answers):
        row = by_kind.setdefault(q.kind, {"n": 0, "returned": 0, "right": 0})
        row["n"] += 1
        if a.value is not None:
            row["returned"] += 1
            row["right"] += normalize_key(a.value) in q.gold
    present = [k for k in by_kind if not k.startswith("absent")]
    absent = [k for k in by_kind if k.startswith("absent")]
    returned = sum(by_kind[k]["returned"] for k in present)
    right = sum(by_kind[k]["right"] for k in present)
    n_present = sum(by_kind[k]["n"] for k in present)
    false_answers = sum(by_kind[k]["returned"] for k in absent)
    n_absent = sum(by_kind[k]["n"] for k in absent)
    all_returned = returned + false_answers
    return {
        "precision": round(right / all_returned, 4) if all_returned else 0.0,
        "recall": round(right / n_present, 4) if n_present else 0.0,
        "false_answer_rate": round(false_answers / n_absent, 4) if n_absent else 0.0,
        "by_kind": by_kind,
    }


SETTINGS = [
    ("flat", ResolverConfig(mode="flat", threshold=0.6)),
    ("flat@0.7", ResolverConfig(mode="flat", threshold=0.7)),
    ("flat@0.8", ResolverConfig(mode="flat", threshold=0.8)),
    ("structured (default)", ResolverConfig(mode="structured")),  # entity 0.65, relation 0.65
    (
        "structured e0.75 r0.6",
        ResolverConfig(mode="structured", entity_threshold=0.75, relation_threshold=0.6),
    ),
    ("structured e0.8 r0.5", ResolverConfig(mode="structured", entity_threshold=0.8, relation_threshold=0.5)),
    ("structured e0.7 r0.7", ResolverConfig(mode="structured", entity_threshold=0.7, relation_threshold=0.7)),
    ("structured e0.7 r0.6", ResolverConfig(mode="structured", entity_threshold=0.7, relation_threshold=0.6)),
    (
        "structured e0.65 r0.65",
        ResolverConfig(mode="structured", entity_threshold=0.65, relation_threshold=0.65),
    ),
]


def run(args: FuzzyModesArgs) -> dict:
    """The report: facts, query counts by kind, and each setting's results (see :func:`evaluate`)."""
    triples: list[Triple] = []
    for name in FILES:
        triples += list(read_triples(Path(args.data) / name, report=ReadReport()))
    rng = random.Random(args.seed)
    queries = build_queries(triples, rng, args.per_kind)
    with tempfile.TemporaryDirectory(prefix="lmlm-fuzzy-modes-") as tmp:
        with KnowledgeGraph(open_store(Path(tmp) / "store")) as kg:
            kg.import_triples(triples)
            kg.build_fuzzy_index(show_progress=True)
            results = {
                name: evaluate(kg, queries, config) for name, config in tqdm(SETTINGS, desc="settings")
            }
    counts: dict[str, int] = {}
    for q in queries:
        counts[q.kind] = counts.get(q.kind, 0) + 1
    return {"facts": len(triples), "queries": counts, "results": results}


def print_report(report: dict) -> None:
    print(f"{report['facts']} facts; queries: {report['queries']}\n")
    print(f"{'setting':<24}{'precision':>10}{'recall':>8}{'false-ans':>10}   right/n by kind")
    for name, r in report["results"].items():
        kinds = "  ".join(
            f"{k}:{v['right']}/{v['n']}"
            if not k.startswith("absent")
            else f"{k}:{v['returned']}/{v['n']} ans"
            for k, v in r["by_kind"].items()
        )
        print(
            f"{name:<24}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['false_answer_rate']:>10.3f}   {kinds}"
        )


def main(argv=None) -> int:
    args = parse_script_args(FuzzyModesArgs, argv, __doc__)
    report = run(args)
    out = Path(args.out)
    write_json(out / "fuzzy_modes.json", report)
    print_report(report)
    plot(report["results"], out / "fuzzy_modes.png")
    print(f"\nwrote {out / 'fuzzy_modes.json'} and fuzzy_modes.png")
    return 0


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, r in results.items():
        marker = "o" if name.startswith("structured") else "s"
        ax.scatter(r["false_answer_rate"], r["precision"], marker=marker, s=50)
        ax.annotate(
            re.sub(r"\s+", " ", name),
            (r["false_answer_rate"], r["precision"]),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xlabel("false-answer rate on absent facts (lower is better)")
    ax.set_ylabel("precision of returned values (higher is better)")
    ax.set_title("Fuzzy resolver modes on the paper's samples")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
