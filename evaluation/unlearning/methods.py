"""Forgetting methods: deleting facts from an LMLM's store, and fine-tuning weights on the forget set.

**delete** (an LMLM): each forget person's facts are removed from the store
(``KnowledgeGraph.forget(person)``: the person's facts and aliases; facts of other people that
name them as a value stay, being those people's facts), with the leak audit of each change (facts
still stored whose keys lie near a forgotten one). Seconds count the deletions in the store; the
fuzzy index's catch-up and the audit are timed apart (see :func:`delete_people`).

Fine-tuning the weights (a Standard model, or an LMLM's weights as if it were one), on the forget
people's biographies; the loss is per token, over the tokens pretraining trains (an LMLM's looked-up
values stay masked):

* **ga** (gradient ascent): minimise ``-L_forget``;
* **gd** (gradient difference): minimise ``-L_forget + L_retain`` (a retain batch of the same size);
* **npo** (Zhang et al., 2024): minimise ``-(2/β) · mean log σ(-β · (log π_θ(y) - log π_ref(y)))`` over
  forget documents, with sequence log-likelihoods over the trained tokens and ``π_ref`` the model
  before fine-tuning.

AdamW, linear warmup then linear decay to 0 (the Hugging Face Trainer's default schedule, which
TOFU uses), gradient norm clipped at 1.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lmlm.train.masking import IGNORE_INDEX, encode_documents

from .config import UnlearnConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForgetRun:
    """What a forgetting method did: seconds, and its own figures (steps and last loss, or changes)."""

    method: str
    seconds: float
    details: dict


def delete_people(kg, people: Sequence[str], *, audit: bool = True) -> ForgetRun:
    """Deletes every fact about each person (see the module docstring).

    ``seconds`` times the deletions in the store: once they are committed no lookup returns the
    facts (the resolver checks every fuzzy hit against the store). With the fuzzy index not yet
    loaded, as here, it catches up with the change log on the next fuzzy lookup: that load and
    replay is timed apart (``index_seconds``), as is the audit. A loaded index would follow each
    change inline instead (about 7 ms per change with the demo's 14k keys).
    """
    start = time.perf_counter()
    changes = [kg.forget(person) for person in people]
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    kg.resolver().resolve(
        "\u2063index catch-up", "\u2063index catch-up"
    )  # an exact miss loads and syncs the index
    index_seconds = time.perf_counter() - start
    candidates, audit_seconds = [], 0.0
    if audit:
        start = time.perf_counter()
        for change in changes:
            candidates += [c.to_dict() for c in kg.leak_audit(change)]
        audit_seconds = time.perf_counter() - start
    details = {
        "people": len(people),
        "facts_removed": sum(c.removed_count or len(c.removed) for c in changes),
        "index_seconds": round(index_seconds, 3),
        "leak_candidates": len(candidates),
        "leak_examples": candidates[:10],
        "audit_seconds": round(audit_seconds, 3),
    }
    return ForgetRun("delete", seconds, details)


def _batches(texts: Sequence[str], tokenizer, mode: str) -> list[tuple[list[int], list[bool]]]:
    return [(list(d.input_ids), list(d.trained)) for d in encode_documents(list(texts), tokenizer, mode)]


def _collate(docs, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids, _ in docs)
    ids = torch.zeros((len(docs), width), dtype=torch.long)
    labels = torch.full((len(docs), width), IGNORE_INDEX, dtype=torch.long)
    for b, (tokens, trained) in enumerate(docs):
        ids[b, : len(tokens)] = torch.tensor(tokens)
        labels[b, : len(tokens)] = torch.tensor(
            [t if keep else IGNORE_INDEX for t, keep in zip(tokens, trained)]
        )
    return ids.to(device), labels.to(device)


def sequence_nll(model, ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed NLL per sequence, trained tokens per sequence), shapes (B,)."""
    logits = model(input_ids=ids, use_cache=False).logits  # right padding: no real token sees a pad
    targets = labels[:, 1:]
    nll = F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    ).view(targets.shape)
    return nll.sum(-1), (targets != IGNORE_INDEX).sum(-1)


def _mean_token_nll(model, batch) -> torch.Tensor:
    total, count = sequence_nll(model, *batch)
    return total.sum() / count.sum().clamp(min=1)


def finetune_forget(
    model,
    tokenizer,
    method: str,
    forget_texts: Sequence[str],
    retain_texts: Sequence[str],
    mode: str,
    cfg: UnlearnConfig,
    *,
    show_progress: bool = False,
) -> ForgetRun:
    """Fine-tunes ``model`` in place with ``method`` (ga, gd or npo) on the forget texts."""
    if method not in ("ga", "gd", "npo"):
        raise ValueError(f"not a fine-tuning method: {method!r}")
    device = next(model.parameters()).device
    forget = _batches(forget_texts, tokenizer, mode)
    retain = _batches(retain_texts, tokenizer, mode) if method == "gd" else []
    if method == "gd" and not retain:
        raise ValueError("gradient difference needs retain documents")
    rng = random.Random(cfg.seed)
    per_epoch = math.ceil(len(forget) / cfg.batch_size)
    total = max(1, math.ceil(cfg.epochs * per_epoch))
    warmup = round(cfg.warmup_epochs * per_epoch)
    start = time.perf_counter()
    reference = _reference_nll(model, forget, cfg.batch_size, device) if method == "npo" else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup)),
    )
    model.train()
    order: list[int] = []
    loss = torch.zeros(())
    for _step in tqdm(range(total), desc=f"unlearn {method}", disable=not show_progress, leave=False):
        if len(order) < cfg.batch_size:
            order += rng.sample(range(len(forget)), len(forget))
        chosen, order = order[: cfg.batch_size], order[cfg.batch_size :]
        batch = _collate([forget[i] for i in chosen], device)
        if method == "npo":
            nll, _count = sequence_nll(model, *batch)
            log_ratio = reference[chosen].to(device) - nll  # log π_θ - log π_ref
            loss = -2.0 / cfg.npo_beta * F.logsigmoid(-cfg.npo_beta * log_ratio).mean()
        else:
            loss = -_mean_token_nll(model, batch)
            if method == "gd":
                loss = loss + _mean_token_nll(
                    model, _collate(rng.sample(retain, min(len(retain), len(chosen))), device)
                )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    seconds = time.perf_counter() - start
    return ForgetRun(
        method,
        seconds,
        {"steps": total, "forget_documents": len(forget), "last_loss": round(float(loss.detach()), 4)},
    )


@torch.no_grad()
def _reference_nll(model, docs, batch_size: int, device) -> torch.Tensor:
    """Summed NLL of each forget document under the model before fine-tuning (NPO's π_ref)."""
    frozen = model.eval()
    out = []
    for start in range(0, len(docs), batch_size):
        nll, _ = sequence_nll(frozen, *_collate(docs[start : start + batch_size], device))
        out.append(nll.cpu())
    return torch.cat(out)
