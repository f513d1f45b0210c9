"""The Neo4j store beyond the shared contract: its queries, connection errors, user Cypher, batched
imports and failures part-way, long keys, concurrent writers and check().

Tests marked ``neo4j`` need the server from ``docker/neo4j-test/run.sh start`` (NEO4J_URI,
NEO4J_PASSWORD) and fail, never skip, without it. The query-file tests run anywhere.
"""

from __future__ import annotations

import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lmlm.kg.cypher_queries import all_query_names, load_query, load_statements
from lmlm.kg.errors import ImportInterruptedError, KnowledgeStoreError, StoreUnavailableError
from lmlm.kg.facts import Triple
from tests.neo4j_support import connect_test_store, neo4j_test_uri

KG_DIR = Path(__file__).resolve().parents[2] / "kg"
# How store code names a query file: load_query / load_statements / _read / _read_facts / _run ...
QUERY_USE = re.compile(
    r"""(?:load_query|load_statements|_read|_read_facts|\brun|_run_values)\(\s*(?:tx,\s*)?"(\w+)\""""
)

ODD = [
    "O'Brien \"quoted\" `tick` {brace} $param \\backslash\\ \\'",
    "MATCH (n) DETACH DELETE n; // RETURN 1",
    "line one\nline two\r\n\ttab",
    "emoji 🧠🎉 中文 ﬁ ß",
    "🧠" * 4_000,  # 16 kB of UTF-8: past the range index's 8 kB, within the limits of lmlm.kg.limits
]


@pytest.fixture
def store():
    s = connect_test_store()
    yield s
    s.close()


def people(n: int, start: int = 0) -> list[Triple]:
    return [Triple(f"person {i}", "age", str(i % 90), source=f"doc-{i}") for i in range(start, start + n)]


class _Sized:
    """An iterable that says its length (an import then knows how many batches it will take)."""

    def __init__(self, items, size: int):
        self.items, self.size = items, size

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return self.size


def exploding(triples, after: int):
    for i, t in enumerate(triples):
        if i == after:
            raise RuntimeError("reader failed")
        yield t


# ------------------------------------------------------------------------------------ query files
def test_every_query_file_is_used_and_every_used_query_exists():
    source = "\n".join(p.read_text(encoding="utf-8") for p in KG_DIR.glob("*.py"))
    names = set(all_query_names())
    assert names, "no .cypher files found in lmlm.cypher"
    quoted = set(re.findall(r'"(\w+)"', source))
    assert sorted(names - quoted) == [], "query files that no code in kg/ names"
    loaded = set(QUERY_USE.findall(source))
    assert len(loaded) > 10, "QUERY_USE no longer matches how kg/ runs queries"
    assert sorted(loaded - names) == [], "code loads query files that do not exist"


def test_query_files_take_parameters_only():
    for name in all_query_names():
        text = load_query(name)
        code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", name), f"{name}: file names are verb_first snake case"
        assert "'" not in code and '"' not in code, f"{name}: a string literal; pass values as $parameters"


def test_load_query_errors_and_statement_split():
    with pytest.raises(ValueError, match="no Cypher query named 'nope'"):
        load_query("nope")
    statements = load_statements("create_schema")
    assert len(statements) >= 5 and all(s.startswith("CREATE ") and ";" not in s for s in statements)


# ------------------------------------------------------------------------------------ connecting
@pytest.mark.neo4j
def test_wrong_password_fails_fast_and_names_the_uri():
    from lmlm.kg.neo4j_store import Neo4jStore

    uri = neo4j_test_uri()
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=re.escape(uri)) as info:
        Neo4jStore(uri, password="certainly-not-the-password", connect_timeout=3)
    assert time.monotonic() - start < 5
    assert "\n" not in str(info.value)


@pytest.mark.neo4j
def test_unreachable_port_fails_fast_and_names_the_uri():
    from lmlm.kg.neo4j_store import Neo4jStore

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"bolt://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=re.escape(uri)) as info:
        Neo4jStore(uri, password="x", connect_timeout=2)
    assert time.monotonic() - start < 5
    assert "\n" not in str(info.value)


