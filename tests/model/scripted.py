"""A random-weight model made to write one chosen lookup, for fast tests of what the decoders do
with an answer: the hook forces the query's tokens, then EOS once the value is in."""

from __future__ import annotations

import torch

from lmlm.kg.syntax import DB_RETURN, DB_SEP, DB_START


class OneLookup:
    """Forces ``<|db_entity|> ENTITY<|db_relationship|> RELATION<|db_return|>``, then EOS.

    ``hook`` is a ``LookupDecoder`` logits hook; ``processor(prompt)`` a Hugging Face logits
    processor for the reference loop (which re-tokenizes the prompt each round).
    """

    def __init__(self, tokenizer, entity: str, relation: str):
        self.tokenizer = tokenizer
        self.query = tokenizer.encode(
            f"{DB_START} {entity}{DB_SEP} {relation}{DB_RETURN}", add_special_tokens=False
        )
        self.ret = tokenizer.convert_tokens_to_ids(DB_RETURN)
        self.eos = tokenizer.eos_token_id

    def next_token(self, generated: list[int]) -> int:
        if self.ret in generated or len(generated) >= len(self.query):
            return self.eos
        return self.query[len(generated)]

    def _force(self, rows: list[list[int]], scores: torch.Tensor) -> torch.Tensor:
        forced = torch.full_like(scores, -1e4)
        for b, generated in enumerate(rows):
            forced[b, self.next_token(generated)] = 1e4
        return forced

    def hook(self, prompt_ids, generated, scores):
        return self._force(generated, scores)

    def processor(self, prompt: str):
        start = len(self.tokenizer(prompt)["input_ids"])

        def process(input_ids, scores):
            return self._force([row[start:].tolist() for row in input_ids], scores)

        return process
