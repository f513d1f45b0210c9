"""Facts, aliases and changes in their stored form: written and read back by name, in one place."""

from __future__ import annotations

import json
import sqlite3

from lmlm.kg.changes import BATCH_COLUMNS, INTERRUPTED
from lmlm.kg.facts import FACT_FIELDS, Alias, Fact, Triple
from lmlm.kg.store import CHANGE_COLUMNS, Change, ChangeDraft

FACT = Fact("f1", "Ko Itakura", "Birthplace", "Yokohama", "doc-1", None, 12.5, 7, 3)


def test_fact_reads_a_row_by_column_name_in_any_order():
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    shuffled = list(reversed(FACT_FIELDS))
    db.execute(f"CREATE TABLE t ({', '.join(shuffled)})")
    db.execute(
        f"INSERT INTO t VALUES ({', '.join('?' * len(shuffled))})", [getattr(FACT, n) for n in shuffled]
    )
    [row] = db.execute("SELECT * FROM t").fetchall()
    assert Fact.from_dict(row) == FACT
    assert Fact.from_dict({**FACT.to_dict(), "relation_key": "birthplace"}) == FACT  # extra keys ignored
    assert Fact.from_dict(json.loads(json.dumps(FACT.to_dict()))) == FACT


def test_change_round_trips_through_its_record():
    draft = ChangeDraft(
        "merge",
        "merge 'Itakura Ko' into 'Ko Itakura'",
        removed=(FACT,),
        added=(Triple("Ko Itakura", "Team", "Gladbach"), FACT),
        aliases_added=(Alias("Itakura Ko", "Ko Itakura"),),
        undoes=2,
    )
    new = draft.new_facts(now=99.0)
    assert [f.created_at for f in new] == [99.0, 12.5]  # a restored fact keeps its time
    change = draft.committed(5, 99.0, new)
    record = change.to_record()
    assert set(record) == set(CHANGE_COLUMNS) | set(BATCH_COLUMNS)
    assert Change.from_record(record) == change
    assert Change.from_record(dict(reversed(list(record.items())))) == change
    # the embedded store keeps CHANGE_COLUMNS only: such a record is a complete change
    legacy = Change.from_record({name: record[name] for name in CHANGE_COLUMNS})
    assert legacy == change and legacy.complete and not legacy.batched


def test_a_batched_change_reads_its_facts_from_its_parts():
    change = Change(
        7, "undo", "undo change 3 (import)", 1.0, removed=(FACT,), added=(FACT,), undoes=3,
        removed_count=1, added_count=1, state=INTERRUPTED, committed_batches=1, total_batches=2,
    )  # fmt: skip
    record = change.to_record(with_facts=False)
    assert json.loads(record["payload"]) == {}
    parts = [json.dumps({"removed": [FACT.to_dict()]}), json.dumps({"added": [FACT.to_dict()]})]
    assert Change.from_record(record, parts) == change
    assert change.batched and not change.complete
    assert change.progress_note() == "interrupted: 1 of 2 batches committed"
    summary = Change.from_record(record).to_dict(with_facts=False)  # as history lists it
    assert (summary["removed_count"], summary["state"], summary["committed_batches"]) == (1, INTERRUPTED, 1)


def test_new_facts_keep_one_fact_per_id():
    triple = Triple("A", "r", "x")
    draft = ChangeDraft("set", "set", added=(triple, Triple("a", "R", "X")))
    [fact] = draft.new_facts(now=1.0)
    assert (fact.id, fact.entity) == (triple.fact_id, "a")  # the later one wins
