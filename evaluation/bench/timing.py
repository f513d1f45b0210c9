"""How the benchmarks time things and say where they ran.

* :func:`run_interleaved` times several variants over repetitions, one of each in turn (the order
  rotated every repetition), so that load from other processes on a shared machine falls on every
  variant alike; ratios are then taken within a repetition (:func:`paired_ratios`).
* :func:`summarize` gives the median of a list of figures with its spread (min, max, and
  ``(max - min) / median``), the form every figure of a benchmark's JSON takes.
* :func:`describe_machine` records what a figure depends on: library versions, the CPU and its
  flags relevant to bf16, cores usable by this process, torch's thread settings, the thread
  environment variables and the load average, so a figure can be read (and rerun) against them.

Imports no torch at import time; :func:`describe_machine` does when torch is installed.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

# CPU flags that decide how fast bf16 and fp32 matmuls run (x86 /proc/cpuinfo names, and ARM's bf16).
BF16_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "bf16")
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank, no interpolation): p50 and p95 latencies."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """``{"median", "min", "max", "spread", "n"}``: ``spread`` is ``(max - min) / median``."""
    if not values:
        raise ValueError("summarize needs at least one value")
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return {
        "median": round(median, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread": round(spread, 4),
        "n": len(values),
    }


def run_interleaved(
    variants: dict[str, Callable[[], Any]],
    repeats: int,
    *,
    before_each: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Seconds of each variant in each repetition, and each variant's result of the last one.

    Every repetition runs each variant once; the order rotates by one each repetition (variant 0
    first, then variant 1 first, ...), so no variant always runs right after the same one.
    ``before_each(name)`` runs untimed before each call (e.g. to set the thread count).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    names = list(variants)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, Any] = {}
    for rep in range(repeats):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            if before_each is not None:
                before_each(name)
            if progress is not None:
                progress(f"repetition {rep + 1}/{repeats}: {name}")
            start = time.perf_counter()
            results[name] = variants[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def paired_ratios(rate_a: Sequence[float], rate_b: Sequence[float]) -> dict[str, Any]:
    """``rate_a[i] / rate_b[i]`` for each repetition ``i``, summarized (pairs share a repetition)."""
    if len(rate_a) != len(rate_b):
        raise ValueError(
            f"paired ratios need as many values on each side, got {len(rate_a)} and {len(rate_b)}"
        )
    return summarize([a / b for a, b in zip(rate_a, rate_b)], digits=3)


def check_thread_spec(spec: str, flag: str = "--threads") -> None:
    """A ``--threads`` value: comma-separated integers >= 1 or ``default``; ValueError naming ``flag``."""
    for item in spec.split(","):
        if item != "default" and not (item.isdigit() and int(item) >= 1):
            raise ValueError(f"{flag} takes integers >= 1 or 'default', got {item!r} in {spec!r}")


def thread_counts(spec: str, default: int) -> dict[str, int]:
    """``{label: count}`` of a ``--threads`` value, e.g. ``"1,default"`` -> ``{"1 thread": 1,
    "default (2)": 2}``; ``default`` is torch's own count; a count given twice is kept once."""
    out: dict[str, int] = {}
    for item in dict.fromkeys(spec.split(",")):
        n = default if item == "default" else int(item)
        if n not in out.values():
            out[f"default ({n})" if item == "default" else f"{n} thread" + ("s" if n > 1 else "")] = n
    return out


def cpu_flags() -> dict[str, bool]:
    """The :data:`BF16_FLAGS` this CPU has (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            have = set(line.split(":", 1)[1].split())
            return {flag: flag in have for flag in BF16_FLAGS}
    return {}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_quota() -> float | None:
    """The cgroup CPU quota in cores (a container's ``--cpus``), None when unlimited or unknown.

    torch's default thread count follows the cores the process may run on, not this quota: in a
    container limited to 1 CPU on a 16-core host torch starts 16 threads, which then wait on each
    other (OpenMP barriers) and can run several times slower than one thread.
    """
    for path, parse in (
        ("/sys/fs/cgroup/cpu.max", lambda t: t.split()),  # cgroup v2: "QUOTA PERIOD" or "max PERIOD"
        (
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            lambda t: [t.strip(), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")],
        ),
    ):
        text = _read(path)
        if text is None:
            continue
        quota, period = parse(text)
        if quota in ("max", "-1") or not period:
            return None
        return round(int(quota) / int(period), 2)
    return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_machine() -> dict[str, Any]:
    """Versions, CPU, usable cores, torch's threads and backend, thread variables, load average."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu_quota_cores": cpu_quota(),
        "cpu_flags": cpu_flags(),
        "env": {name: os.environ.get(name) for name in THREAD_ENV},
        "load_average": load_average(),
        "versions": {p: _version(p) for p in ("torch", "transformers", "sentence-transformers", "faiss-cpu")},
    }
    try:
        import torch
    except ImportError:
        return out
    from lmlm.kg.embedding import has_native_bf16

    out["torch"] = {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "parallel_backend": "OpenMP" if "backend: OpenMP" in torch.__config__.parallel_info() else "other",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn_reports_bf16": has_native_bf16("cpu"),
    }
    return out
