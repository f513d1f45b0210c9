"""Knowledge completion: does a model complete a fact from a prefix, with and without lookups?

Items come from LAMA/T-REx-style JSONL files (any local file: a record holds ``masked_sentence``
with ``[MASK]`` and ``obj_surface``, or ``evidences`` with those fields, or ``masked_sentences``
with ``obj_label``; ``predicate_id`` names the relation) or from a generated world (its cloze
prompts, or its questions as ``Question: ...\\nAnswer:``). The prompt is the text before ``[MASK]``.

Each system decodes greedily from the prompt; two scores per item, on normalised words
(lower case, punctuation and the articles a/an/the removed, as SQuAD normalises answers):

* ``first_words``: the first ``n`` words of the continuation are the answer's ``n`` words;
* ``contains``: the answer's words appear in order, contiguous, anywhere in the continuation.

Results overall and per relation, for held-out and trained people apart when the world says so.
"""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.kg.errors import InputFormatError

from .entry_point import write_json
from .world_sets import WorldSets, read_jsonl

MASK = "[MASK]"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans(string.punctuation, " " * len(string.punctuation))


@dataclass(frozen=True)
class CompletionItem:
    prompt: str
    answer: str
    relation: str = ""
    group: str = ""  # e.g. heldout / trained; "" when the source does not say
    id: str = ""


def normalize_words(text: str) -> list[str]:
    """Lower case, punctuation and articles removed, split on whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split()


def score_completion(continuation: str, answer: str) -> tuple[bool, bool]:
    """(first words match, contains) of ``continuation`` against ``answer`` (see the module docstring)."""
    got, want = normalize_words(continuation), normalize_words(answer)
    if not want:
        return False, False
    first = got[: len(want)] == want
    contains = any(got[i : i + len(want)] == want for i in range(len(got) - len(want) + 1))
    return first, contains


def read_lama(path: str | Path) -> list[CompletionItem]:
    """Items of a LAMA/T-REx-style JSONL file (see the module docstring); errors name the line."""
    path = Path(path)
    items: list[CompletionItem] = []
    for number, record in enumerate(read_jsonl(path), start=1):
        relation = str(record.get("predicate_id") or record.get("relation") or "")
        found = list(_lama_pairs(record))
        if not found:
            raise InputFormatError(
                str(path),
                f"record {number}",
                "needs masked_sentence(s) with [MASK] and obj_surface or obj_label",
            )
        for k, (sentence, answer) in enumerate(found):
            if sentence.count(MASK) < 1:
                raise InputFormatError(str(path), f"record {number}", f"no {MASK} in {sentence[:80]!r}")
            prompt = sentence[: sentence.index(MASK)].rstrip()
            if prompt:  # a sentence that opens with the mask gives no prefix to complete
                items.append(CompletionItem(prompt, answer, relation, "", f"{path.stem}-{number}-{k}"))
    return items


def _lama_pairs(record: dict) -> Iterable[tuple[str, str]]:
    label = record.get("obj_surface") or record.get("obj_label")
    if isinstance(record.get("masked_sentence"), str) and label:
        yield record["masked_sentence"], str(label)
    for sentence in record.get("masked_sentences") or ():
        if isinstance(sentence, str) and label:
            yield sentence, str(label)
    for evidence in record.get("evidences") or ():
        answer = evidence.get("obj_surface") or record.get("obj_label")
        if isinstance(evidence.get("masked_sentence"), str) and answer:
            yield evidence["masked_sentence"], str(answer)


def world_items(world: WorldSets, kind: str) -> list[CompletionItem]:
    """The world's ``cloze`` or ``qa`` items, grouped held-out / trained."""
    if kind not in ("cloze", "qa"):
        raise ValueError(f"world set must be cloze or qa, got {kind!r}")
    items = []
    for r in world.records(kind):
        prompt = r["prompt"] if kind == "cloze" else f"Question: {r['question']}\nAnswer:"
        group = "heldout" if r.get("heldout") else "trained"
        items.append(CompletionItem(prompt, r["answer"], r["relation"], group, r["id"]))
    return items


@dataclass
class _Counts:
    n: int = 0
    first_words: int = 0
    contains: int = 0

    def add(self, first: bool, contains: bool) -> None:
        self.n += 1
        self.first_words += first
        self.contains += contains

    def to_dict(self) -> dict:
        def share(k):
            return round(k / self.n, 4) if self.n else None

        return {"n": self.n, "first_words": share(self.first_words), "contains": share(self.contains)}


@dataclass
class CompletionScore:
    """One system on one item set: overall, per relation, per group, and a few examples."""

    overall: _Counts = field(default_factory=_Counts)
    relations: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    groups: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    examples: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            **self.overall.to_dict(),
            "relations": {k: v.to_dict() for k, v in sorted(self.relations.items())},
            "groups": {k: v.to_dict() for k, v in sorted(self.groups.items())},
            "examples": self.examples,
        }


