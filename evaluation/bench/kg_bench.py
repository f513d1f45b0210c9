"""Knowledge-graph benchmark on generated triples: stores, exact lookups, fuzzy lookups, the index.

    python -m lmlm.evaluation.bench.kg_bench --facts 100000 [--neo4j bolt://... [--force]] [--out results/bench/kg.json]

Prints a table and writes JSON. Every speed figure comes with a baseline measured in the same run:
bulk import against one-edit-at-a-time `set_fact`, batched lookups against single lookups, fuzzy
lookups against the exact path, the compressed index against flat (size and recall@1), and index
build against plain sentence-transformers encoding. Targets (the issue's, for this 2-core machine)
are printed beside the figures.

The embedded store lives in a temporary directory. Neo4j is benchmarked only when ``--neo4j`` names
it (never from ``$NEO4J_URI``): the benchmark clears that database, before and after, so it refuses a
database that holds any facts, aliases or changes unless ``--force`` is given. Fuzzy lookups encode
every query (the embedder's recent-query cache is off, and so is the resolver's answer cache);
relations are reworded by :func:`lmlm.evaluation.perturbations.reword`.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from lmlm.kg.embedding import Embedder
from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store
from lmlm.kg.store import KnowledgeStore
from lmlm.train.world import WorldConfig, generate_world

from ..entry_point import parse_script_args, write_json
from ..perturbations import reword
from .timing import percentile

PEOPLE_PER_FACT = 1 / 6.3  # a generated person has about 6.3 facts (places and organisations add a few)


@dataclass(frozen=True)
class KgBenchArgs:
    facts: int = field(default=100_000, metadata={"help": "generated facts to import"})
    fuzzy_facts: int | None = field(
        default=None, metadata={"help": "facts in the fuzzy index (default: --facts)"}
    )
    index_kind: Literal["auto", "flat", "compressed", "ivfrabitq"] = field(
        default="auto", metadata={"help": "fuzzy index kind for the resolver run"}
    )
    queries: int = field(default=200, metadata={"help": "fuzzy queries timed one by one"})
    neo4j: str | None = field(
        default=None,
        metadata={
            "help": "a Neo4j URI to benchmark as well (never taken from $NEO4J_URI); THE DATABASE IS "
            "CLEARED, so it must be empty unless --force"
        },
    )
    force: bool = field(default=False, metadata={"help": "clear the --neo4j database even if it holds data"})
    skip_fuzzy: bool = field(default=False, metadata={"help": "leave out the fuzzy index and lookups"})
    seed: int = field(default=0, metadata={"help": "random seed for the world and the queries"})
    out: str = field(default="results/bench/kg.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        for name in ("facts", "queries"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if self.fuzzy_facts is not None and self.fuzzy_facts < 1:
            raise ValueError(f"--fuzzy-facts must be >= 1, got {self.fuzzy_facts}")
        if self.force and not self.neo4j:
            raise ValueError("--force only applies with --neo4j")


class DatabaseNotEmptyError(Exception):
    """The ``--neo4j`` database holds data and ``--force`` was not given."""


def open_target_neo4j(uri: str, force: bool) -> KnowledgeStore:
    """The Neo4j store the benchmark may clear: empty, or ``force``. Raises DatabaseNotEmptyError
    (naming ``--neo4j``) for a database with data, and leaves it as it is."""
    store = open_store(uri)
    stats = store.stats()
    held = {"facts": stats.facts, "aliases": stats.aliases, "changes": stats.changes}
    if any(held.values()) and not force:
        store.close()
        counts = ", ".join(f"{n:,} {what}" for what, n in held.items())
        raise DatabaseNotEmptyError(
            f"--neo4j {uri}: the database holds {counts}, and the benchmark clears it; nothing was "
            "changed. Point --neo4j at an empty database, or pass --force to clear this one"
        )
    return store


def world_triples(n_facts: int, seed: int) -> list[Triple]:
    world = generate_world(WorldConfig(people=max(3, int(n_facts * PEOPLE_PER_FACT)), seed=seed))
    return list(world.triples[:n_facts])


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


def bench_fuzzy(kg: KnowledgeGraph, triples: list[Triple], rng: random.Random, n_queries: int) -> dict:
    start = time.perf_counter()
    keys = kg.build_fuzzy_index(rebuild=True, show_progress=True)
    build_s = time.perf_counter() - start
    index = kg.fuzzy_index
    sample = rng.sample(triples, min(n_queries, len(triples)))
    out = {"keys": keys, "index_build_s": round(build_s, 1), "index_build_keys_per_s": round(keys / build_s)}
    for mode in ("structured", "flat"):
        resolver = kg.resolver(mode=mode, cache_size=0)  # time the lookup, not a remembered answer
        out["resolver_cache"] = resolver.config.cache_size
        latencies, correct = [], 0
        for t in sample:
            start = time.perf_counter()
            res = resolver.resolve(t.entity, reword(t.relation) or t.relation.lower())
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
    out["recent_query_cache"] = enc.recent_queries
    out["embedder"] = enc.describe()  # the precision and thread counts the build and queries used
    out["index_bytes_per_key"] = round(index.bytes_per_key(), 1)
    return out


def run(args: KgBenchArgs) -> dict:
    """The results of every part of the benchmark, as written to JSON."""
    neo = open_target_neo4j(args.neo4j, args.force) if args.neo4j else None  # refuse before any work
    rng = random.Random(args.seed)
    triples = world_triples(args.facts, args.seed)
    results: dict = {"args": asdict(args), "facts_requested": args.facts, "generated_facts": len(triples)}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "kg")
        results["embedded"] = bench_store(store, triples, rng, 20_000)
        if neo is not None:
            try:
                results["neo4j"] = bench_store(neo, triples, rng, 20_000)
                neo.clear()
            finally:
                neo.close()
        if not args.skip_fuzzy:
            n = args.fuzzy_facts or len(triples)
            store.clear()
            store.import_triples(triples[:n])
            # Every query encoded, as a first lookup is: no vectors kept from earlier queries.
            kg = KnowledgeGraph(
                store,
                index_dir=Path(tmp) / "fuzzy",
                index_kind=args.index_kind,
                embedder=Embedder(recent_queries=0),
            )
            results["fuzzy"] = {
                "facts": n,
                "kind": args.index_kind,
                **bench_fuzzy(kg, triples[:n], rng, args.queries),
            }
        store.close()
    return results


def main(argv=None) -> int:
    args = parse_script_args(KgBenchArgs, argv, __doc__)
    try:
        results = run(args)
    except DatabaseNotEmptyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_table(results)
    print(f"\nwrote {write_json(args.out, results)}")
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
            f"single encode {fz['single_encode_ms']} ms; every query encoded (recent-query cache off)"
        )
        used = fz.get("embedder") or {}
        print(
            f"  encoder: {used.get('precision_used')} (asked {used.get('precision')}), "
            f"{used.get('large_call_threads')} torch threads for the build, "
            f"{used.get('small_call_threads')} for single queries"
        )
        for mode in ("structured", "flat"):
            m = fz[mode]
            print(
                f"  {mode:<11} p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  (target p50 12 ms: "
                f"{12 / max(m['p50_ms'], 1e-9):.2f}x)  right key {m['right_key_rate']:.1%}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
