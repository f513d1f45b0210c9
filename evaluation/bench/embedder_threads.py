"""Small-call latency of the embedder: single-text encodes as the resolver makes them.

    python -m lmlm.evaluation.bench.embedder_threads --calls 300 --out results/bench/embedder_threads.json

Two embedders of the same model take turns, call by call, so that load from other processes hits
both alike: the baseline encodes on the caller's thread with the process's torch thread count
(``latency_threads=None``); the default (``latency_threads=1``) encodes small calls with one torch
thread. Every call encodes a text not seen before, so no cache of recent queries answers it. Also
checks that encoding left the torch thread count of the calling thread and of a thread started
afterwards as they were. Prints a table and writes JSON.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from lmlm.kg.embedding import Embedder

from ..entry_point import parse_script_args, write_json


@dataclass(frozen=True)
class EmbedderThreadsArgs:
    calls: int = field(default=300, metadata={"help": "timed single-text calls per embedder"})
    warmup: int = field(default=20, metadata={"help": "untimed calls per embedder first"})
    out: str = field(default="results/bench/embedder_threads.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        if self.calls < 10:
            raise ValueError(f"--calls must be >= 10, got {self.calls}")
        if self.warmup < 0:
            raise ValueError(f"--warmup must be >= 0, got {self.warmup}")


def fresh_thread_count() -> int:
    """torch's thread count as a thread started now sees it (the process default)."""
    import torch

    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def run(args: EmbedderThreadsArgs) -> dict:
    import torch

    before = {"caller": torch.get_num_threads(), "new_thread": fresh_thread_count()}
    embedders = {"caller_threads": Embedder(latency_threads=None), "latency_threads_1": Embedder()}
    times: dict[str, list[float]] = {name: [] for name in embedders}
    for i in range(args.warmup + args.calls):
        for name, embedder in embedders.items():
            text = f"Person {i} {name} Place of birth {i * 7919 % 10007}"  # never repeated
            start = time.perf_counter()
            embedder.encode([text])
            if i >= args.warmup:
                times[name].append((time.perf_counter() - start) * 1000)
    after = {"caller": torch.get_num_threads(), "new_thread": fresh_thread_count()}
    out: dict = {"args": asdict(args), "threads_before": before, "threads_after": after}
    for name, ms in times.items():
        out[name] = {
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
        }
    base, new = out["caller_threads"], out["latency_threads_1"]
    out["p50_ratio"] = round(new["p50_ms"] / base["p50_ms"], 2)
    out["p95_ratio"] = round(new["p95_ms"] / base["p95_ms"], 2)
    return out


def main(argv=None) -> int:
    args = parse_script_args(EmbedderThreadsArgs, argv, __doc__)
    out = run(args)
    print(f"{'embedder':<20} {'p50 ms':>8} {'p95 ms':>8}")
    for name in ("caller_threads", "latency_threads_1"):
        print(f"{name:<20} {out[name]['p50_ms']:>8} {out[name]['p95_ms']:>8}")
    print(f"latency_threads_1 / caller_threads: p50 {out['p50_ratio']}x, p95 {out['p95_ratio']}x")
    print(f"torch threads before {out['threads_before']}, after {out['threads_after']}")
    write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
