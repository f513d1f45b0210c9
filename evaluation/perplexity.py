"""Perplexities of an LMLM and a Standard model on the same documents: static, dynamic, normalized.

Notation (per document, summed over documents): ``x`` is the original text (lookups removed)
tokenized as the Standard model reads it, plus the end-of-text token, ``N = |x|``; ``ℓ(t)`` is
the negative log-likelihood of token ``t`` given everything before it; categories are those of
:mod:`lmlm.evaluation.categories` (text, entity, relation, value; the store's value is given).

* **Standard**: ``PPL = exp(Σ_{t∈x} ℓ(t) / N)``.
* **Static** (LMLM, teacher-forced): the document with its gold lookups, and the gold values (or,
  with ``lookup_fn``, the store's answers) in context. ``S`` = every token but the given values:
  ``PPL_static = exp(Σ_{t∈S} ℓ(t) / |S|)``; ``PPL_text`` the same over the text and value tokens.
* **Dynamic** (LMLM as deployed): the original text ``x`` is teacher-forced token by token; where
  the model's greedy choice is to open a lookup (``<|db_entity|>``, or the space token followed by
  it), it writes its own query greedily (grammar-constrained), the store answers (``lookup_fn``;
  a miss inserts ``miss_value``) and the value with ``<|db_end|>`` enters the context unscored;
  then ``x`` continues. At most one lookup before each token. ``Q`` = the tokens of the model's own
  queries (space, opener, entity, separator, relation, return): ``PPL_dynamic = exp(Σ_{t∈x} ℓ(t) / N)``.
* **Normalized**: the lookup's cost counted, over the original text's length, so that LMLM and
  Standard compare: ``PPL_norm,static = exp(Σ_{t∈S} ℓ(t) / N)``,
  ``PPL_norm,dynamic = exp((Σ_{t∈x} ℓ(t) + Σ_{t∈Q} ℓ(t)) / N)``; for Standard, ``PPL_norm = PPL``.
* Per category ``c``: ``loss_c = Σ_{t∈c} ℓ(t) / |c|``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lmlm.kg.syntax import format_pretraining_lookup, iter_pretraining_lookups
from lmlm.train.corpus import Document

from .categories import CATEGORY_NAMES, GIVEN, Categorized, categorize_lmlm, categorize_raw
from .entry_point import write_json

logger = logging.getLogger(__name__)

LookupFn = Callable[[Sequence[tuple[str, str]]], Sequence]


@dataclass
class Tally:
    """Summed NLL and token counts per category, over documents."""

    nll: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CATEGORY_NAMES.values(), 0.0))
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORY_NAMES.values(), 0))
    original_tokens: int = 0
    documents: int = 0
    lookups: int = 0
    paths: Counter = field(default_factory=Counter)

    def add_tokens(self, nll: np.ndarray, categories: np.ndarray) -> None:
        for code, name in CATEGORY_NAMES.items():
            chosen = categories == code
            self.nll[name] += float(nll[chosen].sum())
            self.tokens[name] += int(chosen.sum())

    def add(self, name: str, nll: float) -> None:
        self.nll[name] += nll
        self.tokens[name] += 1


@dataclass(frozen=True)
class PerplexityResult:
    """One model, one way of scoring, one document set (see the module docstring)."""

    model: str
    kind: str  # standard | static | dynamic
    documents: int
    original_tokens: int
    nll: dict[str, float]
    tokens: dict[str, int]
    lookups: int = 0
    lookup_paths: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_tally(cls, model: str, kind: str, tally: Tally) -> PerplexityResult:
        return cls(
            model,
            kind,
            tally.documents,
            tally.original_tokens,
            dict(tally.nll),
            dict(tally.tokens),
            tally.lookups,
            dict(tally.paths),
        )

    def loss(self, category: str) -> float | None:
        n = self.tokens.get(category, 0)
        return self.nll[category] / n if n else None

    @property
    def scored_tokens(self) -> int:
        return sum(self.tokens.values())

    @property
    def ppl(self) -> float:
        """Over the tokens scored (static); over the original text (Standard, dynamic)."""
        if self.kind == "static":
            return _exp(sum(self.nll.values()), self.scored_tokens)
        return _exp(self.nll["text"] + self.nll["value"], self.original_tokens)

    @property
    def text_ppl(self) -> float:
        return _exp(self.nll["text"] + self.nll["value"], self.tokens["text"] + self.tokens["value"])

    @property
    def normalized_ppl(self) -> float:
        return _exp(sum(self.nll.values()), self.original_tokens)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "kind": self.kind,
            "documents": self.documents,
            "original_tokens": self.original_tokens,
            "scored_tokens": self.scored_tokens,
            "ppl": _round(self.ppl),
            "text_ppl": _round(self.text_ppl),
            "normalized_ppl": _round(self.normalized_ppl),
            "loss": {c: _round(self.loss(c)) for c in self.tokens},
            "tokens": dict(self.tokens),
            "lookups": self.lookups,
            "lookup_paths": dict(self.lookup_paths),
        }


def _exp(nll: float, n: int) -> float:
    return math.exp(nll / n) if n else float("nan")


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, digits)


def with_store_values(token_text: str, lookup_fn: LookupFn, miss_value: str = "unknown") -> str:
    """``token_text`` with each lookup's value replaced by the store's answer to its query."""
    calls = list(iter_pretraining_lookups(token_text))
    if not calls:
        return token_text
    answers = lookup_fn([(c.entity, c.relation) for c in calls])
    pieces, pos = [], 0
    for call, answer in zip(calls, answers):
        value = getattr(answer, "value", None)
        pieces += [
            token_text[pos : call.start],
            format_pretraining_lookup(call.entity, call.relation, value or miss_value),
        ]
        pos = call.end
    pieces.append(token_text[pos:])
    return "".join(pieces)


def standard_perplexity(
    model, tokenizer, docs: Sequence[Document], *, name: str = "standard", batch_size: int = 16
) -> PerplexityResult:
    """The Standard model on the documents' original text."""
    views = [categorize_raw(d.annotated, tokenizer) for d in docs]
    tally = _score_views(model, views, batch_size)
    tally.original_tokens = tally.tokens["text"] + tally.tokens["value"]
    return PerplexityResult.from_tally(name, "standard", tally)


