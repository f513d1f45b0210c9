"""One model, as it stands after a forgetting method, measured on the experiment's questions.

A :class:`System` is a model and its tokenizer, with a lookup function when it is an LMLM (its
store as it stands). :func:`evaluate_system` gives its truth ratios on the forget facts, whether it
still states them (greedy continuation of the prompt holds the value; for an LMLM, whether the
value came through a lookup, through the fuzzy path in particular, or from the weights) and the
utility components of :mod:`.metrics`. :func:`probe_fuzzy` asks the resolver directly for each
forgotten fact, under reworded queries, and counts the forgotten values it still returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from lmlm.kg.facts import normalize_key
from lmlm.train.corpus import Document

from ..completion import normalize_words, score_completion
from ..loglik import continuation_nll
from ..perplexity import standard_perplexity, static_perplexity
from ..systems import generate_texts
from . import metrics
from .items import TruthItem

# Reworded relations for the fuzzy probe: what a model (or a user) might write instead.
REWORDED = {
    "Date of birth": "born on",
    "Place of birth": "birthplace",
    "Occupation": "profession",
    "Employer": "works for",
    "Educated at": "studied at",
    "Award received": "award",
    "Spouse": "married to",
    "Sibling": "brother or sister",
    "Parent": "mother or father",
}


@dataclass(frozen=True)
class System:
    name: str
    model: object
    tokenizer: object
    lookup_fn: Callable | None = None  # an LMLM's store; None for a model without lookups
    miss_value: str = "unknown"


@dataclass(frozen=True)
class EvalItems:
    forget: list[TruthItem]
    retain: list[TruthItem]
    world: list[TruthItem]
    docs: list[Document]  # retain people's unseen biographies (general text)


@dataclass
class SystemEval:
    forget_ratios: list[float]
    forget: dict
    retain: dict
    world: dict
    text: float
    utility_components: dict = field(default_factory=dict)
    utility: float = 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["forget_ratios"] = [round(r, 6) for r in self.forget_ratios]
        return out


def answer_losses(system: System, items: Sequence[TruthItem], batch_size: int) -> list[np.ndarray]:
    """``L`` (mean NLL per token) of each item's answers: the correct one first, then the perturbed."""
    tok = system.tokenizer
    if system.lookup_fn is not None:
        answers = system.lookup_fn([(i.entity, i.relation) for i in items])
        texts = [
            i.lmlm_context(getattr(a, "value", None) or system.miss_value) for i, a in zip(items, answers)
        ]
    else:
        texts = [i.prompt for i in items]
    contexts, continuations = [], []
    for item, text in zip(items, texts):
        ctx = [tok.eos_token_id, *tok.encode(text, add_special_tokens=False)]
        for answer in (item.answer, *item.perturbed):
            contexts.append(ctx)
            continuations.append(tok.encode(" " + answer, add_special_tokens=False))
    nll = continuation_nll(system.model, contexts, continuations, batch_size=batch_size)
    losses = iter(metrics.mean_nll(n) for n in nll)
    return [np.array([next(losses) for _ in range(1 + len(item.perturbed))]) for item in items]


def _generate(system: System, items: Sequence[TruthItem], max_new_tokens: int, batch_size: int) -> list:
    lookup = system.lookup_fn is not None
    if lookup:
        system.model.lookup_fn = system.lookup_fn
    prompts = [i.prompt for i in items]
    return generate_texts(
        system.model,
        system.tokenizer,
        prompts,
        lookup=lookup,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )


def _fact_scores(
    system: System, items: Sequence[TruthItem], max_new_tokens: int, batch_size: int, world: bool
):
    losses = answer_losses(system, items, batch_size)
    ratios = [metrics.truth_ratio(row[0], row[1:]) for row in losses]
    prob = [
        metrics.choice_probability(row[0], row[1:]) if world else metrics.answer_probability(row[0])
        for row in losses
    ]
    outputs = _generate(system, items, max_new_tokens, batch_size)
    rouge = [metrics.rouge_l_recall(o.text, i.answer) for o, i in zip(outputs, items)]
    return ratios, float(np.mean(prob)), float(np.mean(rouge)), outputs


def _same_entity(answer, entity: str) -> bool:
    matched = getattr(answer, "matched_entity", None) or getattr(answer, "entity", None)
    return matched is not None and normalize_key(matched) == normalize_key(entity)


