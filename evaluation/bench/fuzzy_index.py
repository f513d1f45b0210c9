"""Fuzzy index benchmark on generated keys: encoding speed, build rate, size, recall and latency.

    python -m lmlm.evaluation.bench.fuzzy_index --keys 20000,100000 \
        [--relations shared/data/lmlm-paper/dwiki-eval100-annotator_database.json] --out results/bench/fuzzy.json

Keys are "{entity} {relation}" strings like the store's: generated person, organisation, place and
work names, each with a few relations drawn from the relations of the paper database given as
``--relations`` (with their frequencies in its triples), or without it from a built-in list; the
output says which. Queries are perturbed keys, as the language model would write them: a typo in
the entity, the relation reworded, the words reordered, the case changed
(:mod:`lmlm.evaluation.perturbations`). Every query is encoded when it is searched: the embedder's
recent-query cache is off (``Embedder(recent_queries=0)``).

Every speed figure has its baseline measured in the same run. Encoding: plain fp32
``SentenceTransformer.encode``, the embedder in fp32 and in bf16, each at each torch thread count of
``--threads`` (default ``1,default``), taking turns so that load from other processes hits all alike;
the precision ``auto`` picks (the one the index uses) is reported with why (the CPU's bf16 flags:
without AVX512-BF16/AMX, oneDNN may still report bf16 support and emulate it). The model load and
first call (the warm-up a fresh process pays once) are excluded from the rates and reported. The
index: compressed against flat (size, recall@1 of flat's top-1, latency). The sizes are prefixes of
one key set, encoded once at torch's default thread count; a size's build rate is that encoding
rate plus its measured ``add`` (training included), and its cold rate adds the warm-up. The JSON
records the machine (CPU, flags, usable cores, torch threads, load average before and after).
Prints a table and writes JSON. ``--keys 1000000`` needs about 4 GB of memory and 15-20 minutes on
the 2-core machine, most of it encoding.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lmlm.kg.embedding import Embedder
from lmlm.kg.formats import read_paper_database
from lmlm.kg.vector_index import COMPRESSED_KIND, VectorIndex

from ..entry_point import parse_script_args, write_json
from ..perturbations import NameGenerator, builtin_relations, perturb
from .encoding_rates import bench_encoders, print_encoding
from .timing import check_thread_spec, describe_machine, load_average, percentile, thread_counts

BUILTIN = "built-in list"


def read_relations(path: str | None) -> tuple[list[str], list[float]]:
    """Relation names and sampling weights: those of the paper database at ``path`` (weighted by
    their use in its triples), or with no path the built-in list (Zipf-like weights)."""
    if path is None:
        names = builtin_relations()
        # Zipf-like: the first relations of the list (Birthplace, Occupation, ...) are the common ones.
        return names, [1.0 / (rank + 1) ** 0.7 for rank in range(len(names))]
    counts = Counter(t.relation for t in read_paper_database(path))
    names = sorted(counts)
    return [r.replace("\\'", "'") for r in names], [1.0 + counts[r] for r in names]


@dataclass(frozen=True)
class GeneratedKey:
    entity: str
    relation: str

    @property
    def text(self) -> str:
        return f"{self.entity} {self.relation}"


def generate_keys(n: int, seed: int = 0, relations_path: str | None = None) -> list[GeneratedKey]:
    """``n`` distinct (entity, relation) keys; an entity has 1-12 relations (about 5 on average),
    drawn from :func:`read_relations` of ``relations_path``."""
    rng = random.Random(seed)
    names = NameGenerator(rng)
    relations, weights = read_relations(relations_path)
    seen_entities: set[str] = set()
    keys: list[GeneratedKey] = []
    with tqdm(total=n, desc="generate keys", unit=" keys", disable=n < 50_000) as bar:
        while len(keys) < n:
            entity = names.entity()
            if entity in seen_entities:
                continue
            seen_entities.add(entity)
            count = min(12, 1 + int(rng.expovariate(1 / 4)), n - len(keys))
            chosen = {r for r in rng.choices(relations, weights, k=count)}
            keys.extend(GeneratedKey(entity, r) for r in sorted(chosen))
            bar.update(len(chosen))
    return keys[:n]


@dataclass(frozen=True)
class FuzzyBenchArgs:
    keys: str = field(
        default="20000,100000", metadata={"help": "index sizes, comma-separated (e.g. 20000,100000,1000000)"}
    )
    queries: int = field(default=2000, metadata={"help": "perturbed queries for recall (encoded in batches)"})
    latency_queries: int = field(
        default=300, metadata={"help": "queries timed one by one, encoding included"}
    )
    encode_sample: int = field(
        default=10000, metadata={"help": "keys encoded by each encoder at each thread count"}
    )
    threads: str = field(
        default="1,default",
        metadata={
            "help": "torch thread counts the encoders are timed at, comma-separated (default: torch's)"
        },
    )
    compressed_kind: str = field(default=COMPRESSED_KIND, metadata={"help": "compressed index kind to test"})
    relations: str | None = field(
        default=None,
        metadata={
            "help": "the paper's database JSON whose relations (and their frequencies) the keys use; "
            "default: a built-in list of common relations"
        },
    )
    seed: int = field(default=0, metadata={"help": "random seed for keys and queries"})
    out: str = field(default="results/bench/fuzzy.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        try:
            sizes = [int(s.replace("_", "")) for s in self.keys.split(",")]
        except ValueError as e:
            raise ValueError(f"--keys must be comma-separated integers, got {self.keys!r}") from e
        if not sizes or min(sizes) < 100:
            raise ValueError(f"--keys sizes must be >= 100, got {self.keys!r}")
        for name in ("queries", "latency_queries", "encode_sample"):
            if getattr(self, name) < 10:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 10, got {getattr(self, name)}")
        check_thread_spec(self.threads)
        if self.relations is not None and not Path(self.relations).is_file():
            raise ValueError(f"--relations {self.relations}: no such file")

    @property
    def sizes(self) -> list[int]:
        return [int(s.replace("_", "")) for s in self.keys.split(",")]


def bench_size(
    keys: list[GeneratedKey],
    vecs: np.ndarray,
    encode_rate: float,
    warmup_s: float,
    args: FuzzyBenchArgs,
    embedder: Embedder,
    rng: random.Random,
) -> dict:
    """Flat against compressed on the first ``len(keys)`` keys (their vectors precomputed).

    ``build_keys_per_s``: encoding at the measured rate plus the measured ``add``, in a process whose
    embedder is loaded; ``cold_build_keys_per_s`` adds ``warmup_s`` (model load and first call),
    what a build in a fresh process pays once.
    """
    n = len(keys)
    ids = np.arange(n, dtype=np.int64)
    encode_s = n / encode_rate
    sources = rng.sample(range(n), min(args.queries, n))
    queries = [perturb(keys[i].entity, keys[i].relation, rng) for i in sources]
    qvecs = embedder.encode(queries)
    out: dict = {"keys": n}
    top1: dict[str, np.ndarray] = {}
    for kind in ("flat", args.compressed_kind):
        index = VectorIndex(embedder, kind)
        start = time.perf_counter()
        index.add_vectors(ids, vecs)  # one call: a compressed index sizes its lists for what it is given
        add_s = time.perf_counter() - start
        hits = index.search_vectors(qvecs, k=1)
        top1[kind] = np.array([row[0].id if row else -1 for row in hits])
        latencies = []
        for q in queries[: args.latency_queries]:
            start = time.perf_counter()
            index.search([q], k=1)
            latencies.append((time.perf_counter() - start) * 1000)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            index.save(tmp)
            save_s = time.perf_counter() - start
            start = time.perf_counter()
            VectorIndex.load(tmp, embedder)
            load_s = time.perf_counter() - start
        out[kind] = {
            "storage": index.storage,
            "params": index.params(),
            "add_s": round(add_s, 2),
            "build_keys_per_s": round(n / (encode_s + add_s)),  # encode at the measured rate, then add
            "cold_build_keys_per_s": round(n / (warmup_s + encode_s + add_s)),
            "bytes_per_key": round(index.bytes_per_key(), 1),
            "search_p50_ms": round(percentile(latencies, 0.5), 2),
            "search_p95_ms": round(percentile(latencies, 0.95), 2),
            "right_key_at_1": round(float((top1[kind] == np.array(sources)).mean()), 4),
            "save_s": round(save_s, 2),
            "load_s": round(load_s, 2),
        }
    out["recall_at_1_vs_flat"] = round(float((top1["flat"] == top1[args.compressed_kind]).mean()), 4)
    return out


def print_table(results: dict) -> None:
    print_encoding(results["encoding"])
    build = results["build"]
    print(
        f"\nbuild: {build['keys']} keys encoded at {build['keys_per_s']} keys/s ({build['precision']}, "
        f"{build['threads']} torch threads, warm-up excluded)"
    )
    print(
        f"keys' relations: {results['relations']}; every query encoded when searched "
        "(the embedder's recent-query cache is off)"
    )
    kind = results["compressed_kind"]
    header = f"{'keys':>9} {'index':>10} {'build k/s':>10} {'cold k/s':>9} {'bytes/key':>10} {'p50 ms':>7} {'p95 ms':>7} {'right@1':>8} {'recall@1':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in results["sizes"]:
        for k in ("flat", kind):
            r = row[k]
            recall = f"{row['recall_at_1_vs_flat']:.4f}" if k == kind else "-"
            print(
                f"{row['keys']:>9} {k:>10} {r['build_keys_per_s']:>10} {r['cold_build_keys_per_s']:>9} {r['bytes_per_key']:>10} "
                f"{r['search_p50_ms']:>7} {r['search_p95_ms']:>7} {r['right_key_at_1']:>8} {recall:>9}"
            )
    print(
        "\ntargets: build >= 1500 keys/s; compressed <= 256 bytes/key and recall@1 >= 0.95; single encode ~10 ms"
    )


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_script_args(FuzzyBenchArgs, argv, __doc__)
    rng = random.Random(args.seed)
    all_keys = generate_keys(max(args.sizes), args.seed, args.relations)
    embedder = Embedder(recent_queries=0)  # every timed query is encoded, as a first lookup is
    threads = thread_counts(args.threads, torch.get_num_threads())
    results: dict = {
        "args": asdict(args),
        "machine": describe_machine(),
        "threads": threads,
        "compressed_kind": args.compressed_kind,
        "relations": args.relations or BUILTIN,
        "recent_query_cache": embedder.recent_queries,
    }
    sample = rng.sample([k.text for k in all_keys], min(args.encode_sample, len(all_keys)))
    results["encoding"] = bench_encoders(sample, embedder, threads)
    # Every size is a prefix of the largest, so the keys are encoded once, on this thread's count.
    start = time.perf_counter()
    vecs = embedder.encode([k.text for k in all_keys], show_progress=True)
    rate = len(all_keys) / (time.perf_counter() - start)
    results["build"] = {
        "keys": len(all_keys),
        "keys_per_s": round(rate),
        "precision": embedder.dtype_name,
        "threads": torch.get_num_threads(),
    }
    results["embedder"] = embedder.describe()
    warmup = results["encoding"]["warmup"]["model_load_s"] + results["encoding"]["warmup"]["first_call_256_s"]
    results["sizes"] = [
        bench_size(all_keys[:n], vecs[:n], rate, warmup, args, embedder, rng) for n in args.sizes
    ]
    results["machine"]["load_average_after"] = load_average()
    print_table(results)
    print(f"\nwrote {write_json(args.out, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
