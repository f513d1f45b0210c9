"""Lookup decoding: one KV-cached, batched loop that pauses rows on ``<|db_return|>``.

When a row emits ``<|db_return|>`` its query (the tokens since ``<|db_entity|>``) is decoded and
parsed, all rows that paused in the same step are resolved in one call of the lookup function,
and each value plus ``<|db_end|>`` is fed through the model in the same forward as the other rows'
next tokens (rows are right-padded within the step and masked), extending the cache. Nothing is
re-tokenized. Finished rows leave the batch (their cache rows are dropped).

The model sees the knowledge graph only through ``LookupFn``: a batched callable from
``(entity, relation)`` pairs to answers with ``value``, ``path``, ``score`` and ``fact_id``
(``lmlm.kg.Resolver`` is one).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from .lookup_rows import LookupFn, LookupRows, _Row
from .lookup_state import Action
from .results import GenerationOutput, post_process
from .sampling import (
    PAPER_LOGIT_BIAS,
    SamplingConfig,
    apply_bias,
    apply_repetition_penalty,
    choose_tokens,
    forbid,
    suppress,
)

logger = logging.getLogger(__name__)

FALLBACKS = ("unknown", "top1")


@dataclass(frozen=True)
class DecodingArgs:
    """Options of lookup decoding (the same for the decoder and the reference loop)."""

    max_new_tokens: int = 128
    """Text tokens to write per prompt: lookup queries and looked-up values do not count."""
    do_sample: bool = False
    """Sample instead of greedy decoding."""
    temperature: float = 1.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    logit_bias: dict[str, float] | str | None = None
    """Added to the lookup tokens' logits: a {token: bias} map, or "paper" (+4 opener, +2 others)."""
    enable_lookup: bool = True
    """False: the model writes its own values (no resolver call)."""
    max_lookups: int | None = None
    """Per row; once reached the opener is suppressed and the model writes plain text."""
    fallback: str = "unknown"
    """On a miss: "unknown" injects the word unknown; "top1" asks the resolver for its best candidate."""
    unknown_value: str = "unknown"
    max_query_tokens: int = 64
    """A query (or model-written value) longer than this counts against max_new_tokens."""
    seed: int | None = None
    ignore_eos: bool = False
    """Never stop on EOS (benchmarks: outputs of exactly max_new_tokens text tokens)."""
    constrain: bool = True
    """Grammar-constrained: lookup tokens only where the lookup grammar allows them (no stray
    separator or return in text, no nested opener); False lets the model write anything."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.max_lookups is not None and self.max_lookups < 0:
            raise ValueError(f"max_lookups must be >= 0, got {self.max_lookups}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        if isinstance(self.logit_bias, str) and self.logit_bias != "paper":
            raise ValueError(f"logit_bias must be a mapping or 'paper', got {self.logit_bias!r}")
        _ = self.sampling  # validates temperature, top_p, repetition_penalty

    @property
    def sampling(self) -> SamplingConfig:
        return SamplingConfig(self.do_sample, self.temperature, self.top_p, self.repetition_penalty)

    @property
    def bias(self) -> dict[str, float]:
        if self.logit_bias == "paper":
            return dict(PAPER_LOGIT_BIAS)
        return dict(self.logit_bias or {})


@dataclass(frozen=True)
class TextDelta:
    """A piece of clean text for row ``index`` (streaming)."""

    index: int
    text: str


@dataclass(frozen=True)
class RowFinished:
    """Row ``index`` is done (streaming)."""

    index: int
    output: GenerationOutput


def _cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


class LookupDecoder(LookupRows):
    """Decodes prompts with a causal LM, answering its lookups through ``lookup_fn``."""

    def __init__(
        self,
        model,
        tokenizer,
        lookup_fn: LookupFn | None,
        args: DecodingArgs | None = None,
        *,
        logits_hook: Callable[[list[list[int]], list[list[int]], torch.Tensor], torch.Tensor] | None = None,
    ):
        """``logits_hook(prompt_ids, generated_ids, scores)`` runs after the built-in processing, with
        each active row's prompt and generated ids (injected values included)."""
        super().__init__(tokenizer, lookup_fn, args or DecodingArgs())
        self.logits_hook = logits_hook
        self.model = model
        bias = self.args.bias
        vocab = {token: self.tokenizer.convert_tokens_to_ids(token) for token in bias}
        self._bias_ids = torch.tensor([vocab[t] for t in bias], dtype=torch.long)
        self._bias_values = torch.tensor([bias[t] for t in bias], dtype=torch.float32)
        # transformers >= 5.2x renamed the forward argument past_key_values to cache
        self._cache_kw = (
            "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        )
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.token_ids.eos

    # -- public ---------------------------------------------------------------------------------

    def generate(self, prompts: Sequence[str]) -> list[GenerationOutput]:
        steps = self._decode(list(prompts), streaming=False)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value

    def stream(self, prompts: Sequence[str]) -> Iterator[TextDelta | RowFinished]:
        """Clean text as it is written (``TextDelta``), then each row's output (``RowFinished``)."""
        return (yield from self._decode(list(prompts), streaming=True))

    # -- the loop -------------------------------------------------------------------------------

    @torch.inference_mode()
    def _decode(self, prompts: list[str], streaming: bool):
        if not prompts:
            return []
        model, args = self.model, self.args
        device = next(model.parameters()).device
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left")
        input_ids = enc["input_ids"].to(device)
        attn = enc["attention_mask"].to(device)
        rows = [
            self._new_row(p, input_ids[b][attn[b].bool()].tolist() if self.logits_hook is not None else None)
            for b, p in enumerate(prompts)
        ]
        vocab = model.get_output_embeddings().weight.shape[0]
        seen = torch.zeros(len(prompts), vocab, dtype=torch.bool, device=device)
        seen.scatter_(1, input_ids, attn.bool())
        generator = None
        if args.seed is not None:
            generator = torch.Generator(device=device).manual_seed(args.seed)
        out = model(
            input_ids=input_ids,
            attention_mask=attn,
            position_ids=(attn.cumsum(-1) - 1).clamp(min=0),
            use_cache=True,
        )
        cache = _cache_of(out)
        logits = out.logits[:, -1, :].float()
        next_pos = attn.sum(-1)
        active = list(range(len(prompts)))
        outputs: list[GenerationOutput | None] = [None] * len(prompts)
        while active:
            tokens = self._choose(logits, seen, [rows[i] for i in active], generator).tolist()
            chunks, pending = [], []
            for b, token in enumerate(tokens):
                row = rows[active[b]]
                if row.forced:  # an injected value still being fed, one token per step
                    chunks.append([row.forced.pop(0)])
                    continue
                action = row.state.push(token)
                chunks.append([token])
                if action is Action.LOOKUP:
                    pending.append(b)
                elif action is Action.CLOSE:
                    chunks[b].append(self.token_ids.end)
                    row.state.injected([self.token_ids.end], counted=False)
            if pending:
                self._resolve([rows[active[b]] for b in pending], [chunks[b] for b in pending])
            if len(active) > 1:
                # In a batch, a value is fed one token per step (as if the model wrote it): a wide
                # step would cost every row the width of the longest value.
                for b, chunk in enumerate(chunks):
                    if len(chunk) > 1:
                        rows[active[b]].forced, chunks[b] = chunk[1:], chunk[:1]
            keep = [b for b, i in enumerate(active) if not rows[i].state.finished]
            for i in active:
                if rows[i].state.finished:
                    outputs[i] = self._finish(rows[i])
                    if streaming:
                        yield from self._stream_delta(i, rows[i], final=outputs[i].text)
                        yield RowFinished(i, outputs[i])
                elif streaming:
                    yield from self._stream_delta(i, rows[i])
            if len(keep) < len(active):
                if not keep:
                    break
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                attn, seen, next_pos = attn[index], seen[index], next_pos[index]
                chunks = [chunks[b] for b in keep]
                active = [active[b] for b in keep]
                if len(active) == 1 and rows[active[0]].forced:  # alone now: the rest in one forward
                    chunks[0], rows[active[0]].forced = chunks[0] + rows[active[0]].forced, []
            logits, attn, next_pos = self._forward(chunks, cache, attn, next_pos, seen)
        return outputs

    def _choose(self, logits, seen, rows: list[_Row], generator) -> torch.Tensor:
        states = [r.state for r in rows]
        args = self.args
        logits = apply_repetition_penalty(logits, seen, args.repetition_penalty)
        logits = apply_bias(logits, self._bias_ids.to(logits.device), self._bias_values.to(logits.device))
        if args.max_lookups is not None:
            capped = torch.tensor([s.lookups >= args.max_lookups for s in states], device=logits.device)
            logits = suppress(logits, capped, self.token_ids.start)
        if args.ignore_eos:
            logits = suppress(logits, torch.ones(len(states), dtype=torch.bool), self.token_ids.eos)
        if args.constrain:
            logits = forbid(logits, [s.forbidden() for s in states])
        if self.logits_hook is not None:
            logits = self.logits_hook([r.prompt_ids for r in rows], [s.generated for s in states], logits)
        return choose_tokens(logits, args.sampling, generator)

    def _forward(self, chunks: list[list[int]], cache, attn, next_pos, seen):
        """Feeds each row's tokens of this step (right-padded, masked) and returns the last logits."""
        device = attn.device
        width = max(len(c) for c in chunks)
        ids = torch.full((len(chunks), width), self._pad_id, dtype=torch.long, device=device)
        mask = torch.zeros((len(chunks), width), dtype=attn.dtype, device=device)
        for b, chunk in enumerate(chunks):
            ids[b, : len(chunk)] = torch.tensor(chunk, device=device)
            mask[b, : len(chunk)] = 1
        seen.scatter_(1, ids, mask.bool() | seen.gather(1, ids))
        attn = torch.cat([attn, mask], dim=1)
        positions = next_pos[:, None] + torch.arange(width, device=device)[None, :]
        out = self.model(
            input_ids=ids,
            attention_mask=attn,
            position_ids=positions,
            use_cache=True,
            **{self._cache_kw: cache},
        )
        lengths = mask.sum(-1).long()
        logits = out.logits[torch.arange(len(chunks), device=device), lengths - 1].float()
        return logits, attn, next_pos + lengths

    # -- output ---------------------------------------------------------------------------------
    def _stream_delta(self, index: int, row: _Row, final: str | None = None) -> Iterator[TextDelta]:
        if final is None:
            if row.state.mode.value != "text":
                return
            final = post_process(self._raw_text(row))
            final = final.rstrip("\ufffd")
        if final.startswith(row.emitted) and len(final) > len(row.emitted):
            yield TextDelta(index, final[len(row.emitted) :])
            row.emitted = final