@pytest.mark.neo4j
def test_an_injected_driver_is_used_and_left_open():
    import neo4j

    from lmlm.kg.neo4j_store import Neo4jStore

    uri = neo4j_test_uri()
    driver = neo4j.GraphDatabase.driver(uri, auth=("neo4j", os.environ["NEO4J_PASSWORD"]))
    try:
        store = Neo4jStore(driver=driver)
        assert store.location == uri  # names the fuzzy index's directory, as a URI-opened store does
        store.clear()
        store.import_triples([Triple("Ada", "born", "1815")])
        store.close()
        records, _, _ = driver.execute_query("MATCH ()-[r:FACT]->() RETURN count(r) AS n")
        assert records[0]["n"] == 1  # the caller's driver still works after the store closed
        with pytest.raises(ValueError, match="credentials"):
            Neo4jStore(driver=driver, password="x")
    finally:
        driver.close()
    own = connect_test_store()
    own.close()
    with pytest.raises(KnowledgeStoreError, match="closed"):  # a store's own driver closes with it
        own.count()


@pytest.mark.neo4j
def test_schema_has_the_constraints_the_store_relies_on(store):
    rows = store.run_cypher("SHOW CONSTRAINTS YIELD entityType, labelsOrTypes, properties, type")
    found = {(r["entityType"], r["labelsOrTypes"][0], r["properties"][0], r["type"]) for r in rows}
    assert ("RELATIONSHIP", "FACT", "id", "RELATIONSHIP_UNIQUENESS") in found
    assert ("NODE", "Entity", "kh", "UNIQUENESS") in found
    store.import_triples([Triple("a", "r", "b")])
    [fact] = store.lookup("a", "r")
    with pytest.raises(KnowledgeStoreError):  # the database itself refuses a second FACT with that id
        store.run_cypher(
            "MATCH (a:Entity {key: 'a'}) CREATE (a)-[:FACT {id: $id}]->(a)", {"id": fact.id}, write=True
        )


# ------------------------------------------------------------------------------------ user cypher
@pytest.mark.neo4j
def test_run_cypher_is_read_only_unless_asked(store):
    store.import_triples([Triple("Ada", "born", "1815")])
    rows = store.run_cypher(
        "MATCH (e:Entity)-[r:FACT]->(v) WHERE e.key = $k RETURN v.name AS v", {"k": "ada"}
    )
    assert rows == [{"v": "1815"}]
    with pytest.raises(KnowledgeStoreError, match="read-only"):
        store.run_cypher("CREATE (:Scratch {x: 1})")
    assert store.run_cypher("MATCH (n:Scratch) RETURN count(n) AS n") == [{"n": 0}]
    assert store.run_cypher("CREATE (n:Scratch {x: $x}) RETURN n.x AS x", {"x": 7}, write=True) == [{"x": 7}]
    store.run_cypher("MATCH (n:Scratch) DELETE n", write=True)
    with pytest.raises(KnowledgeStoreError, match="cypher query failed"):
        store.run_cypher("THIS IS NOT CYPHER")


# ------------------------------------------------------------------------------------ names and keys
@pytest.mark.neo4j
def test_odd_and_long_names_round_trip_everywhere(store):
    triples = [
        Triple(name, name[:1000] + " (rel)", name + " (value)", source=name, annotator=name) for name in ODD
    ]
    report = store.import_triples(triples)
    assert report.added == len(ODD)
    for t in triples:
        [fact] = store.lookup(t.entity, t.relation)
        assert (fact.entity, fact.relation, fact.value, fact.source, fact.annotator) == (
            t.entity, t.relation, t.value, t.source, t.annotator,
        )  # fmt: skip
    long_name = ODD[-1]
    assert store.search_entities(long_name[:50], mode="prefix") == [long_name]
    store.merge_entities(ODD[0], long_name)  # the long name becomes an alias key
    assert store.lookup(long_name, long_name[:1000] + " (rel)")[0].entity == ODD[0]
    assert [a.alias for a in store.list_aliases()] == [long_name]
    change = store.set_fact(ODD[1], ODD[2], long_name)
    assert store.lookup(ODD[1], ODD[2])[0].value == long_name
    assert store.get_change(change.id).added[0].value == long_name
    assert store.check() == []


