"""Dynamic scoring: an LMLM reads a text token by token and makes its own lookups on the way.

The original text is teacher-forced. Before each of its tokens the model's greedy choice decides
whether a lookup opens there: ``<|db_entity|>`` itself, or the space token that the corpus writes
before an opener when the next text token starts with a space, confirmed by the opener being the
greedy choice after it. The model then writes its query greedily under the lookup grammar
(separator once, then return; no opener, end or end-of-text inside), the lookup function answers
it, and `` value<|db_end|>`` is fed unscored, as the decoder injects it. NLLs are read from the
model's unconstrained distribution. One KV cache per document: the remaining text goes through the
model in one forward, the cache is cropped back to where a lookup opens, and scoring resumes
after it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from lmlm.kg.syntax import DB_END, DB_RETURN, parse_pending_lookup
from lmlm.model.lookup_state import LookupTokenIds

from .loglik import model_window

logger = logging.getLogger(__name__)


@dataclass
class DynamicScore:
    """One document: the NLL of each original token (from the second on), the query tokens'
    (category, NLL) and the path of each lookup made."""

    nll: list[float] = field(default_factory=list)
    query: list[tuple[str, float]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


class _Context:
    """A growing sequence in the model's KV cache; ``crop`` drops its tail."""

    def __init__(self, model):
        self.model = model
        self.device = next(model.parameters()).device
        self.cache = None
        self.length = 0
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"

    def feed(self, ids: Sequence[int]) -> torch.Tensor:
        """Logits (len(ids), V) after each of ``ids``."""
        x = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
        kwargs = {self._cache_kw: self.cache} if self.cache is not None else {}
        with torch.no_grad():
            out = self.model(input_ids=x, use_cache=True, **kwargs)
        cache = getattr(out, "cache", None)
        self.cache = cache if cache is not None else out.past_key_values
        self.length += len(ids)
        return out.logits[0].float()

    def crop(self, length: int) -> None:
        if length < self.length:
            self.cache.crop(length - self.length)  # negative: tokens to remove (every transformers version)
            self.length = length


