"""Neo4j beyond the contract: an undo written in batches that stops part-way, and a database that
holds no store yet."""

from __future__ import annotations

import pytest

from lmlm.kg import neo4j_tx
from lmlm.kg.errors import ChangeInterruptedError, ReadOnlyStoreError, StoreNotFoundError
from lmlm.kg.facts import Triple
from tests.neo4j_support import neo4j_test_uri

pytestmark = pytest.mark.neo4j


def people(n: int) -> list[Triple]:
    return [Triple(f"person {i}", "age", str(i)) for i in range(n)]


def test_an_undo_stopped_part_way_is_marked_interrupted_and_can_itself_be_undone(neo4j_store, monkeypatch):
    store = neo4j_store
    store.change_batch_size = 10
    report = store.import_triples(people(35))
    real, calls = neo4j_tx.remove_part, []

    def fail_on_third(tx, *args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("connection lost")
        return real(tx, *args)

    monkeypatch.setattr(neo4j_tx, "remove_part", fail_on_third)
    with pytest.raises(ChangeInterruptedError, match="interrupted: 2 of 4 batches committed") as info:
        store.undo(report.change_id)
    monkeypatch.undo()
    partial = store.get_change(info.value.change_id)
    assert (partial.state, partial.committed_batches, len(partial.removed)) == ("interrupted", 2, 20)
    assert store.count() == 15 and store.get_change(report.change_id).undone_by is None
    [problem] = store.check()
    assert f"change {partial.id} (undo change {report.change_id} (import)) is interrupted" in problem
    finished = store.undo(report.change_id)  # the same undo again resumes the stopped one
    assert finished.id == partial.id and store.count() == 0 and store.check() == []
    assert (finished.state, finished.committed_batches, finished.total_batches) == ("complete", 4, 4)
    assert len(finished.removed) == finished.removed_count == 35
    assert store.get_change(report.change_id).undone_by == partial.id
    store.undo(partial.id)  # and that undo can be undone whole
    assert store.count() == 35 and store.check() == []


def test_undoing_a_stopped_undo_puts_back_what_it_removed(neo4j_store, monkeypatch):
    store = neo4j_store
    store.change_batch_size = 10
    report = store.import_triples(people(35))
    monkeypatch.setattr(neo4j_tx, "remove_part", _failing_after(neo4j_tx.remove_part, 2))
    with pytest.raises(ChangeInterruptedError) as info:
        store.undo(report.change_id)
    monkeypatch.undo()
    store.undo(info.value.change_id)
    assert store.count() == 35 and store.check() == []


def _failing_after(work, calls: int):
    done = []

    def failing(tx, *args):
        if len(done) == calls:
            raise RuntimeError("connection lost")
        done.append(1)
        return work(tx, *args)

    return failing


def test_a_database_without_a_store_is_refused_unless_created(neo4j_store):
    from lmlm.kg.neo4j_store import Neo4jStore

    uri = neo4j_test_uri()
    neo4j_store.run_cypher("MATCH (m:LmlmMeta) DELETE m", write=True)  # as on a fresh server
    try:
        for read_only in (False, True):
            with pytest.raises(StoreNotFoundError, match=f"Neo4j at {uri}.*holds no LMLM store"):
                Neo4jStore(uri, create=False, read_only=read_only)
    finally:
        Neo4jStore(uri).close()  # create (the default) sets it up again
    Neo4jStore(uri, create=False).close()
    reader = Neo4jStore(uri, read_only=True)
    try:
        with pytest.raises(ReadOnlyStoreError, match="opened read-only"):
            reader.run_cypher("CREATE (:Scratch)", write=True)
    finally:
        reader.close()