@pytest.mark.neo4j
def test_spellings_of_one_key_share_a_node_but_keep_their_display(store):
    store.import_triples([Triple("New  York", "in", "USA"), Triple("new_york", "nickname", "Big Apple")])
    assert [f.entity for f in store.facts_of("NEW YORK")] == ["New  York", "new_york"]
    [row] = store.run_cypher("MATCH (e:Entity) WHERE e.key = $k RETURN count(e) AS n", {"k": "new york"})
    assert row["n"] == 1
    assert store.search_entities("york") == ["New  York"]


# ------------------------------------------------------------------------------------ imports
@pytest.mark.neo4j
def test_import_reports_batches_and_duplicates(store):
    triples = people(23) + [Triple("PERSON 3", "AGE", "3")]  # a repeat of an id within the input
    report = store.import_triples(triples, batch_size=10)
    assert (report.read, report.added, report.duplicates) == (24, 23, 1)
    assert (report.committed_batches, report.total_batches) == (3, 3)
    again = store.import_triples(people(5, start=20), batch_size=2)
    assert (again.added, again.duplicates, again.committed_batches) == (2, 3, 3)
    seqs = [f.seq for f in store.iter_facts(batch_size=7)]
    assert seqs == sorted(seqs) and len(seqs) == 25
    assert store.get_change(report.change_id).added_count == 23


@pytest.mark.neo4j
def test_import_20k_rows(store):
    triples = [
        Triple(f"entity {i // 5}", f"relation {i % 5}", f"entity {(i * 7) % 4000}") for i in range(20_000)
    ]
    report = store.import_triples(triples, batch_size=5_000)
    assert (report.added, report.committed_batches) == (20_000, 4)
    stats = store.stats()
    assert (stats.facts, stats.entities, stats.relations) == (20_000, 4_000, 5)
    assert [f.value for f in store.lookup("Entity 123", "Relation 4")] == ["entity 333"]  # row 619
    assert len(store.facts_created_by(report.change_id)) == 20_000
    # more facts than one transaction takes (change_batch_size): the undo goes in batches
    undo = store.undo(report.change_id)
    assert (undo.removed_count, undo.committed_batches, undo.total_batches) == (20_000, 2, 2)
    assert store.count() == 0 and store.check() == []
    assert store.get_change(report.change_id).undone_by == undo.id
    assert len(store.get_change(undo.id).removed) == 20_000


@pytest.mark.neo4j
def test_killed_import_is_recorded_as_unfinished_with_its_batches(store):
    """The change is recorded before the first batch and counted in each batch's own transaction,
    so a process killed between batches (SIGKILL runs no handler) leaves an exact record."""
    from lmlm.kg.changes import RUNNING

    def killed_at(triples, row):  # SystemExit is not caught: nothing runs after it, as after a kill
        for i, t in enumerate(triples):
            if i == row:
                raise SystemExit("killed")
            yield t

    rows = people(50)
    with pytest.raises(SystemExit):
        store.import_triples(_Sized(killed_at(rows, 25), len(rows)), batch_size=10)
    [change] = store.unfinished_changes()
    assert (change.state, change.committed_batches, change.total_batches) == (RUNNING, 2, 5)
    assert change.added_count == 20 == store.count()
    assert change.summary == "import"  # the summary is not what says it is unfinished
    [problem] = store.check()
    assert f"change {change.id} (import) is unfinished: 2 of 5 batches committed" in problem
    store.undo(change.id)
    assert store.count() == 0 and store.check() == []


@pytest.mark.neo4j
def test_failed_reader_mid_import_reports_committed_batches(store):
    with pytest.raises(
        ImportInterruptedError, match=r"stopped after 2 of at least 3 batches committed"
    ) as info:
        store.import_triples(exploding(people(50), after=25), batch_size=10)
    report = info.value.report
    assert (report.committed_batches, report.added, report.read) == (2, 20, 25)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert store.count() == 20
    change = store.get_change(report.change_id)
    assert (change.state, change.committed_batches, change.total_batches) == ("interrupted", 2, None)
    assert change.added_count == 20 and change.summary == "import" and not change.complete
    assert store.history()[0].progress_note() == "interrupted: 2 of an unknown number of batches committed"
    assert store.check() == [
        f"change {change.id} (import) is interrupted: 2 of an unknown number of batches committed; "
        f"`undo {change.id}` removes it"
    ]
    store.undo(report.change_id)  # what the message advises
    assert store.count() == 0 and store.check() == []