def static_perplexity(
    model,
    tokenizer,
    docs: Sequence[Document],
    *,
    name: str = "lmlm",
    lookup_fn: LookupFn | None = None,
    miss_value: str = "unknown",
    batch_size: int = 16,
) -> PerplexityResult:
    """The LMLM teacher-forced on the annotated documents (gold values, or the store's with ``lookup_fn``)."""
    texts = [
        d.annotated if lookup_fn is None else with_store_values(d.annotated, lookup_fn, miss_value)
        for d in docs
    ]
    tally = _score_views(model, [categorize_lmlm(t, tokenizer) for t in texts], batch_size)
    tally.original_tokens = sum(len(categorize_raw(d.annotated, tokenizer).ids) - 1 for d in docs)
    tally.lookups = sum(1 for t in texts for _ in iter_pretraining_lookups(t))
    return PerplexityResult.from_tally(name, "static", tally)


def _score_views(model, views: list[Categorized], batch_size: int) -> Tally:
    from .loglik import token_nll

    tally = Tally(documents=len(views))
    for view, nll in zip(views, token_nll(model, [v.ids for v in views], batch_size=batch_size)):
        scored = view.categories != GIVEN
        if np.isnan(nll[scored]).any():
            raise ValueError("a scored token has no log-likelihood (the first token is context only)")
        tally.add_tokens(nll, view.categories)
    return tally


def dynamic_perplexity(
    model,
    tokenizer,
    docs: Sequence[Document],
    lookup_fn: LookupFn,
    *,
    name: str = "lmlm",
    miss_value: str = "unknown",
    max_query_tokens: int = 32,
    max_lookups: int = 64,
    show_progress: bool = False,
) -> PerplexityResult:
    """The LMLM on the original text, making its own lookups (see the module docstring)."""
    from .dynamic import DynamicScorer

    scorer = DynamicScorer(model, tokenizer, lookup_fn, miss_value, max_query_tokens, max_lookups)
    tally = Tally()
    for doc in tqdm(docs, desc=f"dynamic {name}", unit="doc", disable=not show_progress):
        view = categorize_raw(doc.annotated, tokenizer)
        scored = scorer.score(view.ids)
        n = len(scored.nll)  # raw tokens scored (a document longer than the model's window stops there)
        tally.add_tokens(np.asarray(scored.nll), view.categories[1 : n + 1])
        for category, nll in scored.query:
            tally.add(category, nll)
        tally.original_tokens += n
        tally.documents += 1
        tally.lookups += len(scored.paths)
        tally.paths.update(scored.paths)
    return PerplexityResult.from_tally(name, "dynamic", tally)


# ---------------------------------------------------------------------------------------------
# The evaluation: both models on the world's documents (or a file), JSON and PNG


