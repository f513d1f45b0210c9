"""Causal LMs whose next-token distribution is known exactly, for hand-computed losses.

``ScriptedLM(vocab, rules, boost)``: the logits of the next token depend only on the current one:
``boost`` on ``rules[current]`` (when there is a rule), 0 on every other token. With
``boost = log(V - 1)`` the favoured token has probability 1/2 and each other token 1/(2(V - 1));
a token without a rule predicts the uniform distribution (1/V each). ``uniform(model)`` zeroes a
real model's output layer, so that every token costs exactly log V.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch


class ScriptedLM(torch.nn.Module):
    def __init__(self, vocab: int, rules: dict[int, int], boost: float | None = None):
        super().__init__()
        self.boost = math.log(vocab - 1) if boost is None else boost
        table = torch.zeros(vocab, vocab)
        for current, favoured in rules.items():
            table[current, favoured] = self.boost
        self.register_buffer("table", table)
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # so that next(model.parameters()) works
        self.config = SimpleNamespace(max_position_embeddings=512)

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, **kwargs):
        from transformers import DynamicCache

        cache = past_key_values if past_key_values is not None else DynamicCache()
        return SimpleNamespace(logits=self.table[input_ids], past_key_values=cache)


def uniform(model):
    """``model`` with its output layer zeroed: every next token has probability 1/V."""
    with torch.no_grad():
        head = model.get_output_embeddings()
        head.weight.zero_()
        if getattr(head, "bias", None) is not None:
            head.bias.zero_()
    return model


def favoured_nll(vocab: int) -> float:
    return math.log(2)


def other_nll(vocab: int) -> float:
    return math.log(2 * (vocab - 1))
