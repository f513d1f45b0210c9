"""Connecting tests to the Neo4j test server (``docker/neo4j-test/run.sh start`` prints its settings).

A selected Neo4j test never skips: without ``NEO4J_URI``, or with the server down, it fails and says
how to start one.
"""

from __future__ import annotations

import os

import pytest

START_HINT = (
    'start one with `eval "$(docker/neo4j-test/run.sh start)"`, which sets NEO4J_URI and NEO4J_PASSWORD'
)


def neo4j_test_uri() -> str:
    """``NEO4J_URI``, or fail the test."""
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        pytest.fail(f"NEO4J_URI is not set, and this test needs a Neo4j server: {START_HINT}")
    return uri


def connect_test_store():
    """A :class:`Neo4jStore` on the test server, wiped with ``clear()``. Fails the test when the
    server is not configured or not reachable. The caller closes it."""
    from lmlm.kg.errors import StoreUnavailableError
    from lmlm.kg.neo4j_store import Neo4jStore

    uri = neo4j_test_uri()
    try:
        store = Neo4jStore(uri)
    except StoreUnavailableError as e:
        pytest.fail(f"the Neo4j test server is not reachable: {e}. {START_HINT}")
    store.clear()
    return store
