"""The store contract, run against every backend (embedded SQLite and Neo4j)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lmlm.kg import ImportInterruptedError
from lmlm.kg.errors import FactNotFoundError, KnowledgeGraphError, KnowledgeStoreError
from lmlm.kg.facts import Triple, make_fact_id

WORLD = [
    Triple("Ko Itakura", "Birthplace", "Yokohama", source="doc-1", annotator="gpt-4o"),
    Triple("Ko Itakura", "Team", "Borussia Mönchengladbach", source="doc-1"),
    Triple("Ko Itakura", "Position", "Defender"),
    Triple("Yokohama", "Country", "Japan"),
    Triple("Destiny's Child", "Genre", "R&B"),
    Triple("Ada Lovelace", "Occupation", "Mathematician"),
    Triple("Ada Lovelace", "Occupation", "Writer"),
]

ODD_NAMES = [
    'O\'Brien "the quote"',
    "back\\slash \\' and \\n",
    "`backtick` {braces} $param",
    "MATCH (n) DETACH DELETE n //",
    "line one\nline two\r\n\ttab",
    "emoji 🧠🎉 and 中文",
    "x" * 4_096,  # the longest entity and value lmlm.kg.limits allows
    "  leading and trailing  ",
]


def values(facts):
    return [f.value for f in facts]


def test_import_and_exact_lookup(store):
    report = store.import_triples(WORLD)
    assert (report.read, report.added, report.duplicates) == (7, 7, 0)
    [fact] = store.lookup("Ko Itakura", "Birthplace")
    assert fact.value == "Yokohama"
    assert fact.id == make_fact_id("Ko Itakura", "Birthplace", "Yokohama")
    assert (fact.source, fact.annotator, fact.change_id) == ("doc-1", "gpt-4o", report.change_id)
    assert store.lookup("Ko Itakura", "Spouse") == []
    assert store.count() == 7


def test_lookup_matches_normalised_keys(store):
    store.import_triples(WORLD)
    for entity, relation in [
        ("ko itakura", "birthplace"),
        ("KO_ITAKURA", "BIRTHPLACE"),
        ("  Ko   Itakura ", "Birth_place".replace("_", "")),
        ("Destiny\\'s Child", "genre"),
    ]:
        assert store.lookup(entity, relation), (entity, relation)
    # display strings stay exactly as given
    assert store.lookup("destiny's child", "genre")[0].entity == "Destiny's Child"


def test_reimport_skips_duplicates(store):
    store.import_triples(WORLD)
    report = store.import_triples(WORLD + [Triple("ko itakura", "BIRTHPLACE", "yokohama")])
    assert (report.added, report.duplicates) == (0, 8)
    assert store.count() == 7


def test_several_values_newest_first(store):
    store.import_triples(WORLD)
    assert values(store.lookup("Ada Lovelace", "Occupation")) == ["Writer", "Mathematician"]
    store.set_fact("Ada Lovelace", "Occupation", "Programmer", replace=False)
    assert values(store.lookup("Ada Lovelace", "Occupation")) == ["Programmer", "Writer", "Mathematician"]


def test_lookup_many_keeps_order(store):
    store.import_triples(WORLD)
    got = store.lookup_many([("Yokohama", "Country"), ("nobody", "x"), ("Ko Itakura", "Team")])
    assert [values(g) for g in got] == [["Japan"], [], ["Borussia Mönchengladbach"]]


def test_set_replaces_and_undo_restores(store):
    store.import_triples(WORLD)
    change = store.set_fact("Ko Itakura", "Birthplace", "Kawasaki")
    assert values(change.removed) == ["Yokohama"] and values(change.added) == ["Kawasaki"]
    assert values(store.lookup("Ko Itakura", "Birthplace")) == ["Kawasaki"]
    undo = store.undo(change.id)
    assert undo.undoes == change.id
    assert values(store.lookup("Ko Itakura", "Birthplace")) == ["Yokohama"]
    assert store.get_change(change.id).undone_by == undo.id
    with pytest.raises(KnowledgeGraphError):
        store.undo(change.id)
    store.undo(undo.id)  # redo
    assert values(store.lookup("Ko Itakura", "Birthplace")) == ["Kawasaki"]


def test_set_new_fact_and_same_value_again(store):
    store.set_fact("Zed", "Colour", "green")
    store.set_fact("Zed", "Colour", "Green")  # same normalised triple: one fact, display updated
    [fact] = store.lookup("zed", "colour")
    assert fact.value == "Green"
    assert store.count() == 1


def test_forget_fact_and_key(store):
    store.import_triples(WORLD)
    [fact] = store.lookup("Ko Itakura", "Position")
    store.forget_fact(fact.id)
    assert store.lookup("Ko Itakura", "Position") == []
    change = store.forget("Ada Lovelace", "Occupation")
    assert sorted(values(change.removed)) == ["Mathematician", "Writer"]
    assert store.lookup("Ada Lovelace", "Occupation") == []
    with pytest.raises(FactNotFoundError):
        store.forget("Ada Lovelace", "Occupation")
    with pytest.raises(FactNotFoundError):
        store.forget_fact("f0000000000000000")
    store.undo(change.id)
    assert values(store.lookup("Ada Lovelace", "Occupation")) == ["Writer", "Mathematician"]


def test_forget_entity_with_and_without_values(store):
    store.import_triples(WORLD)
    change = store.forget_entity("Yokohama")
    assert [f.relation for f in change.removed] == ["Country"]
    assert store.lookup("Ko Itakura", "Birthplace")  # Yokohama as a value stays
    store.undo(change.id)
    change = store.forget_entity("yokohama", include_as_value=True)
    assert sorted(f.relation for f in change.removed) == ["Birthplace", "Country"]
    assert store.lookup("Ko Itakura", "Birthplace") == []
    assert store.check() == []


def test_facts_of_entity(store):
    store.import_triples(WORLD)
    assert [f.relation for f in store.facts_of("ko itakura")] == ["Birthplace", "Team", "Position"]
    assert {f.entity for f in store.facts_of("Yokohama", as_value=True)} == {"Yokohama", "Ko Itakura"}


def test_merge_leaves_alias_that_lookups_resolve(store):
    store.import_triples(WORLD + [Triple("Itakura", "Nickname", "Ko"), Triple("Hiro", "Teammate", "Itakura")])
    change = store.merge_entities("Ko Itakura", "Itakura")
    assert values(store.lookup("Itakura", "Nickname")) == ["Ko"]
    assert store.lookup("Ko Itakura", "Nickname")[0].entity == "Ko Itakura"
    assert values(store.lookup("Hiro", "Teammate")) == ["Ko Itakura"]  # as a value too
    assert [a.alias for a in store.list_aliases()] == ["Itakura"]
    # edits through the alias land on the entity
    store.set_fact("itakura", "Height", "1.86 m")
    assert store.lookup("Ko Itakura", "Height")[0].entity == "Ko Itakura"
    with pytest.raises(ValueError):
        store.merge_entities("Ko Itakura", "ITAKURA")
    store.undo(change.id)
    assert store.list_aliases() == []
    assert store.lookup("Itakura", "Nickname")[0].entity == "Itakura"
    assert values(store.lookup("Hiro", "Teammate")) == ["Itakura"]
    assert store.check() == []


def test_merge_chains_move_old_aliases(store):
    store.import_triples([Triple("A", "r", "1"), Triple("B", "r", "2"), Triple("C", "r", "3")])
    store.merge_entities("B", "A")
    store.merge_entities("C", "B")
    assert sorted(a.alias for a in store.list_aliases()) == ["A", "B"]
    assert sorted(values(store.lookup("A", "r"))) == ["1", "2", "3"]
    assert store.check() == []


def test_search_entities(store):
    store.import_triples(WORLD)
    assert store.search_entities("itak") == ["Ko Itakura"]
    assert store.search_entities("ADA", mode="prefix") == ["Ada Lovelace"]
    assert store.search_entities("kura", mode="prefix") == []
    assert len(store.search_entities("a", limit=2)) == 2


def test_history_and_import_undo(store):
    first = store.import_triples(WORLD[:3])
    second = store.import_triples(WORLD)
    store.set_fact("Yokohama", "Population", "3.7 million")
    history = store.history()
    assert [c.op for c in history] == ["set", "import", "import"]
    assert history[1].added_count == 4 and history[2].added_count == 3
    store.undo(second.change_id)
    assert store.count() == 4  # first import + the set
    assert store.lookup("Ko Itakura", "Birthplace")
    assert store.last_change_id() > first.change_id


def test_odd_names_round_trip(store):
    triples = [
        Triple(name, f"rel {i} {name[:20]}", name, source=name[:50]) for i, name in enumerate(ODD_NAMES)
    ]
    store.import_triples(triples)
    for t in triples:
        [fact] = store.lookup(t.entity, t.relation)
        assert (fact.entity, fact.relation, fact.value, fact.source) == (
            t.entity,
            t.relation,
            t.value,
            t.source,
        )
    change = store.set_fact(ODD_NAMES[0], ODD_NAMES[3], ODD_NAMES[2])
    assert store.lookup(ODD_NAMES[0], ODD_NAMES[3])[0].value == ODD_NAMES[2]
    store.undo(change.id)
    assert {f.entity for f in store.iter_facts()} == set(ODD_NAMES)
    assert store.check() == []


def test_iter_facts_and_stats(store):
    store.import_triples(WORLD)
    facts = list(store.iter_facts(batch_size=2))
    assert [f.to_triple() for f in facts] == WORLD
    assert [f.seq for f in facts] == sorted(f.seq for f in facts)
    stats = store.stats()
    assert (stats.facts, stats.entities, stats.aliases) == (7, 4, 0)
    assert stats.backend == store.backend


class Boom(RuntimeError):
    pass


def exploding(triples, after):
    for i, t in enumerate(triples):
        if i == after:
            raise Boom("reader failed")
        yield t


def test_failed_import_raises_a_typed_error_with_its_report(store):
    store.import_triples(WORLD[:2])
    more = [Triple(f"person {i}", "age", str(i)) for i in range(50)]
    with pytest.raises(ImportInterruptedError, match="stopped after") as info:
        store.import_triples(exploding(more, after=25), batch_size=10)
    error = info.value
    assert isinstance(error, KnowledgeStoreError) and isinstance(error.__cause__, Boom)
    report = error.report
    assert report.read == 25 and report.added == store.count() - 2
    if store.backend == "embedded":  # one transaction: nothing stays, there is no change to undo
        assert (report.change_id, report.added, report.committed_batches) == (None, 0, 0)
        assert store.last_change_id() == 1
    else:  # per batch: what committed stays, under a change that undo removes
        assert (report.added, report.committed_batches) == (20, 2)
        store.undo(report.change_id)
    assert store.count() == 2 and store.check() == []


def test_interrupted_import_is_an_import_interrupted_error(store):
    def interrupted(triples):
        yield from triples
        raise KeyboardInterrupt

    # KeyboardInterrupt is listed so that a regression fails this test instead of stopping pytest
    with pytest.raises((ImportInterruptedError, KeyboardInterrupt)) as info:
        store.import_triples(interrupted(WORLD), batch_size=3)
    assert info.type is ImportInterruptedError and "KeyboardInterrupt" in str(info.value)
    report = info.value.report
    assert report.read == len(WORLD)
    if store.backend == "neo4j":  # its committed batches stay, under a change check() names
        [problem] = store.check()
        assert f"change {report.change_id} (import) is interrupted: 2 of" in problem
        store.undo(report.change_id)
    assert store.check() == []


def test_every_read_path_returns_the_stored_fact_whole(store):
    """Facts are read by field name on every path, so no path garbles or drops a field."""
    report = store.import_triples(WORLD)
    change = store.set_fact("Ko Itakura", "Birthplace", "Kawasaki", source="doc-9", annotator="me")
    stored = {f.id: f for f in store.iter_facts(batch_size=3)}
    assert len(stored) == len(WORLD) and all(f.seq > 0 and f.created_at > 0 for f in stored.values())
    by_path = {
        "get_facts": list(store.get_facts(list(stored)).values()),
        "lookup": [f for e, r in {t.key for t in WORLD} for f in store.lookup(e, r)],
        "facts_of": [f for e in {t.entity for t in WORLD} for f in store.facts_of(e)],
        "facts_created_by": store.facts_created_by(report.change_id) + store.facts_created_by(change.id),
    }
    for path, facts in by_path.items():
        assert sorted(facts, key=lambda f: f.seq) == sorted(stored.values(), key=lambda f: f.seq), path
    [new] = change.added
    assert stored[new.id] == new and (new.source, new.annotator, new.change_id) == ("doc-9", "me", change.id)


def test_changes_read_back_as_they_were_committed(store):
    store.import_triples(WORLD)
    edits = [
        store.set_fact("Ko Itakura", "Birthplace", "Kawasaki"),
        store.merge_entities("Ko Itakura", "Itakura Ko"),
        store.forget_entity("Ada Lovelace"),
    ]
    edits.append(store.undo(edits[0].id))
    for change in edits[1:]:
        assert store.get_change(change.id) == change
    assert store.get_change(edits[0].id) == replace(edits[0], undone_by=edits[-1].id)
    assert [c.id for c in store.history(since=edits[0].id)] == [c.id for c in edits[1:]]


def test_clear(store):
    store.import_triples(WORLD)
    store.clear()
    assert store.count() == 0 and store.history() == [] and store.last_change_id() == 0


def test_undoing_an_edit_after_undoing_its_forget_restores_the_original(store):
    """edit, forget, undo the forget, undo the edit: the original value alone is back (the demo's
    sequence); a fact an undo brought back still belongs to the change that first set it."""
    store.import_triples([Triple("A", "born", "X"), Triple("A", "job", "Y")])
    edit = store.set_fact("A", "born", "Z")
    forget = store.forget("A", "born")
    store.undo(forget.id)
    store.undo(edit.id)
    assert [f.value for f in store.lookup("A", "born")] == ["X"]
    assert store.stats().facts == 2 and store.check() == []
