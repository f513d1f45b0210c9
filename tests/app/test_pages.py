"""The app through Streamlit's ``AppTest`` on the embedded store: every page renders; an edit, a
forget and an undo each regenerate the Generate page's prompts; bad input is a message; a
read-only app refuses writes; an unreachable store is a message while the rest keeps working."""

from __future__ import annotations

import dataclasses
import re
import socket

import pytest

from lmlm.app import facts_view, forget_view, state
from lmlm.kg import KnowledgeGraph, normalize_key

PAGES = [
    "screens/facts.py",
    "screens/graph.py",
    "screens/cypher.py",
    "screens/history.py",
    "screens/settings.py",
]


def _no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _plain(markdown: str) -> str:
    """Escaped Markdown as the page shows it (escapes resolved)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def _texts(at) -> str:
    shown = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success]
    return "\n".join(_plain(m.value) for m in shown)


def _errors(at) -> list[str]:
    return [_plain(e.value) for e in at.error]


def open_entity(at, entity: str):
    at.session_state[state.ENTITY] = entity
    return at.switch_page("screens/facts.py").run()


def edit_value(at, relation: str, value: str):
    """Type ``value`` into the row of ``relation`` in the facts table and press Save."""
    shown = at.session_state[state.FACTS_SHOWN]
    at.session_state[state.FACTS_EDITOR] = facts_view.typed_value(shown, relation, value)
    at.run()
    return at.button(key="save_facts").click().run()


def ops_of(store: str) -> list[str]:
    """The store's changes, newest first (the mini demo's store may carry earlier tests' undone edits)."""
    with KnowledgeGraph.open(store) as kg:
        return [c.op for c in kg.store.history()]


def lookups_of(output, entity: str, relation: str):
    key = (normalize_key(entity), normalize_key(relation))
    return [r for r in output.lookups if (normalize_key(r.entity), normalize_key(r.relation)) == key]


@pytest.mark.slow
def test_every_page_renders_on_the_embedded_store(start_app, app_config, edit_case):
    at = start_app(app_config)
    _no_exception(at)
    assert at.title[0].value == "Generate"
    at.session_state[state.ENTITY] = edit_case.entity
    for page in PAGES:
        at.switch_page(page).run()
        _no_exception(at)
    at.switch_page("screens/cypher.py").run()
    assert "runs on a Neo4j store" in _texts(at)  # and says why it is unavailable here
    at.switch_page("screens/facts.py").run()
    assert at.session_state[state.FACTS_SHOWN]  # the entity's facts are in the table


@pytest.mark.slow
def test_generate_highlights_each_looked_up_value_beside_the_weights_alone(start_app, app_config, edit_case):
    at = start_app(app_config)
    at.text_area(key=state.PROMPTS_TEXT).set_value(edit_case.prompt).run()
    at.button[0].click().run()
    _no_exception(at)
    shown = at.session_state[state.OUTPUTS]
    assert shown.prompts == (edit_case.prompt,)
    assert shown.no_lookup and shown.standard and not shown.no_lookup[0].lookups
    markdown = _texts(at)
    assert ":green-background[[" in markdown and "](facts?entity=" in markdown
    hover = f"{edit_case.entity} | {edit_case.relation} = {edit_case.old_value} (exact"
    assert hover in markdown  # the hover says where the value came from


@pytest.mark.slow
def test_the_generate_page_starts_with_the_configured_entities_from_context(start_app, app_config):
    for first in (True, None):
        at = start_app(dataclasses.replace(app_config, entities_from_context=first))
        _no_exception(at)
        assert at.checkbox(key="decoding_entities_from_context").value is bool(first)
        assert at.session_state[state.SETTINGS].decoding.entities_from_context is bool(first)


@pytest.mark.slow
def test_edit_forget_and_undo_each_regenerate_the_prompts(start_app, app_config, edit_case):
    case = edit_case
    at = start_app(app_config)
    at.session_state[state.PROMPTS] = [case.prompt]
    open_entity(at, case.entity)
    start = ops_of(app_config.store)

    edit_value(at, case.relation, case.new_value)
    _no_exception(at)
    regen = at.session_state[state.REGENERATION]
    (after,) = regen.after
    (before,) = regen.before
    assert at.session_state[state.OUTPUTS].seconds == regen.decode_seconds > 0  # the Generate page's timing
    assert lookups_of(after, case.entity, case.relation), "the regenerated output looks the fact up"
    assert all(
        r.value == case.new_value and r.path == "exact" for r in lookups_of(after, case.entity, case.relation)
    )
    assert case.new_value in after.raw_text and case.new_value not in before.raw_text
    assert f"{case.entity} | {case.relation} = {case.new_value} (exact" in _texts(at)  # the value's hover
    with KnowledgeGraph.open(app_config.store) as kg:
        assert [f.value for f in kg.store.lookup(case.entity, case.relation)] == [case.new_value]

    new_id = next(f.id for f in at.session_state[state.FACTS_SHOWN] if f.value == case.new_value)
    at.selectbox(key="forget_pick").set_value(new_id)
    at.button(key="forget_fact").click().run()
    audit = at.multiselect(key=forget_view.AUDIT_KEY)  # near keys the fuzzy path could still answer with
    audit.set_value(list(range(len(audit.options))))
    at.button(key="confirm_forget").click().run()
    _no_exception(at)
    (after,) = at.session_state[state.REGENERATION].after
    assert [r.path for r in lookups_of(after, case.entity, case.relation)] == ["miss"] * len(
        lookups_of(after, case.entity, case.relation)
    )
    assert lookups_of(after, case.entity, case.relation), "the model still asks, and the store has no answer"
    assert case.new_value not in after.raw_text  # no longer stated: nothing injects it

    at.switch_page("screens/history.py").run()
    forget_change = at.session_state[state.REGENERATION].changes[0]
    at.selectbox(key="history_pick").set_value(forget_change.id).run()
    at.button(key="undo").click().run()
    _no_exception(at)
    (after,) = at.session_state[state.REGENERATION].after
    assert all(r.value == case.new_value for r in lookups_of(after, case.entity, case.relation))
    assert case.new_value in after.raw_text
    ops = ops_of(app_config.store)
    new = ops[: len(ops) - len(start)]
    assert ops[len(new) :] == start
    assert new[0] == "undo" and new[-1] == "set" and set(new[1:-1]) == {"forget"}
    with KnowledgeGraph.open(app_config.store) as kg:
        assert kg.check() == []


