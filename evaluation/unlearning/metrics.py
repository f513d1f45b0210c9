"""TOFU's metrics (Maini et al., 2024), as its paper defines them and its code computes them.

For a question ``q`` with the correct answer ``a`` and perturbed (wrong) answers ``â_1..â_k``,
``L(x) = -log P(x | q) / |x|`` is the mean negative log-likelihood per token of answer ``x``.

* **Truth ratio** ``R = exp(L(a) - mean_i L(â_i))``: the geometric mean of the perturbed answers'
  length-normalised probabilities over the correct answer's (TOFU's code averages the log-losses;
  its paper writes the arithmetic mean of probabilities). ``R < 1``: the model prefers the truth.
* **Forget quality**: the p-value of the two-sample Kolmogorov-Smirnov test between the truth
  ratios of the unlearned model and of the retain reference (a model never trained on the forget
  set) on the same forget facts. High (>= 0.05): indistinguishable from never having learnt them.
* **Model utility**: the harmonic mean of, on retain facts and on world facts, the probability of
  the correct answer (retain: ``exp(-L(a))``; world: ``P(a) / (P(a) + Σ P(â_i))`` with length-
  normalised probabilities), the ROUGE-L recall of the greedy answer and ``mean(max(0, 1 - R))``;
  plus, for general text, ``exp(-loss)`` per token of unseen biographies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..completion import normalize_words


def mean_nll(token_nll: Sequence[float]) -> float:
    """``L``: mean NLL per token of one answer."""
    values = np.asarray(token_nll, dtype=float)
    if values.size == 0:
        raise ValueError("an answer without tokens has no likelihood")
    return float(values.mean())


def truth_ratio(correct: float, perturbed: Sequence[float]) -> float:
    """``R = exp(L(a) - mean_i L(â_i))`` from the mean per-token NLLs."""
    if not len(perturbed):
        raise ValueError("the truth ratio needs at least one perturbed answer")
    return math.exp(correct - float(np.mean(perturbed)))


def forget_quality(model_ratios: Sequence[float], reference_ratios: Sequence[float]) -> tuple[float, float]:
    """(p-value, KS statistic) of the two-sample KS test between the two truth-ratio samples."""
    from scipy.stats import ks_2samp

    if len(model_ratios) == 0 or len(reference_ratios) == 0:
        raise ValueError("forget quality needs truth ratios from both models")
    result = ks_2samp(np.asarray(model_ratios, dtype=float), np.asarray(reference_ratios, dtype=float))
    return float(result.pvalue), float(result.statistic)


def truth_score(ratios: Sequence[float]) -> float:
    """TOFU's utility term on retain/world facts: ``mean(max(0, 1 - R))``."""
    return float(np.mean(np.maximum(0.0, 1.0 - np.asarray(ratios, dtype=float))))


def answer_probability(correct: float) -> float:
    return math.exp(-correct)


def choice_probability(correct: float, perturbed: Sequence[float]) -> float:
    """``P(a) / (P(a) + Σ P(â_i))`` with length-normalised probabilities ``exp(-L)``."""
    p = math.exp(-correct)
    return p / (p + sum(math.exp(-x) for x in perturbed))


def rouge_l_recall(generated: str, reference: str) -> float:
    """ROUGE-L recall: longest common subsequence of words over the reference's words (words
    normalised as in :func:`~lmlm.evaluation.completion.normalize_words`; no stemming)."""
    gen, ref = normalize_words(generated), normalize_words(reference)
    if not ref:
        return 0.0
    previous = [0] * (len(gen) + 1)
    for r in ref:
        current = [0]
        for j, g in enumerate(gen):
            current.append(previous[j] + 1 if r == g else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1] / len(ref)


def harmonic_mean(values: Mapping[str, float] | Sequence[float]) -> float:
    """0 if any value is 0 (as ``scipy.stats.hmean`` gives)."""
    xs = list(values.values()) if isinstance(values, Mapping) else list(values)
    if not xs:
        raise ValueError("no values to average")
    if any(x < 0 for x in xs):
        raise ValueError(f"utility components must be >= 0, got {xs}")
    if any(x == 0 for x in xs):
        return 0.0
    return len(xs) / sum(1.0 / x for x in xs)
