"""The store contract at its edges, on both stores: stores that do not exist or are open read-only,
empty imports, size limits, undo written in batches, and what substring search matches."""

from __future__ import annotations

import pytest

from lmlm.kg.errors import (
    FieldTooLongError,
    ImportInterruptedError,
    ReadOnlyStoreError,
    StoreNotFoundError,
)
from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import open_store
from lmlm.kg.limits import MAX_ENTITY_CHARS, MAX_RELATION_CHARS, MAX_VALUE_CHARS

WORLD = [Triple("Ko Itakura", "Birthplace", "Yokohama"), Triple("Yokohama", "Country", "Japan")]


def people(n: int) -> list[Triple]:
    return [Triple(f"person {i}", "age", str(i)) for i in range(n)]


# ------------------------------------------------------------------------------ missing, read-only
def test_a_missing_embedded_store_is_refused_unless_created(tmp_path):
    missing = tmp_path / "no-such-store"
    for read_only in (False, True):
        with pytest.raises(StoreNotFoundError, match=str(missing)):
            open_store(missing, create=False, read_only=read_only)
    assert not missing.exists()  # refusing it made nothing
    missing.mkdir()  # a directory without kg.sqlite is no store either
    with pytest.raises(StoreNotFoundError, match="no kg.sqlite"):
        open_store(missing, create=False)
    open_store(missing).close()  # create (the default) makes one
    open_store(missing, create=False).close()


def test_a_store_opened_read_only_reads_and_refuses_writes(store):
    store.import_triples(WORLD)
    reader = open_store(store.location, create=False, read_only=True)
    try:
        assert reader.read_only and reader.lookup("ko itakura", "birthplace")[0].value == "Yokohama"
        assert [c.op for c in reader.history()] == ["import"] and reader.check() == []
        for write in (
            lambda: reader.set_fact("A", "r", "v"),
            lambda: reader.import_triples(WORLD),
            lambda: reader.forget("Yokohama"),
            lambda: reader.undo(1),
            reader.clear,
        ):
            with pytest.raises(ReadOnlyStoreError, match="read-only") as info:
                write()
            assert reader.location in str(info.value)
    finally:
        reader.close()
    assert store.count() == 2


# ------------------------------------------------------------------------------ empty imports
@pytest.mark.parametrize("empty", [[], iter(()), (t for t in [])], ids=["list", "iterator", "generator"])
def test_an_empty_import_logs_no_change(store, empty):
    report = store.import_triples(empty)
    assert (report.change_id, report.read, report.added, report.committed_batches) == (None, 0, 0, 0)
    assert store.history() == [] and store.last_change_id() == 0


# ------------------------------------------------------------------------------ size limits
def test_fields_at_their_limits_are_kept_and_longer_ones_refused(store):
    at_limit = Triple("e" * MAX_ENTITY_CHARS, "r" * MAX_RELATION_CHARS, "v" * MAX_VALUE_CHARS)
    store.import_triples([at_limit])
    assert store.lookup(at_limit.entity, at_limit.relation)[0].value == at_limit.value
    too_long = {
        "entity": Triple("e" * (MAX_ENTITY_CHARS + 1), "r", "v"),
        "relation": Triple("e", "r" * (MAX_RELATION_CHARS + 1), "v"),
        "value": Triple("e", "r", "v" * (MAX_VALUE_CHARS + 1)),
        "source": Triple("e", "r", "v", source="s" * 5_000),
    }
    for field, triple in too_long.items():
        with pytest.raises(ImportInterruptedError) as info:
            store.import_triples([WORLD[0], triple])
        assert isinstance(info.value.__cause__, FieldTooLongError)
        assert f"triple 1 (entity {triple.entity[:40]!r}): {field} is" in str(info.value.__cause__)
        assert "over the limit" in str(info.value.__cause__)
    with pytest.raises(FieldTooLongError, match="value is 4,097 characters, over the limit of 4,096"):
        store.set_fact("e", "r", "v" * (MAX_VALUE_CHARS + 1))
    with pytest.raises(FieldTooLongError, match="entity"):
        store.merge_entities("Ko Itakura", "x" * (MAX_ENTITY_CHARS + 1))
    assert store.count() == 1 and store.lookup("Ko Itakura", "Birthplace") == []


# ------------------------------------------------------------------------------ batched undo
def test_undo_of_an_import_larger_than_a_batch(store):
    """More facts than ``change_batch_size``: Neo4j writes the undo in batches, the embedded store in
    one transaction; either way the same facts go, come back with redo, and go again."""
    store.change_batch_size = 10
    store.import_triples(WORLD)
    big = store.import_triples(people(35), batch_size=7)
    undo = store.undo(big.change_id)
    assert store.count() == 2 and undo.removed_count == 35 == len(undo.removed)
    assert store.get_change(undo.id) == undo
    assert store.get_change(big.change_id).undone_by == undo.id
    if store.backend == "neo4j":
        assert (undo.committed_batches, undo.total_batches, undo.state) == (4, 4, "complete")
    [line] = [c for c in store.history() if c.id == undo.id]
    assert line.to_dict(with_facts=False)["removed_count"] == 35
    redo = store.undo(undo.id)
    assert store.count() == 37 and {f.id for f in redo.added} == {f.id for f in undo.removed}
    assert sorted(f.value for f in store.lookup("person 3", "age")) == ["3"]
    store.undo(redo.id)
    assert store.count() == 2 and store.check() == []


# ------------------------------------------------------------------------------ substring search
SEARCH_WORLD = [
    Triple(name, "r", "v")
    for name in (
        "Ko Itakura",
        "Ada Lovelace",
        "100% (pure)",
        "a_b*c?d",
        "[x] {y} \"z\" 'w'",
        "Mönchengladbach",
        "中文 名字",
        "AAAA",
        "ab",
    )
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("itak", ["Ko Itakura"]),
        ("KURA", ["Ko Itakura"]),
        ("a", ["a_b*c?d", "AAAA", "ab", "Ada Lovelace", "Ko Itakura"]),  # by key, then cut at 5
        ("aa", ["AAAA"]),
        ("aaa", ["AAAA"]),
        ("%", ["100% (pure)"]),
        ("(pure)", ["100% (pure)"]),
        ("b*c?", ["a_b*c?d"]),
        ("a b", ["a_b*c?d"]),  # "_" matches as a space, as in keys
        ('{y} "z"', ["[x] {y} \"z\" 'w'"]),
        ("önch", ["Mönchengladbach"]),
        ("文 名", ["中文 名字"]),
        ("zzz", []),
    ],
)
def test_substring_search_matches_inside_names(store, text, expected):
    store.import_triples(SEARCH_WORLD)
    assert store.search_entities(text, limit=5) == expected