def test_the_leak_audit_is_searched_once_per_pending_forget_and_store_state(start_app, app_config, edit_case):
    at = start_app(app_config)
    open_entity(at, edit_case.entity)
    fact = next(f for f in at.session_state[state.FACTS_SHOWN] if f.relation == edit_case.relation)
    at.selectbox(key="forget_pick").set_value(fact.id)
    at.button(key="forget_fact").click().run()
    _no_exception(at)
    audit = at.session_state[state.LEAK_AUDIT]
    assert audit.pending.fact_id == fact.id
    with KnowledgeGraph.open(app_config.store) as kg:
        assert audit.candidates == kg.leak_audit(dataclasses.replace(kg.store.history()[0], removed=(fact,)))
    at.run()  # a rerun (a pick in the audit, say) with nothing changed keeps the audit
    assert at.session_state[state.LEAK_AUDIT] is audit
    with KnowledgeGraph.open(app_config.store) as kg:  # the store changes under the pending forget
        kg.set_fact(edit_case.entity, "Nickname", "Audit Test")
    at.run()
    _no_exception(at)
    fresh = at.session_state[state.LEAK_AUDIT]
    assert fresh is not audit and fresh.change_id > audit.change_id and fresh.pending == audit.pending


@pytest.mark.slow
def test_two_tabs_editing_one_fact_end_with_one_value_and_two_changes(start_app, app_config, edit_case):
    case = edit_case
    first, second = start_app(app_config), start_app(app_config)
    for at in (first, second):
        open_entity(at, case.entity)  # both see the old value
    edit_value(first, case.relation, case.new_value)
    edit_value(second, case.relation, case.new_value + " Junior")
    _no_exception(first)
    _no_exception(second)
    with KnowledgeGraph.open(app_config.store) as kg:
        assert [f.value for f in kg.store.lookup(case.entity, case.relation)] == [case.new_value + " Junior"]
        assert [c.op for c in kg.store.history(limit=2)] == ["set", "set"]
        assert kg.check() == []
    first.run()  # a page re-reads after a write: the first tab now shows the second tab's value
    assert case.new_value + " Junior" in [f.value for f in first.session_state[state.FACTS_SHOWN]]


def test_bad_input_is_a_message_beside_the_form_and_changes_nothing(start_app, app_config, edit_case):
    config = dataclasses.replace(app_config, model=None, standard_model=None)  # no decoding needed
    at = start_app(config)
    open_entity(at, edit_case.entity)
    start = ops_of(app_config.store)
    edit_value(at, edit_case.relation, "   ")
    _no_exception(at)
    assert any("row" in e and "value is empty" in e for e in _errors(at))
    assert ops_of(app_config.store) == start

    at.switch_page("screens/settings.py").run()
    at.number_input(key="resolver_threshold").set_value(1.5)
    at.button[0].click().run()
    assert any("threshold must be a cosine in [-1, 1]" in e for e in _errors(at))

    at.switch_page("screens/cypher.py").run()
    at.text_area(key=state.CYPHER_PARAMS).set_value("{not json").run()
    assert any(e.startswith("Parameters:") for e in _errors(at))
    _no_exception(at)


def test_a_read_only_app_hides_and_refuses_every_write(start_app, app_config, edit_case):
    config = dataclasses.replace(app_config, model=None, standard_model=None, read_only=True)
    at = start_app(config)
    start = ops_of(app_config.store)
    open_entity(at, edit_case.entity)
    _no_exception(at)
    keys = {b.key for b in at.button}
    assert not keys & {"save_facts", "forget_fact", "forget_entity", "add_alias", "merge", "import_go"}
    assert not at.data_editor and at.dataframe  # the facts as a table that cannot be edited
    at.switch_page("screens/history.py").run()
    at.selectbox(key="history_pick").set_value(1).run()
    assert "undo" not in {b.key for b in at.button}
    # a write that reaches the code anyway (a stale page) is refused
    from lmlm.app.regenerate import ReadOnlyError, apply_edit

    with pytest.raises(ReadOnlyError, match="read-only"):
        apply_edit(at.session_state[state.SETTINGS], lambda kg: kg.forget(edit_case.entity), "forget")
    assert ops_of(app_config.store) == start


def test_an_unreachable_neo4j_is_a_message_within_seconds_and_the_rest_keeps_working(start_app, app_config):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = dataclasses.replace(
        app_config, store=f"bolt://127.0.0.1:{port}", model=None, standard_model=None
    )
    at = start_app(config)
    _no_exception(at)
    assert "not available" in _texts(at)  # Generate: lookups cannot be answered
    for page in PAGES:
        at.switch_page(page).run(timeout=30)
        _no_exception(at)
    at.switch_page("screens/facts.py").run()
    assert any("not available" in e and str(port) in e for e in _errors(at))
    assert any(b.key == "retry_store" for b in at.button)
