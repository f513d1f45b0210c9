"""User Cypher on Neo4j: what a read-only query may not do (checked here without a server, and on the
real one), the test server's LOAD CSV folder, and the text indexes behind substring search."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lmlm.kg.cypher_guard import code_only, refuse_unsafe_read_query
from lmlm.kg.cypher_queries import load_query
from lmlm.kg.errors import KnowledgeStoreError, QueryRefusedError
from lmlm.kg.facts import Triple

REFUSED = {
    "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row": "LOAD CSV",
    "load  csv with headers from $url as r return r": "LOAD CSV",
    "CALL db.clearQueryCaches()": "db.clearQueryCaches",
    "CALL `db`.`clearQueryCaches`()": "db.clearQueryCaches",
    "CALL dbms.listConfig() YIELD name RETURN name": "dbms.listConfig",
    "MATCH (n) CALL apoc.load.json($u) YIELD value RETURN value": "apoc.load.json",
    "MATCH (n) CALL (n) { SET n.x = 1 } IN TRANSACTIONS OF 10 ROWS": "IN TRANSACTIONS",
    "MATCH (n) CALL { WITH n RETURN 1 AS x } IN 2 CONCURRENT TRANSACTIONS RETURN x": "IN TRANSACTIONS",
    "USE system SHOW USERS": "USE",
    "MATCH (n) RETURN n UNION USE other MATCH (n) RETURN n": "USE",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'": "terminates",
    "CALL /* a comment */ db.clearQueryCaches": "db.clearQueryCaches",
}
ALLOWED = [
    "MATCH (e:Entity) RETURN e.name LIMIT 5",
    "MATCH (e:Entity) WHERE e.name = 'LOAD CSV FROM x' RETURN e",  # inside a string: not a clause
    'RETURN "CALL db.clearQueryCaches()" AS text',
    "// LOAD CSV FROM 'file:///etc/passwd'\nRETURN 1",
    "/* CALL dbms.killQuery */ RETURN 1",
    "MATCH (`LOAD CSV`) RETURN `LOAD CSV`",  # a quoted name
    "CALL db.labels() YIELD label RETURN label",
    "CALL db.schema.visualization()",
    "MATCH (e:Entity) CALL (e) { MATCH (e)-[r:FACT]->() RETURN count(r) AS n } RETURN e.name, n",
    "CALL { MATCH (n) RETURN n } RETURN count(n) AS n",
    "SHOW INDEXES YIELD name, state",
    "MATCH (n) WHERE n.key CONTAINS 'in transactions' RETURN n",
]


@pytest.mark.parametrize("query", list(REFUSED))
def test_read_only_queries_that_reach_past_the_graph_are_refused(query):
    with pytest.raises(QueryRefusedError, match="refused") as info:
        refuse_unsafe_read_query(query)
    assert REFUSED[query] in str(info.value) and "--write" in str(info.value)


@pytest.mark.parametrize("query", ALLOWED)
def test_read_only_queries_that_only_read_the_graph_pass(query):
    refuse_unsafe_read_query(query)


def test_code_only_blanks_strings_and_comments():
    assert code_only('RETURN \'a // b\', "it\\"s" // c\n, `x y`') == "RETURN  '' ,  ''   \n, x_y"


@pytest.mark.neo4j
def test_run_cypher_refuses_them_before_the_server_sees_them(neo4j_store):
    neo4j_store.import_triples([Triple("Ada", "born", "1815")])
    for query in ("CALL db.clearQueryCaches()", "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row"):
        with pytest.raises(QueryRefusedError):
            neo4j_store.run_cypher(query)
    assert neo4j_store.run_cypher("CALL db.labels() YIELD label RETURN label ORDER BY label")[0]["label"]
    assert neo4j_store.run_cypher("CALL db.clearQueryCaches()", write=True)  # with write access it runs


@pytest.mark.neo4j
def test_load_csv_reads_only_the_servers_import_folder(neo4j_store):
    """Even with write access, LOAD CSV reads no file outside the test server's import folder."""
    with pytest.raises(KnowledgeStoreError, match="Cannot load from URL"):
        neo4j_store.run_cypher("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row LIMIT 1", write=True)
    folder = os.environ.get("LMLM_NEO4J_IMPORT")
    assert folder, "LMLM_NEO4J_IMPORT is not set: start the server with docker/neo4j-test/run.sh"
    sample = Path(folder) / "lmlm-test-sample.csv"
    sample.write_text("entity,relation\nAda,born\n", encoding="utf-8")
    try:
        rows = neo4j_store.run_cypher(
            "LOAD CSV FROM 'file:///lmlm-test-sample.csv' AS row RETURN row", write=True
        )
    finally:
        sample.unlink()
    assert rows == [{"row": ["entity", "relation"]}, {"row": ["Ada", "born"]}]


def plan_operators(store, query_name: str, params: dict) -> list[str]:
    records = store._driver.execute_query(
        "EXPLAIN " + load_query(query_name), params, database_=store.database
    )
    found, stack = [], [records.summary.plan]
    while stack:
        node = stack.pop()
        node = node if isinstance(node, dict) else node.__dict__
        found.append(f"{node['operatorType']} {node.get('args', {}).get('Details', '')}")
        stack += node.get("children", [])
    return found


@pytest.mark.neo4j
@pytest.mark.parametrize("mode", ["substring", "prefix"])
def test_name_search_reads_the_text_indexes_not_every_node(neo4j_store, mode):
    operators = " | ".join(
        plan_operators(neo4j_store, f"search_entities_{mode}", {"text": "ko", "limit": 20})
    )
    assert "TEXT INDEX e:Entity(key)" in operators and "TEXT INDEX a:Alias(key)" in operators, operators
    assert "NodeByLabelScan" not in operators, operators
