"""What a run did (requests, tokens, cost, verdicts) and what its output directory holds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from .backends import Completion
from .output import RunDirectory
from .validation import EXACT, REJECTED, REPAIRED, Validation

_SHOWN_FAILURES = 20


class RunStats:
    """Counters of one run, updated as results come in; ``postfix`` feeds the progress bar."""

    def __init__(self, cost: Callable[[int, int], float]):
        self.cost_of = cost
        self.sent = 0
        self.verdicts: Counter[str] = Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.failures: dict[str, str] = {}
        self.backend: dict = {}
        self._started = self._stopped = None

    def start(self) -> None:
        self._started = time.perf_counter()

    def stop(self) -> None:
        self._stopped = time.perf_counter()

    @property
    def seconds(self) -> float:
        if self._started is None:
            return 0.0
        return (self._stopped or time.perf_counter()) - self._started

    @property
    def done(self) -> int:
        return sum(self.verdicts.values()) + len(self.failures)

    @property
    def cost(self) -> float:
        return self.cost_of(self.prompt_tokens, self.completion_tokens)

    def add_usage(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens

    def add_verdict(self, verdict: Validation) -> None:
        self.verdicts[verdict.status] += 1

    def fail(self, chunk_id: str, error: str) -> None:
        self.failures[chunk_id] = error

    def postfix(self) -> dict[str, str]:
        tokens = self.prompt_tokens + self.completion_tokens
        return {
            "tok": f"{tokens / 1000:.1f}k",
            "err": str(len(self.failures)),
            "rej": str(self.verdicts[REJECTED]),
            "cost": f"${self.cost:.4f}",
        }

    def to_dict(self) -> dict:
        seconds = self.seconds
        shown = dict(list(self.failures.items())[:_SHOWN_FAILURES])
        return {
            "requests": self.sent,
            "completed": self.done,
            "failed": len(self.failures),
            "failures": shown,
            "exact": self.verdicts[EXACT],
            "repaired": self.verdicts[REPAIRED],
            "rejected": self.verdicts[REJECTED],
            "seconds": round(seconds, 3),
            "requests_per_second": round(self.done / seconds, 3) if seconds else 0.0,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost, 6),
            "backend": self.backend,
        }


def summarize_directory(directory: RunDirectory, cost: Callable[[int, int], float]) -> dict:
    """Counts over every record in the directory (earlier runs included): verdicts, repairs,
    rejection reasons, calls and tokens."""
    statuses: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    calls = preserved = prompt_tokens = completion_tokens = 0
    for record in list(directory.accepted()) + list(directory.rejected()):
        verdict = record["validation"]
        statuses[verdict["status"]] += 1
        for repair in verdict["repairs"]:
            kind, _, count = repair.partition(":")
            repairs[kind] += int(count or 1)
        if verdict["status"] == REJECTED:
            reasons[verdict["reason"]] += 1
        calls += verdict["calls"]
        preserved += verdict["text_preserved"]
        prompt_tokens += record["usage"]["prompt_tokens"]
        completion_tokens += record["usage"]["completion_tokens"]
    total = sum(statuses.values())
    return {
        "chunks": total,
        "accepted": statuses[EXACT] + statuses[REPAIRED],
        "exact": statuses[EXACT],
        "repaired": statuses[REPAIRED],
        "rejected": statuses[REJECTED],
        "text_preserved": preserved,
        "text_preserved_share": round(preserved / total, 4) if total else None,
        "repairs": dict(sorted(repairs.items())),
        "rejected_reasons": dict(sorted(reasons.items())),
        "calls": calls,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": round(cost(prompt_tokens, completion_tokens), 6),
    }
