"""The logit rules of lookup decoding and the token choice, batched over rows.

Each rule is a small callable in the style of ``transformers``' logits processors: it checks its
settings in ``__init__`` and maps ``scores`` (B, V) to new scores in ``__call__(scores, rows)``,
where ``rows`` says what it may need of the B rows (their ``RowState`` and the tokens already in
them). :class:`LogitRules` builds the rules a ``DecodingArgs`` asks for; the KV-cached decoder calls
it directly and the reference loop through a Hugging Face ``LogitsProcessor`` adapter, so both apply
the same rules in the same order. That order is the one Hugging Face ``generate`` uses (repetition
penalty first, then the lookup rules, then temperature and top-p), so greedy decoding here and in
``generate`` picks the same tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from .decoding_args import DecodingArgs
from .lookup_state import LookupTokenIds, RowState


@dataclass(frozen=True)
class StepRows:
    """What a rule may look at for the B rows of one step."""

    states: Sequence[RowState]
    seen: torch.Tensor | None = None  # (B, V) bool: tokens already in the row (prompt included)


class LogitRule(Protocol):
    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor: ...


class RepetitionPenalty:
    """CTRL-style: each token already in the row has its logit divided by ``penalty`` (multiplied
    when negative), as ``transformers``' ``RepetitionPenaltyLogitsProcessor``."""

    needs_seen = True

    def __init__(self, penalty: float):
        if not penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0, got {penalty}")
        self.penalty = float(penalty)

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        if rows.seen is None:
            raise ValueError("the repetition penalty needs the tokens seen in each row")
        penalised = torch.where(scores < 0, scores * self.penalty, scores / self.penalty)
        return torch.where(rows.seen, penalised, scores)


class LookupTokenBias:
    """Adds a fixed bias to some token ids in every row (the paper's +4 on the opener, +2 on the others)."""

    def __init__(self, bias: Mapping[int, float]):
        for token, value in bias.items():
            if not isinstance(token, int) or token < 0:
                raise ValueError(f"logit bias: token ids must be ints >= 0, got {token!r}")
            if not math.isfinite(value):
                raise ValueError(f"logit bias: values must be finite, got {value!r} for token {token}")
        self.ids = torch.tensor(list(bias), dtype=torch.long)
        self.values = torch.tensor(list(bias.values()), dtype=torch.float32)

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        if self.ids.numel() == 0:
            return scores
        scores = scores.clone()
        scores[:, self.ids.to(scores.device)] += self.values.to(scores.device, scores.dtype)
        return scores


class MaxLookupsSuppression:
    """``-inf`` on the opener in the rows that have made ``max_lookups`` lookups: they write on in
    plain text."""

    def __init__(self, start_id: int, max_lookups: int):
        if max_lookups < 0:
            raise ValueError(f"max_lookups must be >= 0, got {max_lookups}")
        self.start_id, self.max_lookups = start_id, max_lookups

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        capped = [b for b, state in enumerate(rows.states) if state.lookups >= self.max_lookups]
        if not capped:
            return scores
        scores = scores.clone()
        scores[capped, self.start_id] = float("-inf")
        return scores


class SuppressEos:
    """``-inf`` on EOS in every row (benchmarks: outputs of exactly ``max_new_tokens`` text tokens)."""

    def __init__(self, eos_id: int):
        if eos_id < 0:
            raise ValueError(f"eos id must be >= 0, got {eos_id}")
        self.eos_id = eos_id

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        scores = scores.clone()
        scores[:, self.eos_id] = float("-inf")
        return scores


class GrammarConstraint:
    """``-inf`` on the lookup tokens that cannot come next in each row's place in the lookup grammar
    (``RowState.forbidden``): no stray separator or return in text, no nested opener."""

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        per_row = [state.forbidden() for state in rows.states]
        row_index = [b for b, ids in enumerate(per_row) for _ in ids]
        if not row_index:
            return scores
        scores = scores.clone()
        scores[row_index, [i for ids in per_row for i in ids]] = float("-inf")
        return scores


class LogitRules:
    """The rules a ``DecodingArgs`` asks for, applied in order."""

    def __init__(self, rules: Sequence[LogitRule]):
        self.rules = tuple(rules)
        self.needs_seen = any(getattr(rule, "needs_seen", False) for rule in self.rules)

    @classmethod
    def from_args(cls, args: DecodingArgs, ids: LookupTokenIds) -> LogitRules:
        rules: list[LogitRule] = []
        if args.repetition_penalty != 1.0:
            rules.append(RepetitionPenalty(args.repetition_penalty))
        if args.bias:
            by_token = ids.by_token()
            rules.append(LookupTokenBias({by_token[token]: value for token, value in args.bias.items()}))
        if args.max_lookups is not None:
            rules.append(MaxLookupsSuppression(ids.start, args.max_lookups))
        if args.ignore_eos:
            rules.append(SuppressEos(ids.eos))
        if args.constrain:
            rules.append(GrammarConstraint())
        return cls(rules)

    def __call__(self, scores: torch.Tensor, rows: StepRows) -> torch.Tensor:
        for rule in self.rules:
            scores = rule(scores, rows)
        return scores


def choose_tokens(
    scores: torch.Tensor, args: DecodingArgs, generator: torch.Generator | None
) -> torch.Tensor:
    """(B, V) processed scores -> (B,) token ids: greedy, or sampled with temperature and top-p."""
    if not args.do_sample:
        return scores.argmax(dim=-1)
    scores = scores.float() / args.temperature
    if args.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=False)
        cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative <= (1 - args.top_p)
        drop_sorted[..., -1:] = False  # keep at least the best token
        drop = drop_sorted.scatter(1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    probs = scores.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)
