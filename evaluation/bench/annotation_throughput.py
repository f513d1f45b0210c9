"""Annotation throughput against a local OpenAI-compatible server: concurrency 1 against N.

    python -m lmlm.evaluation.bench.annotation_throughput --out results/bench/annotation_throughput.json

Annotation through an API is I/O bound: the client waits for the model. The server here
(:class:`lmlm.annotation.chat_server.ChatServer`) answers each request after a delay drawn from
``--delay-ms`` (default 200-500 ms, the same delay for the same text in every run) with the
world's own annotation of the text, so every response is valid and the whole pipeline runs
(prompt, request, validation, output, cleaning, extraction). Each concurrency annotates the same
texts into a fresh directory; the baseline is concurrency 1 measured in the same run.

Target: concurrency 16 reaches at least 10x the texts/s of concurrency 1. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from lmlm.annotation import BackendConfig, RunConfig, annotate
from lmlm.annotation.chat_server import ChatServer
from lmlm.train.world import WorldConfig, generate_world
from lmlm.train.world.biographies import write_biography

from ..entry_point import write_json

TARGET_CONCURRENCY, TARGET_RATIO = 16, 10.0


def biographies(n: int, seed: int = 0) -> list[dict]:
    """``n`` biographies of a generated world, raw and annotated."""
    world = generate_world(WorldConfig(people=max(10, n), seed=seed))
    docs = []
    for i in range(n):
        person = world.people[i % len(world.people)]
        annotated, raw, _ = write_biography(person, world.entity_facts, random.Random(i))
        docs.append({"id": f"bio-{i:04d}", "text": raw, "annotated_text": annotated})
    return docs


def measure(docs: list[dict], concurrencies: list[int], delay: tuple[float, float], work: Path) -> list[dict]:
    inputs = work / "texts.jsonl"
    inputs.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
    gold = {d["text"]: d["annotated_text"] for d in docs}
    rows = []
    with ChatServer(lambda text: gold.get(text, text), delay=delay) as server:
        for concurrency in concurrencies:
            backend = BackendConfig(
                model="bench", base_url=server.base_url, concurrency=concurrency, api_key_env="LMLM_BENCH_KEY"
            )
            started = time.perf_counter()
            report = annotate([inputs], RunConfig(out=str(work / f"c{concurrency}")), backend)
            total = time.perf_counter() - started
            run = report["this_run"]
            assert run["completed"] == len(docs) and run["exact"] == len(docs), run
            rows.append(
                {
                    "concurrency": concurrency,
                    "texts": len(docs),
                    "request_seconds": run["seconds"],
                    "total_seconds": round(total, 3),
                    "texts_per_s": len(docs) / run["seconds"],
                    "completion_tokens_per_s": run["completion_tokens"] / run["seconds"],
                    "max_in_flight": server.max_in_flight,
                }
            )
            server.max_in_flight = 0
    base = rows[0]["texts_per_s"]
    for row in rows:
        row["ratio"] = row["texts_per_s"] / base
    return rows


def print_table(result: dict) -> None:
    print(f"{'concurrency':>11} {'texts':>6} {'seconds':>8} {'texts/s':>8} {'tokens/s':>9} {'ratio':>7}")
    for row in result["rows"]:
        print(
            f"{row['concurrency']:>11} {row['texts']:>6} {row['request_seconds']:>8.2f} {row['texts_per_s']:>8.2f} "
            f"{row['completion_tokens_per_s']:>9.0f} {row['ratio']:>6.1f}x"
        )
    target = result["target"]
    verdict = "met" if target["met"] else "NOT met"
    print(f"target: concurrency {target['concurrency']} >= {target['ratio']}x concurrency 1: {verdict}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench/annotation_throughput.json"))
    parser.add_argument("--texts", type=int, default=96, help="texts annotated at each concurrency")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated; the first is the baseline")
    parser.add_argument("--delay-ms", default="200,500", help="server response delay range, ms (low,high)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    low, high = (float(x) / 1000 for x in args.delay_ms.split(","))
    if args.texts < 1 or min(concurrencies) < 1 or not 0 <= low <= high:
        parser.error("--texts and --concurrency must be >= 1, --delay-ms low,high with 0 <= low <= high")
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("LMLM_BENCH_KEY", "local")
    with tempfile.TemporaryDirectory(prefix="annotation-bench-") as work:
        rows = measure(biographies(args.texts, args.seed), concurrencies, (low, high), Path(work))
    by_concurrency = {row["concurrency"]: row for row in rows}
    target_row = by_concurrency.get(TARGET_CONCURRENCY)
    result = {
        "settings": {
            "texts": args.texts,
            "concurrency": concurrencies,
            "delay_ms": [low * 1000, high * 1000],
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rows": rows,
        "target": {
            "concurrency": TARGET_CONCURRENCY,
            "ratio": TARGET_RATIO,
            "measured": target_row["ratio"] if target_row else None,
            "met": bool(target_row and target_row["ratio"] >= TARGET_RATIO),
        },
    }
    print_table(result)
    write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