@dataclass(frozen=True)
class PerplexityArgs:
    """What ``lmlm eval perplexity`` scores."""

    sets: tuple[str, ...] = field(
        default=("eval", "heldout"),
        metadata={
            "help": "eval: unseen biographies of trained people; heldout: biographies of held-out people"
        },
    )
    docs: str = field(default="", metadata={"help": "score this document file (paper JSON or JSONL) instead"})
    limit: int = field(default=150, metadata={"help": "documents per set (0: all)"})
    kinds: tuple[str, ...] = field(
        default=("static", "dynamic"), metadata={"help": "LMLM scorings: static, dynamic"}
    )
    miss_value: str = field(default="unknown", metadata={"help": "what a missed lookup inserts (dynamic)"})

    def __post_init__(self) -> None:
        bad = [s for s in self.sets if s not in ("eval", "heldout")]
        if bad or not self.sets:
            raise ValueError(f"--sets must be among eval, heldout; got {list(self.sets)}")
        if not self.kinds or any(k not in ("static", "dynamic") for k in self.kinds):
            raise ValueError(f"--kinds must be among static, dynamic; got {list(self.kinds)}")
        if self.limit < 0:
            raise ValueError(f"--limit must be >= 0, got {self.limit}")


def document_sets(models, args: PerplexityArgs) -> dict[str, list[Document]]:
    from lmlm.train.corpus import load_documents

    from .world_sets import WorldSets

    if args.docs:
        sets = {Path(args.docs).stem: load_documents(args.docs)}
    else:
        world = WorldSets(models.world)
        sets = {s: world.eval_documents() if s == "eval" else world.heldout_documents() for s in args.sets}
    return {name: docs[: args.limit] if args.limit else docs for name, docs in sets.items()}


def run_perplexity(models, args: PerplexityArgs, out_dir: str | Path, *, show_progress: bool = True) -> dict:
    """Standard, LMLM static and LMLM dynamic on each document set; writes perplexity.json/.png."""
    from .systems import load_causal_lm, open_lmlm

    models = models.require("lmlm", "standard", "store")
    sets = document_sets(models, args)
    table: dict[str, dict[str, dict]] = {name: {} for name in sets}
    model, tokenizer = load_causal_lm(models.standard, models.device)
    for name, docs in tqdm(sets.items(), desc="perplexity standard", disable=not show_progress):
        table[name]["standard"] = standard_perplexity(
            model, tokenizer, docs, batch_size=models.batch_size
        ).to_dict()
    with open_lmlm(models.lmlm, models.store, models.device) as (lmlm, _kg):
        tokenizer = lmlm.lmlm_tokenizer
        for name, docs in sets.items():
            if "static" in args.kinds:
                result = static_perplexity(lmlm, tokenizer, docs, batch_size=models.batch_size)
                table[name]["lmlm_static"] = result.to_dict()
            if "dynamic" in args.kinds:
                result = dynamic_perplexity(
                    lmlm,
                    tokenizer,
                    docs,
                    lmlm.lookup_fn,
                    miss_value=args.miss_value,
                    show_progress=show_progress,
                )
                table[name]["lmlm_dynamic"] = result.to_dict()
    report = {"models": asdict(models), "settings": asdict(args), "sets": table}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "perplexity.json", report)
    plot_perplexity(report, out / "perplexity.png")
    return report


def plot_perplexity(report: dict, path: Path) -> Path:
    """Normalized perplexity per set and model, and the per-category losses."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sets = report["sets"]
    fig = Figure(figsize=(6 * len(sets) + 1, 4.2))
    FigureCanvasAgg(fig)
    for k, (name, rows) in enumerate(sets.items()):
        ax = fig.add_subplot(1, 2 * len(sets), 2 * k + 1)
        bars = ax.bar(
            list(rows), [r["normalized_ppl"] for r in rows.values()], color=["C0", "C1", "C2"][: len(rows)]
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_title(f"{name}: normalized perplexity")
        ax.tick_params(axis="x", labelsize=8)
        ax = fig.add_subplot(1, 2 * len(sets), 2 * k + 2)
        categories = list(CATEGORY_NAMES.values())
        width = 0.8 / len(rows)
        for j, (model, r) in enumerate(rows.items()):
            values = [r["loss"].get(c) or 0.0 for c in categories]
            ax.bar(np.arange(len(categories)) + j * width, values, width, label=model)
        ax.set_xticks(np.arange(len(categories)) + 0.4 - width / 2, categories)
        ax.set_title(f"{name}: loss per category (nats/token)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
