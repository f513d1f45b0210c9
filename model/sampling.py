"""Logit processing and token choice for the lookup decoder, batched over rows.

The order is the one Hugging Face ``generate`` uses, so that greedy decoding here and in the
reference loop (which calls ``generate``) pick the same tokens: repetition penalty, then the
lookup-token bias and suppression (our processors), then temperature and top-p.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START

# The paper's decoding bias: +4 on the opener, +2 on the other lookup tokens.
PAPER_LOGIT_BIAS = {DB_START: 4.0, DB_SEP: 2.0, DB_RETURN: 2.0, DB_END: 2.0}


@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is chosen. ``do_sample=False`` is greedy and ignores temperature/top-p."""

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty on every token already in the row: logits (B, V), seen (B, V) bool."""
    if penalty == 1.0:
        return logits
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(seen, penalised, logits)


def apply_bias(logits: torch.Tensor, bias_ids: torch.Tensor, bias_values: torch.Tensor) -> torch.Tensor:
    """Adds ``bias_values`` (K,) to the columns ``bias_ids`` (K,) of every row."""
    if bias_ids.numel() == 0:
        return logits
    logits = logits.clone()
    logits[:, bias_ids] += bias_values.to(logits.dtype)
    return logits


def suppress(logits: torch.Tensor, rows: torch.Tensor, token_id: int) -> torch.Tensor:
    """``-inf`` on ``token_id`` for the rows where ``rows`` (B,) is True."""
    if not bool(rows.any()):
        return logits
    logits = logits.clone()
    logits[rows, token_id] = float("-inf")
    return logits


def forbid(logits: torch.Tensor, per_row: list[tuple[int, ...]]) -> torch.Tensor:
    """``-inf`` on each row's forbidden token ids (the same few ids for most rows)."""
    rows = [b for b, ids in enumerate(per_row) for _ in ids]
    cols = [i for ids in per_row for i in ids]
    if not rows:
        return logits
    logits = logits.clone()
    logits[rows, cols] = float("-inf")
    return logits


def choose_tokens(
    logits: torch.Tensor, config: SamplingConfig, generator: torch.Generator | None
) -> torch.Tensor:
    """(B, V) processed logits -> (B,) token ids."""
    if not config.do_sample:
        return logits.argmax(dim=-1)
    scores = logits.float() / config.temperature
    if config.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=False)
        cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative <= (1 - config.top_p)
        drop_sorted[..., -1:] = False  # keep at least the best token
        drop = drop_sorted.scatter(1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))
    probs = scores.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)
