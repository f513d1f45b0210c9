"""Key-encoding speed of the fuzzy index's embedder, by precision and thread count, against plain
``SentenceTransformer.encode`` (the fuzzy-index benchmark's first table).

A build's rate depends mostly on four things, each reported: the precision the weights run in
(bf16 is ~2-3x fp32 where the CPU has bf16 instructions, and no faster, or slower, where oneDNN only
emulates them), torch's thread count on the calling thread, the model load and first call of a
fresh process (seconds, paid once), and the CPU itself (``timing.describe_machine``).
"""

from __future__ import annotations

import os
import time
from itertools import count

import numpy as np

from lmlm.kg.embedding import Embedder, default_model_path

from .timing import cpu_flags, paired_ratios, percentile, run_interleaved, summarize


def bf16_instructions() -> bool:
    """Whether the CPU has bf16 matmul instructions (AVX512-BF16, AMX-BF16, or ARM's BF16)."""
    flags = cpu_flags()
    return any(flags.get(f) for f in ("avx512_bf16", "amx_bf16", "bf16"))


def auto_precision_note(embedder: Embedder) -> str:
    """Why ``precision="auto"`` chose what it did, and whether the CPU runs bf16 natively."""
    used = embedder.dtype_name
    native = bf16_instructions()
    if used == "bf16" and not native and embedder.device == "cpu":
        return "bf16: oneDNN reports bf16 support, but the CPU has no bf16 instructions (emulated)"
    if used == "bf16":
        return "bf16: the device has native bf16 matmuls"
    return "fp32: the device reports no native bf16 matmuls"


def timed_load(embedder: Embedder, texts: list[str]) -> dict:
    """Model load and first call of a fresh embedder, in seconds (the warm-up a new process pays)."""
    start = time.perf_counter()
    embedder.dim  # noqa: B018 (loads the model)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder.encode(texts[:256])
    return {"model_load_s": round(load_s, 2), "first_call_256_s": round(time.perf_counter() - start, 2)}


