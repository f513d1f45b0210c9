"""Each logit rule and the token choice on hand-made logits (B=2 rows, V=6 tokens)."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import RepetitionPenaltyLogitsProcessor

from lmlm.kg.syntax import DB_END, DB_START, LOOKUP_TOKENS
from lmlm.model.decoding_args import DecodingArgs
from lmlm.model.lookup_state import LookupTokenIds, RowState
from lmlm.model.sampling import (
    GrammarConstraint,
    LogitRules,
    LookupTokenBias,
    MaxLookupsSuppression,
    RepetitionPenalty,
    StepRows,
    SuppressEos,
    choose_tokens,
)

IDS = LookupTokenIds(start=1, sep=2, ret=3, end=4, eos=0)
WORD = 5
INF = float("-inf")


def scores() -> torch.Tensor:
    return torch.tensor([[0.5, 1.0, -2.0, 3.0, 0.0, 2.0], [1.0, -1.0, 0.5, 0.0, 4.0, -3.0]])


def states(*token_lists: list[int]) -> list[RowState]:
    out = []
    for tokens in token_lists:
        state = RowState(IDS, 10)
        for token in tokens:
            state.push(token)
        out.append(state)
    return out


def test_repetition_penalty_divides_positive_and_multiplies_negative_seen_logits():
    seen = torch.tensor([[True, False, True, True, False, False], [False, True, False, False, True, True]])
    out = RepetitionPenalty(2.0)(scores(), StepRows(states([], []), seen))
    expected = torch.tensor([[0.25, 1.0, -4.0, 1.5, 0.0, 2.0], [1.0, -2.0, 0.5, 0.0, 2.0, -6.0]])
    torch.testing.assert_close(out, expected)
    # the same as transformers' processor given the row's tokens
    input_ids = torch.tensor([[0, 2, 3], [1, 4, 5]])
    torch.testing.assert_close(out, RepetitionPenaltyLogitsProcessor(2.0)(input_ids, scores()))


def test_repetition_penalty_is_checked():
    with pytest.raises(ValueError, match="repetition_penalty"):
        RepetitionPenalty(0.0)
    with pytest.raises(ValueError, match="seen"):
        RepetitionPenalty(1.5)(scores(), StepRows(states([], [])))


def test_lookup_token_bias_adds_to_its_tokens_in_every_row_and_leaves_the_input():
    before = scores()
    out = LookupTokenBias({IDS.start: 4.0, IDS.end: 2.0})(before, StepRows(states([], [])))
    expected = scores()
    expected[:, IDS.start] += 4.0
    expected[:, IDS.end] += 2.0
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(before, scores())
    with pytest.raises(ValueError, match="finite"):
        LookupTokenBias({IDS.start: math.inf})
    with pytest.raises(ValueError, match="token ids"):
        LookupTokenBias({-1: 1.0})


def test_max_lookups_suppresses_the_opener_only_in_rows_that_used_their_lookups():
    done, fresh = states([], [])
    done.injected([WORD, IDS.end])  # one lookup made
    out = MaxLookupsSuppression(IDS.start, 1)(scores(), StepRows([done, fresh]))
    assert out[0, IDS.start] == INF and out[1, IDS.start] == scores()[1, IDS.start]
    assert torch.equal(out[:, 2:], scores()[:, 2:])
    with pytest.raises(ValueError, match="max_lookups"):
        MaxLookupsSuppression(IDS.start, -1)


def test_suppress_eos_in_every_row():
    out = SuppressEos(IDS.eos)(scores(), StepRows(states([], [])))
    assert (out[:, IDS.eos] == INF).all() and torch.equal(out[:, 1:], scores()[:, 1:])


def test_grammar_constraint_forbids_per_row_what_the_grammar_forbids():
    text, query = states([WORD], [IDS.start, WORD])
    out = GrammarConstraint()(scores(), StepRows([text, query]))
    assert out[0, IDS.start] == scores()[0, IDS.start]  # text: the opener is allowed
    assert (out[0, [IDS.sep, IDS.ret, IDS.end]] == INF).all()
    assert out[1, IDS.sep] == scores()[1, IDS.sep]  # a query: its separator is allowed
    assert (out[1, [IDS.start, IDS.ret, IDS.end]] == INF).all()
    assert torch.equal(out[:, [IDS.eos, WORD]], scores()[:, [IDS.eos, WORD]])


def test_rules_from_args_follow_the_options_in_generates_order():
    assert [type(r) for r in LogitRules.from_args(DecodingArgs(), IDS).rules] == [GrammarConstraint]
    args = DecodingArgs(
        repetition_penalty=1.2, logit_bias="paper", max_lookups=2, ignore_eos=True, constrain=False
    )
    rules = LogitRules.from_args(args, IDS)
    assert [type(r) for r in rules.rules] == [
        RepetitionPenalty,
        LookupTokenBias,
        MaxLookupsSuppression,
        SuppressEos,
    ]
    assert rules.needs_seen
    bias = dict(zip(rules.rules[1].ids.tolist(), rules.rules[1].values.tolist()))
    assert bias == {IDS.start: 4.0, IDS.sep: 2.0, IDS.ret: 2.0, IDS.end: 2.0}
    custom = LogitRules.from_args(DecodingArgs(logit_bias={DB_END: -1.0}, constrain=False), IDS)
    assert custom.rules[0].ids.tolist() == [IDS.end] and not custom.needs_seen
    assert set(DecodingArgs(logit_bias="paper").bias) == set(LOOKUP_TOKENS)
    assert DecodingArgs(logit_bias={DB_START: 1}).bias == {DB_START: 1.0}


def test_choose_tokens_greedy_and_sampled():
    greedy = choose_tokens(scores(), DecodingArgs(), None)
    assert greedy.tolist() == [3, 4]
    # top-p so small that only the best token is left: sampling gives the greedy choice
    generator = torch.Generator().manual_seed(0)
    sampled = choose_tokens(scores(), DecodingArgs(do_sample=True, top_p=0.01), generator)
    assert sampled.tolist() == [3, 4]
    # a forbidden token is never sampled, whatever the temperature
    masked = scores()
    masked[:, 3] = INF
    masked[:, 4] = INF
    hot = DecodingArgs(do_sample=True, temperature=100.0)
    picks = {tuple(choose_tokens(masked, hot, generator).tolist()) for _ in range(50)}
    assert all(3 not in p and 4 not in p for p in picks) and len(picks) > 1
