"""The fuzzy index follows the store's change log: edits made through another store handle (another
process: the CLI, the app, a script) reach a graph's index by replay, on both stores, with the real
MiniLM model. After a replay the index equals a rebuild of the same store."""

from __future__ import annotations

import pytest

from lmlm.kg.facts import Triple
from lmlm.kg.fuzzy_index import FuzzyIndex
from lmlm.kg.knowledge_graph import KnowledgeGraph, open_store, shared_embedder
from lmlm.kg.resolver import ResolverConfig

FACTS = [
    Triple("Ko Itakura", "Birthplace", "Yokohama"),
    Triple("Ko Itakura", "Team", "Borussia Mönchengladbach"),
    Triple("Itakura Ko", "Position", "Defender"),
    Triple("Marisol Quintero", "Occupation", "Cartographer"),
    Triple("Marisol Quintero", "Employer", "Velnor Institute"),
    Triple("Velnor Institute", "Location", "Kalo Harbour"),
    Triple("Ada Lovelace", "Occupation", "Mathematician"),
]


@pytest.fixture
def graph(store, tmp_path):
    """A graph whose fuzzy index is loaded, built and saved, as a running app's would be."""
    kg = KnowledgeGraph(store, index_dir=tmp_path / "index")
    kg.import_triples(FACTS)
    assert kg.build_fuzzy_index() == len(FACTS)
    return kg


@pytest.fixture
def other(store):
    """A second handle on the same store, with no fuzzy index: another process."""
    handle = open_store(store.location)
    yield handle
    handle.close()


def rebuilt(store, tmp_path) -> FuzzyIndex:
    index = FuzzyIndex(tmp_path / "rebuilt", shared_embedder(None))
    index.rebuild(store)
    return index


def assert_same_as_a_rebuild(index: FuzzyIndex, store, tmp_path) -> None:
    fresh = rebuilt(store, tmp_path)
    assert index.applied_change_id == store.last_change_id()
    assert index.entries == fresh.entries  # the same keys, each with its newest display strings
    assert index.entity_names.keys() == fresh.entity_names.keys()
    assert dict(index.relations_of) == dict(fresh.relations_of)
    assert index.check(store) == []  # and the vectors are those of exactly these keys


def edit_through(other) -> list[str]:
    """Every kind of edit, made through the other handle; returns the forgotten key texts."""
    other.set_fact("Ko Itakura", "Birthplace", "Kawasaki")  # replace a value: the key stays
    other.set_fact("ko itakura", "BIRTHPLACE", "Kawasaki")  # the same key, newly spelt
    other.set_fact("Ada Lovelace", "Occupation", "Writer", replace=False)  # add beside
    other.set_fact("Grace Hopper", "Rank", "Rear admiral")  # a new entity and key
    forgotten = other.forget("Velnor Institute", "Location")  # a key and its only entity
    other.forget_entity("Ada Lovelace")
    other.merge_entities("Ko Itakura", "Itakura Ko")  # Itakura Ko's key moves to Ko Itakura
    other.undo(forgotten.id)
    other.forget("Marisol Quintero", "Employer")
    other.import_triples([Triple("Solis Misa", "Occupation", "Glassblower"), FACTS[3]])
    return ["Marisol Quintero Employer", "Ada Lovelace Occupation", "Itakura Ko Position"]


def test_replay_of_another_handles_edits_equals_a_rebuild(graph, other, store, tmp_path):
    index = graph.fuzzy_index
    gone = edit_through(other)
    assert index.sync(store) > 0
    assert_same_as_a_rebuild(index, store, tmp_path)
    found = {hit.entry.text for row in index.search_keys(gone, k=len(index.entries)) for hit in row}
    assert not found & set(gone)  # a removed key is never a search result


def test_the_resolver_catches_up_and_never_answers_a_removed_key(graph, other, store, tmp_path):
    resolver = graph.resolver(ResolverConfig(fallback="top1"))
    assert resolver.resolve("Marisol Quintero", "employer of").value == "Velnor Institute"
    edit_through(other)
    for query in [("Marisol Quintero", "employer of"), ("Marisol Quintero", "Employer")]:
        assert resolver.resolve(*query).value != "Velnor Institute"
    assert resolver.resolve("Itakura Ko", "position").value == "Defender"  # the alias, then exact
    assert resolver.resolve("Ko Itakura", "place of birth").value == "Kawasaki"
    assert_same_as_a_rebuild(graph.fuzzy_index, store, tmp_path)


def test_replay_after_save_and_reopen(graph, other, store, tmp_path):
    other.set_fact("Grace Hopper", "Rank", "Rear admiral")
    assert graph.build_fuzzy_index() == len(FACTS) + 1  # synced and saved
    edit_through(other)  # after the save: only the change log knows these
    reopened = KnowledgeGraph(open_store(store.location), index_dir=tmp_path / "index")
    try:
        assert not reopened.fuzzy_index_loaded
        assert_same_as_a_rebuild(reopened.fuzzy_index, store, tmp_path)
    finally:
        reopened.close()


def test_a_cleared_log_makes_the_index_rebuild(graph, other, store, tmp_path):
    """clear() empties the log without a change; ids go on from the old ones, so a replay would
    miss every fact it deleted."""
    index = graph.fuzzy_index
    other.clear()
    other.import_triples(FACTS[3:5])
    index.sync(store)
    assert sorted(e.text for e in index.entries.values()) == [
        "Marisol Quintero Employer",
        "Marisol Quintero Occupation",
    ]
    assert_same_as_a_rebuild(index, store, tmp_path)
