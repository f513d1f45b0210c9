"""What the lookup decoders share: per-row state, the batched lookup call, value tokens, output.

``LookupDecoder`` (Hugging Face models, KV cache kept across lookups) and ``VLLMLookupDecoder``
(vLLM, stop tokens) differ only in how they run the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmlm.kg.syntax import DB_END, DB_RETURN, iter_pretraining_lookups, parse_pending_lookup

from .answers import LookupFn, answer_lookups, entity_unwritten
from .decoding_args import DecodingArgs
from .lookup_state import LookupTokenIds, RowState
from .results import GenerationOutput, LookupRecord, build_output


@dataclass
class _Row:
    prompt: str
    state: RowState
    prompt_ids: list[int] = field(default_factory=list)
    records: list[LookupRecord] = field(default_factory=list)
    emitted: str = ""
    forced: list[int] = field(default_factory=list)  # injected tokens not yet fed to the model


class LookupRows:
    """Resolving, value tokens and outputs for rows of one tokenizer and one lookup function."""

    def __init__(self, tokenizer, lookup_fn: LookupFn | None, args: DecodingArgs):
        self.tokenizer = tokenizer
        self.args = args
        self.token_ids = LookupTokenIds.from_tokenizer(tokenizer)
        if self.args.enable_lookup and lookup_fn is None:
            raise ValueError(
                "lookup decoding needs a lookup function (load the model with a store or lookup_fn); "
                "or pass enable_lookup=False"
            )
        self.lookup_fn = lookup_fn
        self._value_cache: dict[str, list[int]] = {}

    def _new_row(self, prompt: str, prompt_ids: list[int] | None = None) -> _Row:
        args = self.args
        state = RowState(self.token_ids, args.max_new_tokens, args.enable_lookup, args.max_query_tokens)
        return _Row(prompt, state, prompt_ids or [])

    def _resolve(self, rows: list[_Row], chunks: list[list[int]]) -> None:
        """Answers the queries of rows paused on ``<|db_return|>`` in one call; extends their chunks
        with the value and ``<|db_end|>``."""
        queries = []
        for row in rows:
            text = self.tokenizer.decode(
                row.state.query_ids, skip_special_tokens=False, clean_up_tokenization_spaces=False
            )
            queries.append(parse_pending_lookup(text))
        unwritten = [bool(q) and self._unwritten(row, q.entity) for row, q in zip(rows, queries)]
        asked = [q for q, skip in zip(queries, unwritten) if q and not skip]
        answered = iter(answer_lookups(self.lookup_fn, asked, self.args.unknown_value))
        for row, chunk, query, skip in zip(rows, chunks, queries, unwritten):
            if query is None:
                chunk.append(self.token_ids.end)
                row.state.close_broken([self.token_ids.end])
                row.records.append(LookupRecord("", "", None, "invalid"))
                continue
            if skip:
                record = LookupRecord(query.entity, query.relation, self.args.unknown_value, "unwritten")
            else:
                record = next(answered)
            tokens = self._value_tokens(record.value)
            chunk.extend(tokens)
            row.state.injected(tokens)
            row.records.append(record)

    def _unwritten(self, row: _Row, entity: str) -> bool:
        """With ``entities_from_context``: whether ``entity`` is written neither in the prompt nor in
        the clean text before this lookup."""
        if not self.args.entities_from_context:
            return False
        before = self.tokenizer.decode(
            row.state.generated[: row.state.query_start],
            skip_special_tokens=False,
            clean_up_tokenization_spaces=False,
        )
        return entity_unwritten(entity, row.prompt, before)

    def _value_tokens(self, value: str) -> list[int]:
        """The ids of `` value<|db_end|>`` as they are when the whole text is tokenized."""
        tokens = self._value_cache.get(value)
        if tokens is None:
            ids = self.tokenizer.encode(f"{DB_RETURN} {value}{DB_END}", add_special_tokens=False)
            if ids[:1] == [self.token_ids.ret] and ids[-1:] == [self.token_ids.end]:
                tokens = ids[1:]
            else:
                tokens = self.tokenizer.encode(f" {value}", add_special_tokens=False) + [self.token_ids.end]
            if len(self._value_cache) < 100_000:
                self._value_cache[value] = tokens
        return tokens

    def _raw_text(self, row: _Row) -> str:
        ids = row.state.generated
        if ids and ids[-1] == self.token_ids.eos:
            ids = ids[:-1]
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _finish(self, row: _Row) -> GenerationOutput:
        raw = self._raw_text(row)
        records = row.records
        if not self.args.enable_lookup:
            records = [
                LookupRecord(c.entity, c.relation, c.value, "model") for c in iter_pretraining_lookups(raw)
            ]
        return build_output(row.prompt, raw, records, row.state)