class DynamicScorer:
    """Scores token sequences ``[eos, x_1, ..., x_n]`` (see the module docstring)."""

    def __init__(
        self,
        model,
        tokenizer,
        lookup_fn: Callable,
        miss_value: str = "unknown",
        max_query_tokens: int = 32,
        max_lookups: int = 64,
    ):
        self.model, self.tokenizer, self.lookup_fn = model, tokenizer, lookup_fn
        self.miss_value, self.max_query_tokens, self.max_lookups = miss_value, max_query_tokens, max_lookups
        self.ids = LookupTokenIds.from_tokenizer(tokenizer)
        space = tokenizer.encode(" ", add_special_tokens=False)
        self.space = space[0] if len(space) == 1 else None
        self.window = model_window(model)
        self._spaced: dict[int, tuple[bool, bool]] = {}
        self._text_forbidden = [self.ids.sep, self.ids.ret, self.ids.end]

    def _space_at(self, token: int, end: bool = False) -> bool:
        """Whether ``token`` starts (or, with ``end``, ends) with a space."""
        if token not in self._spaced:
            text = self.tokenizer.decode([token])
            self._spaced[token] = (text.startswith(" "), text.endswith(" "))
        return self._spaced[token][end]

    def _greedy(self, logits: torch.Tensor, forbidden: Sequence[int]) -> int:
        masked = logits.clone()
        masked[list(forbidden)] = float("-inf")
        return int(masked.argmax())

    def _trigger(self, logits: torch.Tensor, target: int) -> str | None:
        """``"open"``, ``"space"`` (the space token first) or None: no lookup before ``target``."""
        choice = self._greedy(logits, self._text_forbidden)
        if choice == self.ids.start:
            return "open"
        if choice == self.space and target != self.space and self._space_at(target):
            return "space"
        return None

    def score(self, ids: Sequence[int]) -> DynamicScore:
        ids = list(ids)
        out = DynamicScore()
        ctx = _Context(self.model)
        logits = ctx.feed(ids[:1])[-1]
        pos, may_open = 1, True
        while pos < len(ids) and ctx.length < self.window:
            rest = ids[pos : pos + self.window - ctx.length]
            base = ctx.length
            after = ctx.feed(rest)
            preds = torch.cat([logits[None], after[:-1]])  # (len(rest), V): the prediction of each rest token
            logprobs = preds.log_softmax(-1)
            stop = len(rest)
            if len(out.paths) < self.max_lookups:
                for j in range(0 if may_open else 1, len(rest)):
                    if self._trigger(preds[j], rest[j]) is not None:
                        stop = j
                        break
            out.nll += (-logprobs[torch.arange(stop), torch.tensor(rest[:stop])]).tolist()
            if stop == len(rest):
                pos += len(rest)
                logits, may_open = after[-1], True
                continue
            ctx.crop(base + stop)
            pos += stop
            logits, may_open = self._lookup(ctx, preds[stop], ids[pos - 1], rest[stop], out), False
        if pos < len(ids):
            logger.warning(
                "a document reached the model's %d positions; scored its first %d tokens", self.window, pos
            )
        return out

    def _lookup(
        self, ctx: _Context, logits: torch.Tensor, previous: int, target: int, out: DynamicScore
    ) -> torch.Tensor:
        """Opens a lookup (if the model confirms it), writes the query, injects the answer; returns
        the logits for the next text token.

        The corpus writes a space before the opener and starts the text after ``<|db_end|>`` with
        one. When the text's space was its own token, already read before the lookup, and the next
        token has none, the model writes that second space too: it is scored with the query.
        """
        opening: list[tuple[str, float]] = []
        if self._trigger(logits, target) == "space":
            opening.append(("entity", float(-logits.log_softmax(-1)[self.space])))
            after_space = ctx.feed([self.space])[-1]
            if self._greedy(after_space, self._text_forbidden) != self.ids.start:
                ctx.crop(ctx.length - 1)
                return logits
            logits = after_space
        opening.append(("entity", float(-logits.log_softmax(-1)[self.ids.start])))
        out.query += opening
        logits = ctx.feed([self.ids.start])[-1]
        written, has_sep = [], False
        ids = self.ids
        while len(written) < self.max_query_tokens:
            forbidden = [ids.start, ids.end, ids.eos, ids.sep if has_sep else ids.ret]
            token = self._greedy(logits, forbidden)
            out.query.append(
                (
                    "relation" if has_sep or token == ids.sep else "entity",
                    float(-logits.log_softmax(-1)[token]),
                )
            )
            logits = ctx.feed([token])[-1]
            written.append(token)
            has_sep = has_sep or token == ids.sep
            if token == ids.ret:
                break
        logits = self._answer(ctx, written, out)
        if self._space_at(previous, end=True) and not self._space_at(target) and self.space is not None:
            out.query.append(("entity", float(-logits.log_softmax(-1)[self.space])))
            logits = ctx.feed([self.space])[-1]
        return logits

    def _answer(self, ctx: _Context, written: list[int], out: DynamicScore) -> torch.Tensor:
        text = self.tokenizer.decode([self.ids.start, *written], skip_special_tokens=False)
        query = parse_pending_lookup(text) if written and written[-1] == self.ids.ret else None
        if query is None:  # as the decoder does: a broken query is closed and the text goes on
            out.paths.append("invalid")
            return ctx.feed([self.ids.end])[-1]
        answer = self.lookup_fn([(query.entity, query.relation)])[0]
        value = getattr(answer, "value", None)
        out.paths.append(getattr(answer, "path", "exact") if value is not None else "miss")
        encoded = self.tokenizer.encode(
            f"{DB_RETURN} {value or self.miss_value}{DB_END}", add_special_tokens=False
        )
        return ctx.feed(encoded[1:])[-1]
