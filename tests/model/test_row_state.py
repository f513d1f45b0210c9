"""``RowState``, the lookup grammar's state machine that all three decoders share, token by token."""

from __future__ import annotations

import pytest

from lmlm.model.lookup_state import Action, LookupTokenIds, Mode, RowState

IDS = LookupTokenIds(start=1, sep=2, ret=3, end=4, eos=0)
WORD, NAME, REL = 10, 11, 12  # plain tokens


def row(max_new_tokens: int = 10, **kwargs) -> RowState:
    return RowState(IDS, max_new_tokens, **kwargs)


def push_all(state: RowState, tokens: list[int]) -> list[Action]:
    return [state.push(t) for t in tokens]


def test_text_tokens_count_until_the_budget_ends_the_row():
    state = row(max_new_tokens=3)
    assert push_all(state, [WORD, WORD]) == [Action.CONTINUE, Action.CONTINUE]
    assert (state.mode, state.text_tokens, state.finished) == (Mode.TEXT, 2, False)
    assert state.push(WORD) is Action.FINISH
    assert (state.finish_reason, state.text_tokens, state.sampled) == ("length", 3, 3)


def test_eos_finishes_at_once():
    state = row()
    assert push_all(state, [WORD, IDS.eos]) == [Action.CONTINUE, Action.FINISH]
    assert state.finish_reason == "eos" and state.finished


def test_a_query_then_return_asks_for_a_lookup_and_the_value_closes_it():
    state = row()
    state.push(WORD)
    actions = push_all(state, [IDS.start, NAME, IDS.sep, REL])
    assert actions == [Action.CONTINUE] * 4
    assert (state.mode, state.has_sep, state.query_tokens, state.text_tokens) == (Mode.QUERY, True, 3, 1)
    assert state.push(IDS.ret) is Action.LOOKUP
    assert state.query_ids == [IDS.start, NAME, IDS.sep, REL, IDS.ret]
    state.injected([NAME, IDS.end])  # the value and <|db_end|>, fed by the decoder
    assert (state.mode, state.lookups, state.query_tokens) == (Mode.TEXT, 1, 0)
    assert state.generated[-2:] == [NAME, IDS.end] and state.sampled == 6  # injected tokens not sampled
    assert state.push(WORD) is Action.CONTINUE and state.text_tokens == 2


def test_a_stray_return_in_text_is_closed_and_counted():
    state = row()
    assert state.push(IDS.ret) is Action.CLOSE
    assert (state.malformed, state.text_tokens, state.mode) == (1, 1, Mode.TEXT)
    state.injected([IDS.end], counted=False)
    assert state.lookups == 0


def test_a_stray_return_with_lookups_off_is_text_and_counted():
    state = row(enable_lookup=False)
    assert state.push(IDS.ret) is Action.CONTINUE
    assert (state.malformed, state.text_tokens) == (1, 1)


def test_with_lookups_off_the_model_writes_the_value_up_to_the_end_token():
    state = row(enable_lookup=False)
    actions = push_all(state, [IDS.start, NAME, IDS.sep, REL, IDS.ret])
    assert actions == [Action.CONTINUE] * 5 and state.mode is Mode.VALUE
    assert state.push(NAME) is Action.CONTINUE and state.mode is Mode.VALUE
    assert state.push(IDS.end) is Action.CONTINUE
    assert (state.mode, state.lookups, state.malformed, state.text_tokens) == (Mode.TEXT, 1, 0, 0)


def test_an_opener_inside_a_query_abandons_it_for_a_new_one():
    state = row()
    push_all(state, [IDS.start, NAME, IDS.sep])
    assert state.push(IDS.start) is Action.CONTINUE
    assert (state.malformed, state.mode, state.has_sep, state.query_start) == (1, Mode.QUERY, False, 3)
    push_all(state, [NAME, IDS.sep, REL])
    assert state.push(IDS.ret) is Action.LOOKUP
    assert state.query_ids == [IDS.start, NAME, IDS.sep, REL, IDS.ret]


def test_an_end_token_outside_a_value_is_malformed_text():
    state = row()
    assert state.push(IDS.end) is Action.CONTINUE
    assert (state.malformed, state.text_tokens, state.mode) == (1, 1, Mode.TEXT)
    push_all(state, [IDS.start, NAME])
    state.push(IDS.end)  # a query given up with <|db_end|>
    assert (state.malformed, state.mode, state.text_tokens) == (2, Mode.TEXT, 2)


def test_a_query_that_does_not_parse_is_closed_as_broken():
    state = row()
    push_all(state, [IDS.start, NAME])
    assert state.push(IDS.ret) is Action.LOOKUP  # the decoder finds no query in it
    state.close_broken([IDS.end])
    assert (state.mode, state.malformed, state.lookups, state.text_tokens) == (Mode.TEXT, 1, 0, 1)


def test_a_long_query_counts_against_the_text_budget():
    state = row(max_new_tokens=3, max_query_tokens=2)
    state.push(IDS.start)
    assert push_all(state, [NAME, NAME]) == [Action.CONTINUE] * 2 and state.text_tokens == 0
    assert state.push(NAME) is Action.CONTINUE and state.text_tokens == 1  # the 3rd query token
    assert push_all(state, [NAME, NAME]) == [Action.CONTINUE, Action.FINISH]
    assert state.finish_reason == "length" and state.mode is Mode.QUERY


def test_the_hard_limit_ends_a_row_that_only_looks_things_up():
    state = row(max_new_tokens=2, max_query_tokens=1)  # hard limit: 8 * 2 + 4 * 1 = 20 tokens
    assert state.hard_limit == 20
    actions = []
    while not state.finished:
        actions.append(state.push(IDS.start))
        if not state.finished:
            actions.append(state.push(IDS.ret))
            state.injected([NAME, NAME, IDS.end])  # lookups cost no text tokens
    # four lookups of 5 tokens reach the limit; the next token the model writes ends the row
    assert state.finish_reason == "length" and actions[-1] is Action.FINISH
    assert (state.lookups, len(state.generated), state.text_tokens) == (4, 21, 0)


@pytest.mark.parametrize(
    ("tokens", "forbidden"),
    [
        ([], {IDS.sep, IDS.ret, IDS.end}),  # text: only the opener
        ([IDS.start, NAME], {IDS.start, IDS.end, IDS.ret}),  # query before the separator
        ([IDS.start, NAME, IDS.sep], {IDS.start, IDS.end, IDS.sep}),  # after it: return, no second one
    ],
    ids=["text", "query", "query-after-separator"],
)
def test_forbidden_tokens_follow_the_grammar(tokens, forbidden):
    state = row()
    push_all(state, tokens)
    assert set(state.forbidden()) == forbidden


def test_forbidden_in_a_model_written_value_is_all_but_the_end():
    state = row(enable_lookup=False)
    push_all(state, [IDS.start, NAME, IDS.sep, REL, IDS.ret])
    assert set(state.forbidden()) == {IDS.start, IDS.sep, IDS.ret}
