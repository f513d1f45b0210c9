"""Neo4j store maintenance at scale: ``check``, name search and undoing a large import, each against a
baseline measured in the same run.

    python -m lmlm.evaluation.bench.kg_neo4j_ops --neo4j bolt://127.0.0.1:7688 --facts 100000

- check: the store's one pass over the facts against the two passes it made before (every fact read
  once for its id, once more for its nodes' keys), the same server-side queries in both.
- search: substring search through the text index against the same query with the index dropped
  (it then reads every entity node, as before the index), on the same names; results must agree.
- undo: undoing an import of ``--undo-facts`` facts in one transaction (what undo did before; it
  fails where the server's transaction memory is too small, e.g. a 1 GB heap) against the batched undo.

The database named by ``--neo4j`` is cleared, so it must be empty unless ``--force``. Prints a table
and writes JSON.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field

from lmlm.kg import neo4j_check
from lmlm.kg.errors import KnowledgeStoreError
from lmlm.kg.knowledge_graph import open_store
from lmlm.kg.store import KnowledgeStore

from ..entry_point import parse_script_args, write_json
from .kg_bench import open_target_neo4j, world_triples


@dataclass(frozen=True)
class Neo4jOpsArgs:
    neo4j: str = field(default="", metadata={"help": "the Neo4j URI; THE DATABASE IS CLEARED"})
    facts: int = field(default=100_000, metadata={"help": "generated facts for check and search"})
    undo_facts: int = field(
        default=100_000, metadata={"help": "facts in the import that is undone (0: skip)"}
    )
    repeats: int = field(default=2, metadata={"help": "timed runs of each variant, taking turns"})
    searches: int = field(default=20, metadata={"help": "substring searches timed per run"})
    force: bool = field(default=False, metadata={"help": "clear the database even if it holds data"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    out: str = field(default="results/bench/kg_neo4j_ops.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        if not self.neo4j:
            raise ValueError("--neo4j is required (the database is cleared)")
        for name in ("facts", "repeats", "searches"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def check_two_passes(store: KnowledgeStore) -> list[str]:
    """check() as it was: the server's queries, a pass for the node keys, a pass for the ids."""
    return (
        neo4j_check.check_graph(store._read)
        + neo4j_check.check_fact_rows(store._read)
        + KnowledgeStore._check_facts(store)
    )


def bench_check(store, repeats: int) -> dict:
    one, two = [], []
    for _ in range(repeats):  # taking turns, so a busy moment hits both
        seconds, problems = timed(store.check)
        assert problems == [], problems
        one.append(seconds)
        seconds, problems = timed(lambda: check_two_passes(store))
        assert problems == [], problems
        two.append(seconds)
    return {
        "check_s": round(min(one), 2),
        "before_s": round(min(two), 2),
        "speedup": round(min(two) / min(one), 2),
    }


def bench_search(store, uri: str, names: list[str], rng: random.Random, n: int) -> dict:
    queries = []
    for name in rng.sample(names, n):
        start = rng.randrange(max(1, len(name) - 4))
        queries.append(name[start : start + 4])
    indexed_s, indexed = timed(lambda: [store.search_entities(q) for q in queries])
    store.run_cypher("DROP INDEX lmlm_entity_key_text", write=True)
    try:
        scan_s, scanned = timed(lambda: [store.search_entities(q) for q in queries])
    finally:
        open_store(uri).close()  # creates the index again and waits for it
    assert indexed == scanned, "the text index and the scan disagree"
    return {
        "searches": n,
        "entity_nodes": store.stats().extra["entity_nodes"],
        "indexed_ms_per_search": round(1000 * indexed_s / n, 1),
        "scan_ms_per_search": round(1000 * scan_s / n, 1),
        "speedup": round(scan_s / indexed_s, 1),
    }


def bench_undo(store, n: int, seed: int) -> dict:
    store.clear()
    report = store.import_triples(world_triples(n, seed + 1), batch_size=10_000)
    default = store.change_batch_size
    store.change_batch_size = 10**12  # as before: the whole undo in one transaction
    one_s, outcome = timed(lambda: _try(lambda: store.undo(report.change_id)))
    store.change_batch_size = default
    result = {"facts": report.added, "one_transaction": outcome, "one_transaction_s": round(one_s, 1)}
    if outcome == "ok":  # the server had the memory after all: import again to time the batched one
        store.clear()
        report = store.import_triples(world_triples(n, seed + 1), batch_size=10_000)
    batched_s, change = timed(lambda: store.undo(report.change_id))
    assert store.count() == 0 and store.check() == []
    return {**result, "batched_s": round(batched_s, 1), "batches": change.total_batches}


def _try(work) -> str:
    try:
        work()
    except KnowledgeStoreError as e:
        return f"failed: {' '.join(str(e).split())[:160]}"
    return "ok"


def main(argv=None) -> int:
    args = parse_script_args(Neo4jOpsArgs, argv, __doc__)
    store = open_target_neo4j(args.neo4j, args.force)
    rng = random.Random(args.seed)
    try:
        store.clear()
        triples = world_triples(args.facts, args.seed)
        import_s, report = timed(lambda: store.import_triples(triples, batch_size=10_000))
        results = {"facts": report.added, "import_s": round(import_s, 1)}
        results["check"] = bench_check(store, args.repeats)
        names = sorted({t.entity for t in triples})
        results["search"] = bench_search(store, args.neo4j, names, rng, min(args.searches, len(names)))
        if args.undo_facts:
            results["undo"] = bench_undo(store, args.undo_facts, args.seed)
    finally:
        store.clear()
        store.close()
    for section, figures in results.items():
        print(f"{section:>8}: {figures}")
    write_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
