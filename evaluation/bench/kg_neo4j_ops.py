"""Neo4j store maintenance at scale: ``check``, name search and undoing a large import, each against a
baseline measured in the same run.

    python -m lmlm.evaluation.bench.kg_neo4j_ops --neo4j bolt://127.0.0.1:7688 --facts 100000

- check: the store's one pass over the facts against the two passes it made before (every fact read
  once for its id, once more for its nodes' keys), the same server-side queries in both.
- search: substring search through the text index against the same query with the index dropped
  (it then reads every entity node, as before the index), on the same names; results must agree.

Both take turns over ``--repeats`` repetitions (``bench/timing.py``'s :func:`run_interleaved`) and
report each side's median with its spread, and the ratio paired within each repetition.
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
from .timing import paired_ratios, run_interleaved, summarize


@dataclass(frozen=True)
class Neo4jOpsArgs:
    neo4j: str = field(default="", metadata={"help": "the Neo4j URI; THE DATABASE IS CLEARED"})
    facts: int = field(default=100_000, metadata={"help": "generated facts for check and search"})
    undo_facts: int = field(
        default=100_000, metadata={"help": "facts in the import that is undone (0: skip)"}
    )
    undo_batch_size: int = field(
        default=KnowledgeStore.change_batch_size, metadata={"help": "facts per batch of the batched undo"}
    )
    repeats: int = field(default=3, metadata={"help": "timed runs of each variant, taking turns"})
    searches: int = field(default=20, metadata={"help": "substring searches timed per run"})
    force: bool = field(default=False, metadata={"help": "clear the database even if it holds data"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    out: str = field(default="results/bench/kg_neo4j_ops.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        if not self.neo4j:
            raise ValueError("--neo4j is required (the database is cleared)")
        for name in ("facts", "undo_batch_size", "repeats", "searches"):
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
    """``check`` against the two passes it made before, taking turns (:func:`run_interleaved`)."""
    seconds, results = run_interleaved(
        {"check": store.check, "before": lambda: check_two_passes(store)}, repeats
    )
    assert results == {"check": [], "before": []}, results
    return {
        "check_s": summarize(seconds["check"], 2),
        "before_s": summarize(seconds["before"], 2),
        "speedup": paired_ratios(seconds["before"], seconds["check"]),
    }


def bench_search(store, uri: str, names: list[str], rng: random.Random, n: int, repeats: int) -> dict:
    """The same ``n`` substring searches with the text index and with it dropped, taking turns:
    the index is dropped (untimed) before each scan and made again before each indexed run."""
    queries = []
    for name in rng.sample(names, n):
        start = rng.randrange(max(1, len(name) - 4))
        queries.append(name[start : start + 4])

    def index(name: str) -> None:
        if name == "scan":
            store.run_cypher("DROP INDEX lmlm_entity_key_text IF EXISTS", write=True)
        else:
            open_store(uri).close()  # creates the index again and waits for it to come online

    search = lambda: [store.search_entities(q) for q in queries]  # noqa: E731
    try:
        seconds, results = run_interleaved({"indexed": search, "scan": search}, repeats, before_each=index)
    finally:
        index("indexed")
    assert results["indexed"] == results["scan"], "the text index and the scan disagree"
    per_search = {k: [1000 * s / n for s in v] for k, v in seconds.items()}
    return {
        "searches": n,
        "entity_nodes": store.stats().extra["entity_nodes"],
        "indexed_ms_per_search": summarize(per_search["indexed"], 1),
        "scan_ms_per_search": summarize(per_search["scan"], 1),
        "speedup": paired_ratios(seconds["scan"], seconds["indexed"]),
    }


def bench_undo(store, n: int, seed: int, batch_size: int) -> dict:
    """Undoing an import of ``n`` facts in one transaction (as before), then batched."""
    default = store.change_batch_size
    try:
        store.clear()
        report = store.import_triples(world_triples(n, seed + 1), batch_size=10_000)
        store.change_batch_size = 10**12  # as before: the whole undo in one transaction
        one_s, outcome = timed(lambda: _try(lambda: store.undo(report.change_id)))
        if outcome == "ok":  # the server had the memory after all: import again to time the batched one
            store.clear()
            report = store.import_triples(world_triples(n, seed + 1), batch_size=10_000)
        store.change_batch_size = batch_size
        batched_s, change = timed(lambda: store.undo(report.change_id))
    finally:
        store.change_batch_size = default
    assert store.count() == 0 and store.check() == []
    return {
        "facts": report.added,
        "one_transaction": outcome,
        "one_transaction_s": round(one_s, 1),
        "batch_size": batch_size,
        "batches": change.total_batches or 1,  # None: it fit in one batch
        "batched_s": round(batched_s, 1),
    }


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
        n = min(args.searches, len(names))
        results["search"] = bench_search(store, args.neo4j, names, rng, n, args.repeats)
        if args.undo_facts:
            results["undo"] = bench_undo(store, args.undo_facts, args.seed, args.undo_batch_size)
    finally:
        store.clear()
        store.close()
    print_results(results)
    print(f"wrote {write_json(args.out, results)}")
    return 0


def print_results(results: dict) -> None:
    print(f"{results['facts']:,} facts imported in {results['import_s']} s")
    check, search = results["check"], results["search"]
    print(
        f"   check: {check['check_s']['median']} s against {check['before_s']['median']} s before: "
        f"{check['speedup']['median']}x (paired, {check['speedup']['n']} repetitions, "
        f"spread {check['speedup']['spread']})"
    )
    print(
        f"  search: {search['indexed_ms_per_search']['median']} ms indexed against "
        f"{search['scan_ms_per_search']['median']} ms scanning {search['entity_nodes']:,} entity nodes: "
        f"{search['speedup']['median']}x (paired, spread {search['speedup']['spread']})"
    )
    if "undo" in results:
        undo = results["undo"]
        print(
            f"    undo: {undo['facts']:,} facts in {undo['batches']} batches: {undo['batched_s']} s; in one "
            f"transaction: {undo['one_transaction']} ({undo['one_transaction_s']} s)"
        )


if __name__ == "__main__":
    sys.exit(main())
