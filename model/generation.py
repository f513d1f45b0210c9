"""Lookup decoding: one KV-cached, batched loop that pauses rows on ``<|db_return|>``.

When a row emits ``<|db_return|>`` its query (the tokens since ``<|db_entity|>``) is decoded and
parsed, all rows that paused in the same step are resolved in one call of the lookup function,
and each value plus ``<|db_end|>`` is fed through the model in the same forward as the other rows'
next tokens (rows are right-padded within the step and masked), extending the cache. Nothing is
re-tokenized. Finished rows leave the batch (their cache rows are dropped).

The model sees the knowledge graph only through a ``LookupFn``: a batched callable from
``(entity, relation)`` pairs to ``Answer`` objects (``lmlm.model.answers``; ``lmlm.kg.Resolver`` is
one). The logit rules (``lmlm.model.sampling``) are the reference loop's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from .answers import LookupFn
from .decoding_args import DecodingArgs
from .lookup_rows import LookupRows, _Row
from .lookup_state import Action
from .results import GenerationOutput, post_process
from .sampling import LogitRules, StepRows, choose_tokens


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
        self.rules = LogitRules.from_args(self.args, self.token_ids)
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
        logits = self.rules(logits, StepRows(states, seen))
        if self.logits_hook is not None:
            logits = self.logits_hook([r.prompt_ids for r in rows], [s.generated for s in states], logits)
        return choose_tokens(logits, self.args, generator)

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
