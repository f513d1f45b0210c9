"""Knowledge-graph benchmark on generated triples: stores, exact lookups, fuzzy lookups, the index.

    python -m lmlm.evaluation.bench.kg_bench --facts 100000 [--neo4j bolt://...] [--out results/bench/kg.json]

Prints a table and writes JSON. Every speed figure comes with a baseline measured in the same run:
bulk import against one-edit-at-a-time `set_fact`, batched lookups against single lookups, fuzzy
lookups against the exact path, the compressed index against flat (size and recall@1), and index
build against plain sentence-transformers encoding. Targets (the issue's, for this 2-core machine)
are printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store
from lmlm.train.world import WorldConfig, generate_world

PEOPLE_PER_FACT = 1 / 6.3  # a generated person has about 6.3 facts (places and organisations add a few)


def world_triples(n_facts: int, seed: int) -> list[Triple]:
    world = generate_world(WorldConfig(people=max(3, int(n_facts * PEOPLE_PER_FACT)), seed=seed))
    return list(world.triples[:n_facts])


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_store(store, triples: list[Triple], rng: random.Random, n_queries: int) -> dict:
    store.clear()
    start = time.perf_counter()
    report = store.import_triples(
        tqdm(triples, desc=f"{store.backend} import", unit=" facts"), batch_size=10_000
    )
    import_s = time.perf_counter() - start
    # baseline: the same kind of rows written one edit at a time
    few = triples[: min(300, len(triples))]
    start = time.perf_counter()
    for t in few:
        store.set_fact(t.entity + " (baseline)", t.relation, t.value, replace=False)
    one_by_one_rate = len(few) / (time.perf_counter() - start)

    queries = [(t.entity, t.relation) for t in rng.sample(triples, min(n_queries, len(triples)))]
    start = time.perf_counter()
    for q in queries[:2000]:
        store.lookup(*q)
    single_rate = min(2000, len(queries)) / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(0, len(queries), 1000):
        found = store.lookup_many(queries[i : i + 1000])
        assert all(found), "a stored key was not found"
    batched_rate = len(queries) / (time.perf_counter() - start)
    return {
        "facts": report.added,
        "import_s": round(import_s, 2),
        "import_facts_per_s": round(report.added / import_s),
        "one_edit_at_a_time_facts_per_s": round(one_by_one_rate),
        "import_speedup_vs_one_by_one": round(report.added / import_s / one_by_one_rate, 1),
        "exact_single_per_s": round(single_rate),
        "exact_batched_per_s": round(batched_rate),
        "batched_vs_single": round(batched_rate / single_rate, 2),
        "extrapolated_import_1M_s": round(import_s * 1_000_000 / max(1, report.added), 1),
    }


def reworded(relation: str) -> str:
    return {
        "Place of birth": "birthplace",
        "Date of birth": "born on",
        "Occupation": "profession",
        "Employer": "employed by",
        "Educated at": "studied at",
        "Award received": "prize won",
        "Country": "nation",
        "Location": "located in",
        "Founded": "year founded",
    }.get(relation, relation.lower())


def bench_fuzzy(kg: KnowledgeGraph, triples: list[Triple], rng: random.Random, n_queries: int) -> dict:
    start = time.perf_counter()
    keys = kg.build_fuzzy_index(rebuild=True, show_progress=True)
    build_s = time.perf_counter() - start
    index = kg.fuzzy_index
    sample = rng.sample(triples, min(n_queries, len(triples)))
    out = {"keys": keys, "index_build_s": round(build_s, 1), "index_build_keys_per_s": round(keys / build_s)}
    for mode in ("structured", "flat"):
        resolver = kg.resolver(mode=mode)
        latencies, correct = [], 0
        for t in sample:
            resolver.clear_cache()  # measure the lookup, not the cache
            start = time.perf_counter()
            res = resolver.resolve(t.entity, reworded(t.relation))
            latencies.append((time.perf_counter() - start) * 1000)
            correct += res.value is not None and res.relation == t.relation and res.entity == t.entity
        out[mode] = {
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "right_key_rate": round(correct / len(sample), 3),
        }
    enc = index.embedder
    start = time.perf_counter()
    for t in sample:
        enc.encode([t.entity])
    out["single_encode_ms"] = round((time.perf_counter() - start) * 1000 / len(sample), 2)
    out["index_bytes_per_key"] = round(index.bytes_per_key(), 1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facts", type=int, default=100_000, help="generated facts to import")
    parser.add_argument(
        "--fuzzy-facts", type=int, default=None, help="facts in the fuzzy index (default: --facts)"
    )
    parser.add_argument("--index-kind", default="auto", help="fuzzy index kind for the resolver run")
    parser.add_argument("--queries", type=int, default=200, help="fuzzy queries timed one by one")
    parser.add_argument(
        "--neo4j",
        default=os.environ.get("NEO4J_URI"),
        help="Neo4j URI (default $NEO4J_URI); THE DATABASE IS CLEARED",
    )
    parser.add_argument("--skip-fuzzy", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/bench/kg.json")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    triples = world_triples(args.facts, args.seed)
    results: dict = {"facts_requested": args.facts, "generated_facts": len(triples)}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "kg")
        results["embedded"] = bench_store(store, triples, rng, 20_000)
        if args.neo4j:
            neo = open_store(args.neo4j)
            results["neo4j"] = bench_store(neo, triples, rng, 20_000)
            neo.clear()
            neo.close()
        if not args.skip_fuzzy:
            n = args.fuzzy_facts or len(triples)
            store.clear()
            store.import_triples(triples[:n])
            kg = KnowledgeGraph(store, index_dir=Path(tmp) / "fuzzy", index_kind=args.index_kind)
            results["fuzzy"] = {
                "facts": n,
                "kind": args.index_kind,
                **bench_fuzzy(kg, triples[:n], rng, args.queries),
            }
        store.close()
    print_table(results)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return 0


TARGETS = {
    "import_facts_per_s": {"embedded": 1_000_000 / 60, "neo4j": 1_000_000 / 180},
    "exact_batched_per_s": {"embedded": 20_000, "neo4j": 5_000},
}


def print_table(results: dict) -> None:
    print(
        f"\n{'store':<10}{'import/s':>12}{'x one-by-one':>14}{'1M est. s':>11}{'single/s':>11}{'batched/s':>11}{'x single':>10}"
    )
    for name in ("embedded", "neo4j"):
        r = results.get(name)
        if r:
            print(
                f"{name:<10}{r['import_facts_per_s']:>12,}{r['import_speedup_vs_one_by_one']:>14}"
                f"{r['extrapolated_import_1M_s']:>11}{r['exact_single_per_s']:>11,}{r['exact_batched_per_s']:>11,}"
                f"{r['batched_vs_single']:>10}"
            )
            for key, target in TARGETS.items():
                print(f"{'':<10}{key} {r[key]:,} vs target {target[name]:,.0f}: {r[key] / target[name]:.2f}x")
    fz = results.get("fuzzy")
    if fz:
        print(
            f"\nfuzzy index ({fz['kind']}, {fz['keys']:,} keys): build {fz['index_build_keys_per_s']:,} keys/s "
            f"(target 1,500: {fz['index_build_keys_per_s'] / 1500:.2f}x), {fz['index_bytes_per_key']} bytes/key, "
            f"single encode {fz['single_encode_ms']} ms"
        )
        for mode in ("structured", "flat"):
            m = fz[mode]
            print(
                f"  {mode:<11} p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  (target p50 12 ms: "
                f"{12 / max(m['p50_ms'], 1e-9):.2f}x)  right key {m['right_key_rate']:.1%}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
