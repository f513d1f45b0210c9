"""The app on a Neo4j store (the test server that ``make test`` starts): every page renders, the
Cypher page runs a cookbook query, and an edit regenerates the output as on the embedded store."""

from __future__ import annotations

import dataclasses

import pytest

from lmlm.app import cookbook, state
from lmlm.kg import KnowledgeGraph, Triple, normalize_key
from tests.app.test_pages import PAGES, _no_exception, edit_value, lookups_of, open_entity
from tests.neo4j_support import connect_test_store, neo4j_test_uri


@pytest.fixture
def neo4j_config(app_config):
    """``app_config`` on the test Neo4j, holding the mini demo's facts."""
    store = connect_test_store()  # wiped
    try:
        with KnowledgeGraph.open(app_config.store) as kg:
            store.import_triples([Triple(f.entity, f.relation, f.value) for f in kg.store.iter_facts()])
    finally:
        store.close()
    return dataclasses.replace(app_config, store=neo4j_test_uri())


@pytest.mark.neo4j
@pytest.mark.slow
def test_every_page_renders_and_an_edit_regenerates_on_neo4j(start_app, neo4j_config, edit_case):
    case = edit_case
    at = start_app(neo4j_config)
    _no_exception(at)
    at.session_state[state.ENTITY] = case.entity
    for page in PAGES:
        at.switch_page(page).run()
        _no_exception(at)

    at.switch_page("screens/cypher.py").run()
    at.selectbox(key=state.CYPHER_RECIPE).set_value("count_relations").run()
    assert at.text_area(key=state.CYPHER_QUERY).value == cookbook.recipes()[0].query
    next(b for b in at.button if b.label == "Run").click().run()
    _no_exception(at)
    counts = {r["relation"]: r for r in at.session_state[state.CYPHER_RESULT]}
    assert normalize_key(case.relation) in counts  # the demo's relations, counted by Neo4j

    at.session_state[state.PROMPTS] = [case.prompt]
    open_entity(at, case.entity)
    edit_value(at, case.relation, case.new_value)
    _no_exception(at)
    (after,) = at.session_state[state.REGENERATION].after
    assert lookups_of(after, case.entity, case.relation)
    assert all(r.value == case.new_value for r in lookups_of(after, case.entity, case.relation))
    with KnowledgeGraph.open(neo4j_config.store) as kg:
        assert [f.value for f in kg.store.lookup(case.entity, case.relation)] == [case.new_value]
        assert [c.op for c in kg.store.history(limit=2)] == ["set", "import"]


@pytest.mark.neo4j
def test_every_cookbook_query_runs_read_only_on_neo4j(neo4j_store):
    neo4j_store.import_triples([Triple("Ada Lovelace", "Place of birth", "London")])
    neo4j_store.set_fact("Ada Lovelace", "Place of birth", "Paris", replace=False)  # a conflicting value
    example = {"entity": "Ada Lovelace", "relation": "Place of birth", "since": "2000-01-01"}
    for recipe in cookbook.recipes():
        params = {k: example.get(k, v) for k, v in recipe.params.items()}
        records = neo4j_store.run_cypher(recipe.query, params)  # refused or failed: an error names it
        assert records, f"{recipe.name}: no records on a store with a conflicting fact"


@pytest.mark.neo4j
def test_a_cypher_write_from_the_app_is_seen_by_the_next_lookup(neo4j_store):
    from lmlm.app.resources import GraphHandle
    from lmlm.kg import ResolverConfig

    neo4j_store.import_triples([Triple("Ko Itakura", "Team", "Gladbach")])
    (fact,) = neo4j_store.lookup("Ko Itakura", "Team")
    handle = GraphHandle(neo4j_test_uri()).open()
    try:
        config = ResolverConfig(fuzzy=False)
        assert handle.resolve(config, [("Ko Itakura", "Team")])[0].value == "Gladbach"  # now cached
        handle.write_cypher("MATCH ()-[f:FACT {id: $id}]->() DELETE f", {"id": fact.id})
        assert handle.resolve(config, [("Ko Itakura", "Team")])[0].path == "miss"  # not the cached answer
    finally:
        handle.kg.close()
