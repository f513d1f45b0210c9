"""Token log-likelihoods under a causal LM: the one primitive every scoring evaluation uses.

``token_nll(model, sequences)`` gives, for each sequence of ids, the negative log-likelihood of
every token given the ones before it (entry 0 is NaN: nothing precedes it). Sequences are sorted
by length and right-padded into batches; one longer than ``window`` is scored with a sliding
window of ``window`` tokens and stride ``window // 2``, each token once, with as much context as
the window allows. Softmax in float32.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch


def model_window(model, default: int = 1024) -> int:
    """The most positions ``model`` takes (``max_position_embeddings`` / ``n_positions``)."""
    config = getattr(model, "config", None)
    return int(
        getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or default
    )


def windows(n: int, window: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, first scored position) of windows over ``n`` tokens: each position but the first
    is scored exactly once, by the window that gives it the most context."""
    stride = max(1, window // 2)
    scored_to = 1
    for start in range(0, max(1, n - 1), stride):
        end = min(start + window, n)
        yield start, end, max(scored_to, start + 1)
        scored_to = end
        if end == n:
            return


@torch.no_grad()
def token_nll(
    model, sequences: Sequence[Sequence[int]], *, batch_size: int = 16, window: int | None = None
) -> list[np.ndarray]:
    """Per-token NLL (nats, float64) of each sequence; entry 0 of each is NaN."""
    window = window or model_window(model)
    device = next(model.parameters()).device
    out: list[np.ndarray | None] = [None] * len(sequences)
    short = [i for i, s in enumerate(sequences) if len(s) <= window]
    for i in (i for i, s in enumerate(sequences) if len(s) > window):
        out[i] = _windowed(model, list(sequences[i]), window, device)
    short.sort(key=lambda i: len(sequences[i]))
    for start in range(0, len(short), batch_size):
        rows = short[start : start + batch_size]
        for i, nll in zip(rows, _batch(model, [list(sequences[i]) for i in rows], device)):
            out[i] = nll
    return out  # type: ignore[return-value]


def _batch(model, seqs: list[list[int]], device) -> list[np.ndarray]:
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[b, : len(s)] = 1
    ids, mask = ids.to(device), mask.to(device)
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits  # (B, T, V)
    logprobs = logits[:, :-1].float().log_softmax(-1)
    nll = -logprobs.gather(-1, ids[:, 1:, None])[..., 0].double().cpu().numpy()  # (B, T-1)
    return [np.concatenate([[np.nan], nll[b, : len(s) - 1]]) for b, s in enumerate(seqs)]


def _windowed(model, seq: list[int], window: int, device) -> np.ndarray:
    nll = np.full(len(seq), np.nan)
    for start, end, first in windows(len(seq), window):
        [part] = _batch(model, [seq[start:end]], device)
        nll[first:end] = part[first - start :]
    return nll


def continuation_nll(
    model,
    contexts: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[int]],
    *,
    batch_size: int = 16,
) -> list[np.ndarray]:
    """NLL of each continuation's tokens after its context (the context itself is not scored)."""
    if len(contexts) != len(continuations):
        raise ValueError(f"{len(contexts)} contexts for {len(continuations)} continuations")
    for k, (ctx, cont) in enumerate(zip(contexts, continuations)):
        if not ctx or not cont:
            raise ValueError(f"item {k}: the context and the continuation need at least one token each")
    joined = [list(c) + list(x) for c, x in zip(contexts, continuations)]
    nll = token_nll(model, joined, batch_size=batch_size)
    return [n[len(c) :] for n, c in zip(nll, contexts)]
