"""Facts, aliases and changes in their stored form: written and read back by name, in one place."""

from __future__ import annotations

import json
import sqlite3

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
    assert tuple(record) == CHANGE_COLUMNS
    assert Change.from_record(record) == change
    assert Change.from_record(dict(reversed(list(record.items())))) == change


def test_new_facts_keep_one_fact_per_id():
    triple = Triple("A", "r", "x")
    draft = ChangeDraft("set", "set", added=(triple, Triple("a", "R", "X")))
    [fact] = draft.new_facts(now=1.0)
    assert (fact.id, fact.entity) == (triple.fact_id, "a")  # the later one wins
