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

Every speed figure has its baseline measured in the same run: the fast encoder against plain fp32
``SentenceTransformer.encode`` (taking turns, so load from other processes hits both alike), the
compressed index against flat (size, recall@1 of flat's top-1, latency). The sizes are prefixes of
one key set, encoded once; a size's build rate is that encoding rate plus its measured ``add``
(training included). Prints a table and writes JSON. ``--keys 1000000`` needs about 4 GB of memory
and 15-20 minutes on the 2-core machine, most of it encoding.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lmlm.kg.embedding import Embedder, default_model_path
from lmlm.kg.formats import read_paper_database
from lmlm.kg.vector_index import COMPRESSED_KIND, VectorIndex

from ..entry_point import parse_script_args, write_json
from ..perturbations import NameGenerator, builtin_relations, perturb

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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        default=10000, metadata={"help": "keys encoded by both fp32 and the fast path"}
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
        if self.relations is not None and not Path(self.relations).is_file():
            raise ValueError(f"--relations {self.relations}: no such file")

    @property
    def sizes(self) -> list[int]:
        return [int(s.replace("_", "")) for s in self.keys.split(",")]


def bench_encoders(texts: list[str], fast: Embedder, rounds: int = 5) -> dict:
    """Plain fp32 ``SentenceTransformer.encode`` against the fast path, on the same texts.

    The encoders take turns on slices of ``texts`` (``rounds`` turns each), so load from other
    processes on a shared machine falls on all of them alike and the ratios stay meaningful.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(default_model_path()), device="cpu")  # defaults: fp32, batch 32
    fp32 = Embedder(precision="fp32", recent_queries=0)  # this module's path without bf16
    encoders = {
        "st_fp32": lambda batch: plain.encode(batch, normalize_embeddings=True),
        "embedder_fp32": fp32.encode,
        "fast": fast.encode,
    }
    for encode in encoders.values():
        encode(texts[:256])  # model load and first-call allocations excluded
    seconds = dict.fromkeys(encoders, 0.0)
    vecs: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    step = -(-len(texts) // rounds)
    for lo in tqdm(range(0, len(texts), step), desc="encode fp32 vs fast", unit=" rounds"):
        for name, encode in encoders.items():
            start = time.perf_counter()
            vecs[name].append(encode(texts[lo : lo + step]))
            seconds[name] += time.perf_counter() - start
    ref, out = np.concatenate(vecs["st_fp32"]), np.concatenate(vecs["fast"])
    cos = (ref * out).sum(axis=1)
    # top-1 neighbour agreement: each of the first 2000 texts' nearest other text, fp32 vs fast
    m = min(2000, len(texts))
    sim_ref, sim_fast = ref[:m] @ ref.T, out[:m] @ out.T
    np.fill_diagonal(sim_ref[:, :m], -2.0)
    np.fill_diagonal(sim_fast[:, :m], -2.0)
    agree = float((sim_ref.argmax(axis=1) == sim_fast.argmax(axis=1)).mean())
    single: dict[str, list[float]] = {"st_fp32": [], "fast": []}
    for text in texts[:200]:
        for name in single:
            start = time.perf_counter()
            encoders[name]([text])
            single[name].append((time.perf_counter() - start) * 1000)
    rate = {name: len(texts) / s for name, s in seconds.items()}
    return {
        "sample": len(texts),
        "fast_precision": fast.dtype_name,
        "st_fp32_keys_per_s": round(rate["st_fp32"]),
        "embedder_fp32_keys_per_s": round(rate["embedder_fp32"]),
        "fast_keys_per_s": round(rate["fast"]),
        "speedup_vs_st_fp32": round(rate["fast"] / rate["st_fp32"], 2),
        "speedup_vs_embedder_fp32": round(rate["fast"] / rate["embedder_fp32"], 2),
        "cosine_mean": round(float(cos.mean()), 6),
        "cosine_min": round(float(cos.min()), 6),
        "top1_neighbour_agreement": round(agree, 4),
        "single_encode_ms_p50": round(percentile(single["fast"], 0.5), 2),
        "single_encode_ms_p95": round(percentile(single["fast"], 0.95), 2),
        "st_fp32_single_encode_ms_p50": round(percentile(single["st_fp32"], 0.5), 2),
        "st_fp32_single_encode_ms_p95": round(percentile(single["st_fp32"], 0.95), 2),
    }


def bench_size(
    keys: list[GeneratedKey],
    vecs: np.ndarray,
    encode_rate: float,
    args: FuzzyBenchArgs,
    embedder: Embedder,
    rng: random.Random,
) -> dict:
    """Flat against compressed on the first ``len(keys)`` keys (their vectors precomputed)."""
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
    enc = results["encoding"]
    print(
        f"\nencoding ({enc['sample']} keys, turns taken): SentenceTransformer.encode fp32 "
        f"{enc['st_fp32_keys_per_s']} keys/s, Embedder fp32 {enc['embedder_fp32_keys_per_s']}, "
        f"Embedder fast ({enc['fast_precision']}) {enc['fast_keys_per_s']} = "
        f"{enc['speedup_vs_st_fp32']}x / {enc['speedup_vs_embedder_fp32']}x; cosine to fp32 mean "
        f"{enc['cosine_mean']} min {enc['cosine_min']}; top-1 neighbour agreement "
        f"{enc['top1_neighbour_agreement']}; single query {enc['single_encode_ms_p50']} ms "
        f"(p95 {enc['single_encode_ms_p95']}; SentenceTransformer fp32 {enc['st_fp32_single_encode_ms_p50']})"
    )
    print(
        f"keys' relations: {results['relations']}; every query encoded when searched "
        "(the embedder's recent-query cache is off)"
    )
    kind = results["compressed_kind"]
    header = f"{'keys':>9} {'index':>10} {'build k/s':>10} {'bytes/key':>10} {'p50 ms':>7} {'p95 ms':>7} {'right@1':>8} {'recall@1':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in results["sizes"]:
        for k in ("flat", kind):
            r = row[k]
            recall = f"{row['recall_at_1_vs_flat']:.4f}" if k == kind else "-"
            print(
                f"{row['keys']:>9} {k:>10} {r['build_keys_per_s']:>10} {r['bytes_per_key']:>10} "
                f"{r['search_p50_ms']:>7} {r['search_p95_ms']:>7} {r['right_key_at_1']:>8} {recall:>9}"
            )
    print(
        "\ntargets: build >= 1500 keys/s; compressed <= 256 bytes/key and recall@1 >= 0.95; single encode ~10 ms"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_script_args(FuzzyBenchArgs, argv, __doc__)
    rng = random.Random(args.seed)
    all_keys = generate_keys(max(args.sizes), args.seed, args.relations)
    embedder = Embedder(recent_queries=0)  # every timed query is encoded, as a first lookup is
    results: dict = {
        "args": asdict(args),
        "compressed_kind": args.compressed_kind,
        "relations": args.relations or BUILTIN,
        "recent_query_cache": embedder.recent_queries,
    }
    sample = rng.sample([k.text for k in all_keys], min(args.encode_sample, len(all_keys)))
    results["encoding"] = bench_encoders(sample, embedder)
    # Every size is a prefix of the largest, so the keys are encoded once.
    start = time.perf_counter()
    vecs = embedder.encode([k.text for k in all_keys], show_progress=True)
    rate = len(all_keys) / (time.perf_counter() - start)
    results["build_encode_keys_per_s"] = round(rate)
    results["sizes"] = [bench_size(all_keys[:n], vecs[:n], rate, args, embedder, rng) for n in args.sizes]
    print_table(results)
    print(f"\nwrote {write_json(args.out, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
