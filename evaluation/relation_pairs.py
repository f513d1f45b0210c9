"""How well one cosine tells a reworded relation from a near one, for one or more embedding models.

    python -m lmlm.evaluation.relation_pairs --data shared/data/lmlm-paper \\
        [--embedders default /path/to/all-mpnet-base-v2] [--out results/relation_pairs]

The resolver's relation match rests on the cosine between the query's relation and the stored
one. This measures that cosine alone, on the pairs :mod:`lmlm.evaluation.fuzzy_modes` asks about
(the same sets, seed and queries): each ``reworded`` query against the stored relation it rewords
(``born on`` / ``Date of birth``: should match) and each ``near_relation`` query against the stored
relation it was made from (``taught at`` / ``Educated at``: should not). Reported per model and
set: the AUC (the chance that a random rewording is nearer its relation than a random near
relation is to its own), and the share of each kind at or above each threshold. A model that
separated them would show one threshold keeping most rewordings and few near relations.

``default`` is the bundled all-MiniLM-L6-v2; any other entry is a sentence-transformers model
directory (or a hub name, with the network). Writes ``relation_pairs.json`` and
``relation_pairs.png`` under ``--out``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lmlm.kg.embedding import Embedder

from .entry_point import parse_script_args, write_json
from .fuzzy_modes import SETS, build_queries, check_sets, load_set

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.951, 0.05))
KINDS = ("reworded", "near_relation")


@dataclass(frozen=True)
class RelationPairsArgs:
    data: str = field(metadata={"help": "directory of the paper's released samples (as for fuzzy_modes)"})
    embedders: list[str] = field(
        default_factory=lambda: ["default"],
        metadata={
            "help": "models to compare: 'default' (bundled MiniLM) or sentence-transformers directories"
        },
    )
    sets: list[str] = field(default_factory=lambda: list(SETS), metadata={"help": "sets to build"})
    per_kind: int = field(default=300, metadata={"help": "queries of each kind, per set"})
    seed: int = field(default=0, metadata={"help": "random seed (fuzzy_modes' queries with the same seed)"})
    out: str = field(default="results/relation_pairs", metadata={"help": "output directory (JSON and PNG)"})

    def __post_init__(self) -> None:
        if self.per_kind < 1:
            raise ValueError(f"--per-kind must be >= 1, got {self.per_kind}")
        check_sets(self.data, self.sets)
        for model in self.embedders:  # a hub name ("org/model") is left to the hub
            if model.startswith(("/", ".", "~")) and not Path(model).expanduser().is_dir():
                raise ValueError(f"--embedders {model}: no such directory")


def pairs_of(args: RelationPairsArgs) -> dict[str, list[tuple[str, str, str]]]:
    """Per set, ``(kind, query relation, stored relation)`` for the two kinds, as fuzzy_modes asks."""
    rng = random.Random(args.seed)
    out = {}
    for name in args.sets:
        queries = build_queries(load_set(name, Path(args.data), args.seed), rng, args.per_kind)
        out[name] = [(q.kind, q.relation, q.source) for q in queries if q.kind in KINDS]
    return out


def separation(reworded: np.ndarray, near: np.ndarray) -> dict:
    """AUC of reworded over near cosines (ties count half) and the shares at each threshold."""
    if not len(reworded) or not len(near):
        return {"auc": None, "n": [len(reworded), len(near)], "at": {}}
    above = (reworded[:, None] > near[None, :]).mean() + 0.5 * (reworded[:, None] == near[None, :]).mean()
    return {
        "auc": round(float(above), 4),
        "n": [len(reworded), len(near)],
        "at": {
            f"{t:.2f}": {
                "reworded": round(float((reworded >= t).mean()), 4),
                "near": round(float((near >= t).mean()), 4),
            }
            for t in THRESHOLDS
        },
    }


def run(args: RelationPairsArgs) -> dict:
    pairs = pairs_of(args)
    texts = sorted({x for rows in pairs.values() for _, q, s in rows for x in (q, s)})
    report: dict = {"sets": {name: len(rows) for name, rows in pairs.items()}, "models": {}}
    for model in tqdm(args.embedders, desc="models", unit=" model"):
        embedder = Embedder(None if model == "default" else model, recent_queries=0)
        vectors = dict(zip(texts, embedder.encode(texts)))
        per_set = {}
        for name, rows in pairs.items():
            cos = {
                k: np.array([float(vectors[q] @ vectors[s]) for kind, q, s in rows if kind == k])
                for k in KINDS
            }
            per_set[name] = separation(cos["reworded"], cos["near_relation"])
        report["models"][model] = {"name": embedder.name, "dim": embedder.dim, "sets": per_set}
    return report


def print_report(report: dict) -> None:
    for model, m in report["models"].items():
        print(f"\n== {model} ({m['name']}, {m['dim']} dims)")
        for name, s in m["sets"].items():
            shares = " ".join(
                f"{t}:{v['reworded'] * 100:.0f}/{v['near'] * 100:.0f}"
                for t, v in s["at"].items()
                if float(t) >= 0.5
            )
            auc = "n/a" if s["auc"] is None else f"{s['auc']:.3f}"
            print(f"{name:<15} AUC {auc}  (n {s['n'][0]}/{s['n'][1]})  % reworded/near kept at: {shares}")


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["sets"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        for model, m in report["models"].items():
            s = m["sets"][name]
            if s["auc"] is None:
                continue
            xs = [v["near"] for v in s["at"].values()]
            ys = [v["reworded"] for v in s["at"].values()]
            ax.plot(xs, ys, marker="o", ms=3, label=f"{Path(model).name} (AUC {s['auc']:.2f})")
        ax.plot([0, 1], [0, 1], color="0.8", lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("near relations kept")
        ax.set_ylabel("rewordings kept")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_script_args(RelationPairsArgs, argv, __doc__)
    report = run(args)
    out = Path(args.out)
    write_json(out / "relation_pairs.json", report)
    print_report(report)
    plot(report, out / "relation_pairs.png")
    print(f"\nwrote {out / 'relation_pairs.json'} and relation_pairs.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