@pytest.mark.neo4j
def test_failed_write_mid_import_reports_committed_batches(store):
    bad = people(30) + [Triple("person x", "age", "1", source=object())]  # the driver cannot send it
    with pytest.raises(ImportInterruptedError, match=r"stopped after 3 of 4 batches committed") as info:
        store.import_triples(bad, batch_size=10)
    assert info.value.report.total_batches == 4
    assert store.count() == 30
    [change] = store.unfinished_changes()
    assert (change.state, change.committed_batches, change.total_batches) == ("interrupted", 3, 4)
    assert store.check() == [
        f"change {change.id} (import) is interrupted: 3 of 4 batches committed; `undo {change.id}` removes it"
    ]


# ------------------------------------------------------------------------------------ writes
@pytest.mark.neo4j
def test_concurrent_writers_get_distinct_ids(store):
    def edit(i: int) -> int:
        return store.set_fact(f"thing {i % 4}", f"prop {i}", str(i)).id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(edit, range(24)))
    assert len(set(ids)) == 24
    seqs = [f.seq for f in store.iter_facts()]
    assert len(set(seqs)) == 24
    assert store.check() == []


@pytest.mark.neo4j
def test_removing_facts_drops_nodes_nothing_uses(store):
    store.import_triples([Triple("a", "r", "b"), Triple("c", "r", "b")])
    store.forget("a", "r")
    assert store.stats().extra["entity_nodes"] == 2  # b is still the value of c's fact
    store.forget("c", "r")
    assert store.stats().extra["entity_nodes"] == 0
    assert store.check() == []


@pytest.mark.neo4j
def test_clear_keeps_counters_so_ids_are_not_reused(store):
    first = store.set_fact("a", "r", "1")
    store.clear()
    assert store.last_change_id() == 0 and store.count() == 0
    assert store.set_fact("a", "r", "1").id > first.id
    assert store.check() == []


@pytest.mark.neo4j
def test_check_reports_broken_invariants(store):
    store.import_triples([Triple("a", "r", "b")])
    store.run_cypher("CREATE (:Entity {kh: 'x', key: 'lonely', name: 'Lonely'})", write=True)
    store.run_cypher("MATCH ()-[r:FACT]->() SET r.relation_key = 'wrong'", write=True)
    store.run_cypher("CREATE (:Alias {kh: 'y', key: 'dangling', name: 'Dangling'})", write=True)
    problems = "\n".join(store.check())
    assert "'Lonely' has no facts" in problems
    assert "relation key 'wrong' should be 'r'" in problems
    assert "alias 'Dangling' points to 0 entities" in problems


@pytest.mark.neo4j
def test_same_answers_as_the_embedded_store_through_a_chain_of_edits(store, tmp_path):
    from lmlm.kg.embedded_store import EmbeddedStore

    def story(s):
        s.import_triples(
            [Triple("A", "r", "1"), Triple("B", "r", "2"), Triple("C", "r", "3"), Triple("D", "knows", "A")]
        )
        first = s.merge_entities("B", "A")
        s.merge_entities("C", "B")
        s.undo(first.id)  # its alias A -> B was re-pointed to C by the second merge
        s.set_fact("a", "r", "4", replace=False)
        s.forget_entity("D", include_as_value=True)
        return (
            [(a.alias, a.entity) for a in s.list_aliases()],
            [
                [(f.entity, f.relation, f.value) for f in facts]
                for facts in s.lookup_many([("A", "r"), ("C", "r")])
            ],
            s.search_entities(""),
            [c.op for c in s.history()],
            s.check(),
        )

    embedded = EmbeddedStore(tmp_path / "kg")
    try:
        assert story(store) == story(embedded)
    finally:
        embedded.close()
