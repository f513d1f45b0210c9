"""Per-row bookkeeping of lookup decoding: which part of a lookup the row is in, and its budgets.

Shared by the KV-cached decoder and the reference loop so both count text tokens, lookups and
broken lookups the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from lmlm.kg.syntax import LOOKUP_TOKENS


class Mode(Enum):
    TEXT = "text"
    QUERY = "query"  # after <|db_entity|>, before <|db_return|>
    VALUE = "value"  # lookups disabled: the model writes the value itself, up to <|db_end|>


class Action(Enum):
    CONTINUE = "continue"
    FINISH = "finish"
    LOOKUP = "lookup"  # a well-formed query may be waiting: resolve it and inject the value
    CLOSE = "close"  # <|db_return|> without an open query: inject <|db_end|> only


@dataclass(frozen=True)
class LookupTokenIds:
    """The ids of the four lookup tokens and EOS in one tokenizer (the only place they are looked up:
    the decoders, training and evaluation all take them from here)."""

    start: int
    sep: int
    ret: int
    end: int
    eos: int

    @classmethod
    def from_tokenizer(cls, tokenizer) -> LookupTokenIds:
        """ValueError naming what is wrong: a lookup token missing, split, or no EOS token."""
        # convert_tokens_to_ids, not get_vocab(): that builds the whole vocabulary (128k for Llama 3)
        ids = {token: tokenizer.convert_tokens_to_ids(token) for token in LOOKUP_TOKENS}
        unknown = getattr(tokenizer, "unk_token_id", None)
        missing = [token for token, i in ids.items() if i is None or (unknown is not None and i == unknown)]
        if missing:
            raise ValueError(
                f"the tokenizer ({getattr(tokenizer, 'name_or_path', '') or 'in memory'}) lacks the lookup "
                f"tokens {missing}: build one with `lmlm train tokenizer` or add them with "
                "`lmlm train tokenizer --extend BASE`"
            )
        for token in LOOKUP_TOKENS:
            if tokenizer.encode(token, add_special_tokens=False) != [ids[token]]:
                raise ValueError(
                    f"the tokenizer does not keep {token} as one token; add the lookup tokens as special "
                    "tokens with `lmlm train tokenizer --extend BASE`"
                )
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no EOS token")
        return cls(*ids.values(), eos=tokenizer.eos_token_id)

    def by_token(self) -> dict[str, int]:
        """``{lookup token: id}`` for the four lookup tokens."""
        return dict(zip(LOOKUP_TOKENS, (self.start, self.sep, self.ret, self.end)))


@dataclass
class RowState:
    """One row's position in the lookup grammar and its counters.

    ``max_new_tokens`` counts text tokens only (the words of the clean text, the copy after a
    lookup included); a query or a model-written value longer than ``max_query_tokens`` starts
    counting against it, so a row stuck in a lookup still ends.
    """

    ids: LookupTokenIds
    max_new_tokens: int
    enable_lookup: bool = True
    max_query_tokens: int = 64
    generated: list[int] = field(default_factory=list)
    mode: Mode = Mode.TEXT
    query_start: int = 0
    query_tokens: int = 0
    text_tokens: int = 0
    lookups: int = 0
    malformed: int = 0
    has_sep: bool = False  # the open query has its <|db_relationship|>
    sampled: int = 0  # tokens the model chose (text, queries, broken lookups), not injected ones
    finish_reason: Literal["eos", "length"] | None = None

    @property
    def hard_limit(self) -> int:
        """All generated and injected tokens of a row, lookups included (a model looping on lookups)."""
        return 8 * self.max_new_tokens + 4 * self.max_query_tokens

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def push(self, token: int) -> Action:
        """Records one generated token and says what the decoder must do next.

        Every token counts somewhere: text tokens against ``max_new_tokens``; query tokens against
        ``max_query_tokens`` and then against ``max_new_tokens``; each broken lookup costs a text
        token. So a row ends whatever the model writes.
        """
        self.generated.append(token)
        self.sampled += 1
        ids = self.ids
        if token == ids.eos:
            self.finish_reason = "eos"
            return Action.FINISH
        if len(self.generated) >= self.hard_limit:
            self.finish_reason = "length"
            return Action.FINISH
        if token == ids.start:
            if self.mode is Mode.TEXT:
                self.mode, self.query_start, self.query_tokens = Mode.QUERY, len(self.generated) - 1, 0
                self.has_sep = False
                return Action.CONTINUE
            self.malformed += 1  # a lookup abandoned for another
            self.mode, self.query_start, self.has_sep = Mode.QUERY, len(self.generated) - 1, False
            return self._count_query()
        if token == ids.ret:
            if self.mode is Mode.QUERY:
                if self.enable_lookup:
                    return Action.LOOKUP
                self.mode = Mode.VALUE
                return self._count_query()
            self.malformed += 1
            action = self._count_text()
            return Action.CLOSE if action is Action.CONTINUE and self.enable_lookup else action
        if token == ids.end:
            if self.mode is Mode.VALUE:
                self.lookups += 1
                self.mode = Mode.TEXT
                return Action.CONTINUE
            self.malformed += 1
            self.mode = Mode.TEXT
            return self._count_text()
        if self.mode is Mode.TEXT:
            return self._count_text()
        if token == ids.sep and self.mode is Mode.QUERY:
            self.has_sep = True
        return self._count_query()

    def forbidden(self) -> tuple[int, ...]:
        """Lookup tokens that cannot come next in a well-formed text (grammar-constrained decoding):
        in text only the opener; in a query the separator once, then the return token; in a value
        written by the model only the end token."""
        ids = self.ids
        if self.mode is Mode.TEXT:
            return (ids.sep, ids.ret, ids.end)
        if self.mode is Mode.QUERY:
            return (ids.start, ids.end, ids.ret) if not self.has_sep else (ids.start, ids.end, ids.sep)
        return (ids.start, ids.sep, ids.ret)

    def injected(self, tokens: list[int], *, counted: bool = True) -> None:
        """The decoder fed ``tokens`` after ``<|db_return|>``: a value and ``<|db_end|>``
        (``counted``), or ``<|db_end|>`` alone to close a stray ``<|db_return|>``."""
        self.generated.extend(tokens)
        self.mode = Mode.TEXT
        self.query_tokens = 0
        self.lookups += counted

    def close_broken(self, tokens: list[int]) -> None:
        """The query before ``<|db_return|>`` did not parse: closed with ``tokens`` (``<|db_end|>``)."""
        self.injected(tokens, counted=False)
        self.malformed += 1
        self._count_text()

    def _count_query(self) -> Action:
        self.query_tokens += 1
        return self._count_text() if self.query_tokens > self.max_query_tokens else Action.CONTINUE

    def _count_text(self) -> Action:
        self.text_tokens += 1
        if self.text_tokens >= self.max_new_tokens:
            self.finish_reason = "length"
            return Action.FINISH
        return Action.CONTINUE

    @property
    def query_ids(self) -> list[int]:
        return self.generated[self.query_start :]