def score_items(
    items: Sequence[CompletionItem], continuations: Sequence[str], examples: int = 5
) -> CompletionScore:
    score = CompletionScore()
    for item, text in zip(items, continuations):
        first, contains = score_completion(text, item.answer)
        score.overall.add(first, contains)
        score.relations[item.relation or "-"].add(first, contains)
        if item.group:
            score.groups[item.group].add(first, contains)
        if len(score.examples) < examples:
            score.examples.append({"prompt": item.prompt, "answer": item.answer, "output": text})
    return score


# ---------------------------------------------------------------------------------------------
# The evaluation


@dataclass(frozen=True)
class CompletionArgs:
    """What ``lmlm eval completion`` runs."""

    lama: tuple[str, ...] = field(default=(), metadata={"help": "LAMA/T-REx-style JSONL files"})
    world_sets: tuple[str, ...] = field(default=("cloze", "qa"), metadata={"help": "world sets: cloze, qa"})
    limit: int = field(default=600, metadata={"help": "items per set, a seeded sample (0: all)"})
    max_new_tokens: int = field(default=12, metadata={"help": "text tokens generated per item"})

    def __post_init__(self) -> None:
        bad = [s for s in self.world_sets if s not in ("cloze", "qa")]
        if bad:
            raise ValueError(f"--world-sets must be among cloze, qa; got {bad}")
        if self.limit < 0 or self.max_new_tokens < 1:
            raise ValueError(
                f"--limit must be >= 0 and --max-new-tokens >= 1, got {self.limit}, {self.max_new_tokens}"
            )


def spread(items: list, limit: int, seed: int = 0) -> list:
    """``limit`` items drawn with ``seed``, in their original order (all when ``limit`` is 0 or
    more than there are)."""
    if not limit or len(items) <= limit:
        return items
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), limit))]


def run_completion(models, args: CompletionArgs, out_dir: str | Path, *, show_progress: bool = True) -> dict:
    """LMLM with lookups, LMLM without, Standard, on each item set; writes completion.json/.png."""
    from .systems import generate_texts, load_causal_lm, open_lmlm

    needs_world = bool(args.world_sets)
    models = models.require("lmlm", "standard", "store", *(("world",) if needs_world else ()))
    sets = {Path(p).stem: read_lama(p) for p in args.lama}
    if needs_world:
        world = WorldSets(models.world)
        sets.update({f"world-{kind}": world_items(world, kind) for kind in args.world_sets})
    sets = {name: spread(items, args.limit) for name, items in sets.items()}
    results: dict[str, dict[str, dict]] = {name: {} for name in sets}

    def run(system: str, model, tokenizer, lookup: bool) -> None:
        for name, items in tqdm(sets.items(), desc=f"completion {system}", disable=not show_progress):
            outputs = generate_texts(
                model,
                tokenizer,
                [i.prompt for i in items],
                lookup=lookup,
                max_new_tokens=args.max_new_tokens,
                batch_size=models.batch_size,
            )
            results[name][system] = score_items(items, [o.text for o in outputs]).to_dict()

    with open_lmlm(models.lmlm, models.store, models.device) as (lmlm, _kg):
        run("lmlm", lmlm, lmlm.lmlm_tokenizer, True)
        run("lmlm_no_lookup", lmlm, lmlm.lmlm_tokenizer, False)
    model, tokenizer = load_causal_lm(models.standard, models.device)
    run("standard", model, tokenizer, False)
    report = {"models": asdict(models), "settings": asdict(args), "sets": results}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "completion.json", report)
    plot_completion(report, out / "completion.png")
    return report


def plot_completion(report: dict, path: Path) -> Path:
    """Per set: first-words and contains accuracy of each system, split by group where there is one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sets = report["sets"]
    fig = Figure(figsize=(5.5 * max(1, len(sets)), 4))
    FigureCanvasAgg(fig)
    for k, (name, systems) in enumerate(sets.items()):
        ax = fig.add_subplot(1, max(1, len(sets)), k + 1)
        columns = [(g, s) for s in systems for g in (list(systems[s]["groups"]) or ["all"])]
        labels = [f"{s}\n{g}" for g, s in columns]
        for j, metric in enumerate(("first_words", "contains")):
            values = [(systems[s]["groups"].get(g) or systems[s])[metric] or 0.0 for g, s in columns]
            bars = ax.bar([x + 0.4 * j for x in range(len(columns))], values, 0.4, label=metric)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks([x + 0.2 for x in range(len(columns))], labels, fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