def bench_encoders(texts: list[str], fast: Embedder, threads: dict[str, int], rounds: int = 5) -> dict:
    """Plain fp32 ``SentenceTransformer.encode``, the embedder in fp32 and in bf16, at each thread
    count, on the same texts; ``fast`` is the embedder the index uses (``precision="auto"``).

    All (encoder, threads) pairs take turns on slices of ``texts`` (``rounds`` turns each), so load
    from other processes falls on all alike; a rate is the median over turns and every ratio is
    taken within a turn. Model loads and first calls are excluded (and reported).
    """
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    warmup = timed_load(fast, texts)
    plain = SentenceTransformer(str(default_model_path()), device="cpu")  # defaults: fp32, batch 32
    by_precision = {p: Embedder(precision=p, recent_queries=0) for p in ("fp32", "bf16")}
    encoders = {
        "st_fp32": lambda batch: plain.encode(batch, normalize_embeddings=True),
        "embedder_fp32": by_precision["fp32"].encode,
        "embedder_bf16": by_precision["bf16"].encode,
    }
    for encode in encoders.values():
        encode(texts[:256])  # model load and first-call allocations excluded
    step = -(-len(texts) // rounds)
    slices = [texts[lo : lo + step] for lo in range(0, len(texts), step)]
    rounds = len(slices)
    first = next(iter(threads))
    vecs: dict[str, list[np.ndarray]] = {name: [] for name in encoders}

    def variant(name: str, label: str):
        turn = count()

        def call():
            out = encoders[name](slices[next(turn)])
            if label == first:
                vecs[name].append(out)

        return call

    variants = {f"{name}|{label}": variant(name, label) for name in encoders for label in threads}
    default = torch.get_num_threads()
    seconds, _ = run_interleaved(
        variants, rounds, before_each=lambda key: torch.set_num_threads(threads[key.split("|")[1]])
    )
    torch.set_num_threads(default)
    rates = {key: [len(s) / t for s, t in zip(slices, secs)] for key, secs in seconds.items()}
    auto = fast.dtype_name
    return {
        "sample": len(texts),
        "rounds": rounds,
        "warmup": warmup,
        "auto_precision": auto,
        "auto_precision_note": auto_precision_note(fast),
        "keys_per_s": [
            {"encoder": key.split("|")[0], "threads": key.split("|")[1], **summarize(rate, 1)}
            for key, rate in rates.items()
        ],
        "ratios": _ratios(rates, threads, auto),
        **_agreement(np.concatenate(vecs["st_fp32"]), np.concatenate(vecs[f"embedder_{auto}"])),
        **_single_latency(texts, fast, encoders["st_fp32"]),
    }


def _ratios(rates: dict[str, list[float]], threads: dict[str, int], auto: str) -> list[dict]:
    out = []
    for label in threads:
        for name, a, b in (
            ("embedder bf16 / embedder fp32", "embedder_bf16", "embedder_fp32"),
            (f"embedder auto ({auto}) / SentenceTransformer fp32", f"embedder_{auto}", "st_fp32"),
            ("embedder fp32 / SentenceTransformer fp32", "embedder_fp32", "st_fp32"),
        ):
            out.append(
                {
                    "ratio": name,
                    "threads": label,
                    **paired_ratios(rates[f"{a}|{label}"], rates[f"{b}|{label}"]),
                }
            )
    labels = list(threads)
    for label in labels[1:]:
        for encoder in ("st_fp32", "embedder_fp32", "embedder_bf16"):
            pair = paired_ratios(rates[f"{encoder}|{label}"], rates[f"{encoder}|{labels[0]}"])
            out.append({"ratio": f"{encoder}: {label} / {labels[0]}", "threads": label, **pair})
    return out


def _agreement(ref: np.ndarray, out: np.ndarray) -> dict:
    """Cosine of the index's vectors to plain fp32, and top-1 neighbour agreement on 2,000 texts."""
    cos = (ref * out).sum(axis=1)
    m = min(2000, len(ref))
    sim_ref, sim_out = ref[:m] @ ref.T, out[:m] @ out.T
    np.fill_diagonal(sim_ref[:, :m], -2.0)
    np.fill_diagonal(sim_out[:, :m], -2.0)
    agree = float((sim_ref.argmax(axis=1) == sim_out.argmax(axis=1)).mean())
    return {
        "cosine_mean": round(float(cos.mean()), 6),
        "cosine_min": round(float(cos.min()), 6),
        "top1_neighbour_agreement": round(agree, 4),
    }


def _single_latency(texts: list[str], fast: Embedder, plain_encode) -> dict:
    """One-text encodes (a lookup's): the index's embedder (its small-call worker) against plain."""
    single: dict[str, list[float]] = {"fast": [], "st_fp32": []}
    for text in texts[:200]:
        for name, encode in (("fast", fast.encode), ("st_fp32", plain_encode)):
            start = time.perf_counter()
            encode([text])
            single[name].append((time.perf_counter() - start) * 1000)
    return {
        "single_encode_threads": fast.latency_threads,
        "single_encode_ms_p50": round(percentile(single["fast"], 0.5), 2),
        "single_encode_ms_p95": round(percentile(single["fast"], 0.95), 2),
        "st_fp32_single_encode_ms_p50": round(percentile(single["st_fp32"], 0.5), 2),
        "st_fp32_single_encode_ms_p95": round(percentile(single["st_fp32"], 0.95), 2),
    }


def print_encoding(enc: dict) -> None:
    w = enc["warmup"]
    print(
        f"\nencoding ({enc['sample']} keys in {enc['rounds']} turns, interleaved; keys/s median [spread]); "
        f"auto precision: {enc['auto_precision_note']}; warm-up excluded: model load {w['model_load_s']} s, "
        f"first call of 256 keys {w['first_call_256_s']} s"
    )
    labels = list(dict.fromkeys(r["threads"] for r in enc["keys_per_s"]))
    print(f"  {'encoder':<16}" + "".join(f"{label:>22}" for label in labels))
    for encoder in dict.fromkeys(r["encoder"] for r in enc["keys_per_s"]):
        cells = ""
        for label in labels:
            r = next(x for x in enc["keys_per_s"] if (x["encoder"], x["threads"]) == (encoder, label))
            cells += f"{r['median']:>14.0f} [{r['spread']:>4.0%}]"
        print(f"  {encoder:<16}{cells}")
    for r in enc["ratios"]:
        print(f"  {r['ratio']:<52} {r['threads']:<14} {r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})")
    print(
        f"  {enc['auto_precision']} vs fp32 vectors: cosine mean {enc['cosine_mean']} min {enc['cosine_min']}, "
        f"top-1 neighbour agreement {enc['top1_neighbour_agreement']}; single query "
        f"{enc['single_encode_ms_p50']} ms (p95 {enc['single_encode_ms_p95']}, on "
        f"{enc['single_encode_threads']} thread; SentenceTransformer fp32 {enc['st_fp32_single_encode_ms_p50']})"
    )
