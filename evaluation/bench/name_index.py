"""Search latency of the letter-trigram name index with names added since its build.

    python -m lmlm.evaluation.bench.name_index --names 200000 --added 19000 --out results/bench/name_index.json

A store's :class:`~lmlm.kg.names.NameIndex` is built once; names imported afterwards are kept
aside until they reach a tenth of it. Three ways to hold the same names, timed on the same
queries (misspelt names, half of them added ones), interleaved over ``--repeats``:

- ``one build``: every name in one built index (what a rebuild gives; the floor);
- ``kept aside``: the index as a store grows: ``--names`` built, ``--added`` added afterwards
  (sorted postings of their own);
- ``scanned``: the same, with the added names compared to the query one by one (how the index
  held them before; written out here as the baseline).

Checks that the three return the same names, prints per-search latency and each one's ratio to
``one build``, and writes JSON.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

import numpy as np

from lmlm.kg.names import NameIndex, trigram_buckets

from ..entry_point import parse_script_args, write_json
from .timing import paired_ratios, run_interleaved, summarize

SYLLABLES = "ka lo mir ta ven os ri bel un dra sen pa lu hor vi tem ga nor el quin".split()


@dataclass(frozen=True)
class NameIndexArgs:
    names: int = field(default=200_000, metadata={"help": "names in the built index"})
    added: int = field(default=19_000, metadata={"help": "names added after the build (under a tenth)"})
    queries: int = field(default=300, metadata={"help": "searches per repetition"})
    repeats: int = field(default=5, metadata={"help": "interleaved repetitions"})
    k: int = field(default=8, metadata={"help": "names returned per search (the resolver asks for 8)"})
    seed: int = field(default=0, metadata={"help": "random seed of the names and queries"})
    out: str = field(default="results/bench/name_index.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        for name in ("names", "queries", "repeats", "k"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.added <= self.names // 10:
            raise ValueError(
                f"--added must be between 0 and a tenth of --names ({self.names // 10}), got {self.added}: "
                "beyond that the index is rebuilt"
            )


def make_names(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct two-word names of syllables (the generated world's kind of name)."""
    out: dict[str, None] = {}
    while len(out) < n:
        words = ("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(2))
        out[" ".join(words)] = None
    return list(out)


def misspell(name: str, rng: random.Random) -> str:
    i = rng.randrange(len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


class ScannedIndex:
    """The baseline: a built index, and the names added since compared to each query in turn."""

    def __init__(self, built: list[str], added: list[str]):
        self.index = NameIndex(built)
        self.added = {key: trigram_buckets(key) for key in added}

    def search(self, name: str, k: int) -> list[tuple[str, float]]:
        grams = trigram_buckets(name)
        found = dict(self.index.search(name, k=k))
        for key, other in self.added.items():
            common = len(np.intersect1d(grams, other, assume_unique=True))
            if common:
                found[key] = 2 * common / (len(grams) + len(other))
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def run(args: NameIndexArgs) -> dict:
    rng = random.Random(args.seed)
    names = make_names(args.names + args.added, rng)
    built, added = names[: args.names], names[args.names :]
    kept_aside = NameIndex(built)
    kept_aside.add(added)
    indexes = {"one build": NameIndex(names), "kept aside": kept_aside, "scanned": ScannedIndex(built, added)}
    pool = added if added else built
    queries = [misspell(rng.choice(pool if i % 2 else built), rng) for i in range(args.queries)]

    def searches(index):
        return lambda: [[key for key, _ in index.search(q, k=args.k)] for q in queries]

    seconds, results = run_interleaved({name: searches(ix) for name, ix in indexes.items()}, args.repeats)
    same = {name: results[name] == results["one build"] for name in indexes}
    per_search = {name: [s * 1000 / args.queries for s in secs] for name, secs in seconds.items()}
    return {
        "args": asdict(args),
        "same_names_as_one_build": same,
        "ms_per_search": {name: summarize(ms) for name, ms in per_search.items()},
        "ratio_to_one_build": {
            name: paired_ratios(ms, per_search["one build"]) for name, ms in per_search.items()
        },
    }


def main(argv=None) -> int:
    args = parse_script_args(NameIndexArgs, argv, __doc__)
    out = run(args)
    print(f"{args.names:,} names built, {args.added:,} added; {args.queries} searches x {args.repeats}")
    print(f"{'held as':<12}{'ms per search':>15}{'x one build':>13}{'same names':>12}")
    for name, ms in out["ms_per_search"].items():
        ratio = out["ratio_to_one_build"][name]["median"]
        print(f"{name:<12}{ms['median']:>15.3f}{ratio:>13.2f}{str(out['same_names_as_one_build'][name]):>12}")
    print(f"wrote {write_json(args.out, out)}")
    return 0 if all(out["same_names_as_one_build"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