def _stated(items: Sequence[TruthItem], outputs: Sequence) -> dict:
    """Shares of the facts whose continuation states the value: in all; those whose lookup returned
    the fact itself (its entity, its value), through the fuzzy path in particular; and those whose
    value came from no lookup at all (the weights). A lookup answered with another entity's equal
    value (a look-alike name whose fact happens to match) is stated, but neither."""
    stated = store = fuzzy = weights = answered_fuzzy = 0
    for item, out in zip(items, outputs):
        answered_fuzzy += any(r.path == "fuzzy" for r in out.lookups)
        said = score_completion(out.text, item.answer)[1]
        looked = [r for r in out.lookups if normalize_words(r.value or "") == normalize_words(item.value)]
        returned = [r for r in looked if _same_entity(r, item.entity)]
        stated += said
        store += bool(returned)
        fuzzy += any(r.path == "fuzzy" for r in returned)
        weights += said and not looked
    n = max(1, len(items))
    shares = {"stated": stated, "through_store": store, "through_fuzzy": fuzzy, "by_weights": weights}
    shares["fuzzy_answers"] = answered_fuzzy  # prompts with any lookup answered by the fuzzy path
    return {name: round(count / n, 4) for name, count in shares.items()}


def evaluate_system(system: System, items: EvalItems, *, max_new_tokens: int, batch_size: int) -> SystemEval:
    f_ratios, f_prob, f_rouge, f_out = _fact_scores(system, items.forget, max_new_tokens, batch_size, False)
    r_ratios, r_prob, r_rouge, _ = _fact_scores(system, items.retain, max_new_tokens, batch_size, False)
    w_ratios, w_prob, w_rouge, _ = _fact_scores(system, items.world, max_new_tokens, batch_size, True)
    if system.lookup_fn is not None:
        text = static_perplexity(
            system.model,
            system.tokenizer,
            items.docs,
            lookup_fn=system.lookup_fn,
            miss_value=system.miss_value,
            batch_size=batch_size,
        ).text_ppl
    else:
        text = standard_perplexity(system.model, system.tokenizer, items.docs, batch_size=batch_size).ppl
    components = {
        "retain_prob": r_prob,
        "retain_rouge": r_rouge,
        "retain_truth": metrics.truth_score(r_ratios),
        "world_prob": w_prob,
        "world_rouge": w_rouge,
        "world_truth": metrics.truth_score(w_ratios),
        "text_prob": 1.0 / text if items.docs else None,
    }
    components = {k: round(v, 6) for k, v in components.items() if v is not None}
    return SystemEval(
        forget_ratios=f_ratios,
        forget={"prob": round(f_prob, 4), "rouge": round(f_rouge, 4), **_stated(items.forget, f_out)},
        retain={
            "prob": round(r_prob, 4),
            "rouge": round(r_rouge, 4),
            "truth": round(metrics.truth_score(r_ratios), 4),
        },
        world={
            "prob": round(w_prob, 4),
            "rouge": round(w_rouge, 4),
            "truth": round(metrics.truth_score(w_ratios), 4),
        },
        text=round(1.0 / text, 6) if items.docs else 0.0,
        utility_components=components,
        utility=round(metrics.harmonic_mean(components), 6),
    )


def probe_fuzzy(lookup_fn: Callable, facts: Sequence[tuple[str, str, str]]) -> dict:
    """Each forgotten fact asked as stored, in lower case and with a reworded relation. ``leaked``:
    facts for which the resolver still answers with the fact itself (the forgotten entity's value),
    by path; ``same_value_elsewhere``: answers of another entity that happen to hold the same value."""
    queries, owners = [], []
    for k, (entity, relation, _value) in enumerate(facts):
        for q in (
            (entity, relation),
            (entity.lower(), relation.lower()),
            (entity, REWORDED.get(relation, relation)),
        ):
            queries.append(q)
            owners.append(k)
    answers = lookup_fn(queries) if queries else []
    leaked: dict[int, str] = {}
    elsewhere: set[int] = set()
    for k, answer in zip(owners, answers):
        value = getattr(answer, "value", None)
        if value is None or normalize_words(value) != normalize_words(facts[k][2]):
            continue
        if _same_entity(answer, facts[k][0]):
            leaked.setdefault(k, getattr(answer, "path", "exact"))
        else:
            elsewhere.add(k)
    paths = list(leaked.values())
    return {
        "facts": len(facts),
        "queries": len(queries),
        "leaked": len(leaked),
        "leaked_share": round(len(leaked) / max(1, len(facts)), 4),
        "leaked_fuzzy": paths.count("fuzzy"),
        "leaked_exact": paths.count("exact"),
        "same_value_elsewhere": len(elsewhere - set(leaked)),
    }
