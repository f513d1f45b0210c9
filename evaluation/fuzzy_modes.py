"""Compare the resolver's fuzzy modes (``flat`` vs ``structured``) on a paraphrase set built from the
paper's released samples.

    python -m lmlm.evaluation.fuzzy_modes [--data ../shared/data/lmlm-paper] [--out results/fuzzy_modes]

The store holds the triples of the paper's extracted database and of its annotated evaluation
documents. Queries, each derived from a stored fact:

- ``reworded``: the relation said another way (``Birth Date`` -> ``date of birth``, synonyms);
- ``misspelt``: two letters of the entity swapped or one dropped;
- ``case``: the entity upper-cased with extra spaces (the exact path catches these);
- ``absent_relation``: a stored entity with a relation it does not have (should miss);
- ``absent_entity``: an entity that is not stored with a stored relation (should miss).

Reports, per mode and threshold setting: precision of returned values (right value / values
returned), recall on present facts, and the false-answer rate on absent facts. Writes JSON and a PNG.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lmlm.kg.facts import Triple, normalize_key
from lmlm.kg.formats import ReadReport, read_triples
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store
from lmlm.kg.resolver import ResolverConfig

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lmlm-paper"
FILES = [
    "dwiki-eval100-annotator_database.json",
    "dwiki-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
    "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json",
]

WORD_SYNONYMS = {
    "birth": "born",
    "birthplace": "place of birth",
    "death": "died",
    "date": "day",
    "place": "location",
    "location": "place",
    "located": "situated",
    "founded": "established",
    "established": "founded",
    "occupation": "profession",
    "nationality": "citizenship",
    "spouse": "married to",
    "father": "dad",
    "mother": "mom",
    "education": "studied at",
    "residence": "home",
    "award": "prize",
    "release": "released",
    "position": "role",
    "party": "affiliation",
    "label": "record company",
    "author": "written by",
    "director": "directed by",
    "owner": "owned by",
    "team": "club",
    "year": "year",
    "country": "nation",
    "origin": "provenance",
    "title": "name",
    "genre": "style",
    "population": "inhabitants",
    "capital": "capital city",
    "member": "part of",
    "headquarters": "head office",
    "language": "tongue",
    "religion": "faith",
    "affiliation": "associated with",
    "type": "kind",
    "role": "function",
    "artist": "performer",
}


@dataclass(frozen=True)
class Query:
    kind: str
    entity: str
    relation: str
    gold: frozenset[str]  # normalised acceptable values; empty when the fact is absent


def reword(relation: str) -> str | None:
    """Another way to say ``relation``, or None if no rule applies."""
    words = relation.replace("\\'", "'").split()
    if len(words) == 2 and words[0].lower() not in ("of", "in"):
        swapped = f"{words[1].lower()} of {words[0].lower()}"
        return swapped
    out = [WORD_SYNONYMS.get(w.lower(), w.lower()) for w in words]
    text = " ".join(out)
    return text if normalize_key(text) != normalize_key(relation) else None


def misspell(name: str, rng: random.Random) -> str | None:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 6:
        return None
    i = rng.choice(letters[1:-2])
    if rng.random() < 0.5:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


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
        ("case", lambda t: ("  " + t.entity.upper() + " ", t.relation.lower())),
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
        other = rng.choice(entities)
        words = other.split()
        fake = " ".join(reversed(words)) + " Junior" if len(words) > 1 else other + " Prime"
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/fuzzy_modes"))
    args = parser.parse_args(argv)

    triples: list[Triple] = []
    for name in FILES:
        triples += list(read_triples(args.data / name, report=ReadReport()))
    rng = random.Random(args.seed)
    queries = build_queries(triples, rng, args.per_kind)
    args.out.mkdir(parents=True, exist_ok=True)
    store_dir = args.out / "store"
    import shutil

    shutil.rmtree(store_dir, ignore_errors=True)
    with KnowledgeGraph(open_store(store_dir)) as kg:
        kg.import_triples(triples)
        kg.build_fuzzy_index(show_progress=True)
        results = {}
        for name, config in tqdm(SETTINGS, desc="settings"):
            results[name] = evaluate(kg, queries, config)
    shutil.rmtree(store_dir, ignore_errors=True)
    counts = {}
    for q in queries:
        counts[q.kind] = counts.get(q.kind, 0) + 1
    report = {"facts": len(triples), "queries": counts, "results": results}
    (args.out / "fuzzy_modes.json").write_text(json.dumps(report, indent=2))
    print(f"{len(triples)} facts; queries: {counts}\n")
    print(f"{'setting':<24}{'precision':>10}{'recall':>8}{'false-ans':>10}   right/n by kind")
    for name, r in results.items():
        kinds = "  ".join(
            f"{k}:{v['right']}/{v['n']}"
            if not k.startswith("absent")
            else f"{k}:{v['returned']}/{v['n']} ans"
            for k, v in r["by_kind"].items()
        )
        print(
            f"{name:<24}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['false_answer_rate']:>10.3f}   {kinds}"
        )
    plot(results, args.out / "fuzzy_modes.png")
    print(f"\nwrote {args.out / 'fuzzy_modes.json'} and fuzzy_modes.png")
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
