"""Shared fixtures: every store-facing test runs against each backend.

The Neo4j cases are marked ``neo4j`` and need the server that ``.ci/run`` (or ``make test``) starts;
when selected without one they fail with a message, never skip.
"""

from __future__ import annotations

import os

import pytest

from lmlm.kg.embedded_store import EmbeddedStore

STORE_PARAMS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def open_neo4j_test_store():
    """The test server's store, wiped. Fails the test loudly when the server is not there."""
    from lmlm.kg.errors import StoreUnavailableError

    uri = os.environ.get("NEO4J_URI")
    if not uri:
        pytest.fail("NEO4J_URI is not set: start the test server with `docker/neo4j-test/run.sh start` "
                    "(or run the tests through `make test`, which starts it)")
    from lmlm.kg.neo4j_store import Neo4jStore

    try:
        store = Neo4jStore(uri)
    except StoreUnavailableError as e:
        pytest.fail(f"the Neo4j test server is not reachable: {e}")
    store.clear()
    return store


@pytest.fixture(params=STORE_PARAMS)
def store(request, tmp_path):
    """A fresh, empty store of each backend."""
    if request.param == "embedded":
        s = EmbeddedStore(tmp_path / "store")
    else:
        s = open_neo4j_test_store()
    yield s
    s.close()


@pytest.fixture
def neo4j_store():
    """The Neo4j test store alone (for Neo4j-only features such as Cypher); mark tests ``neo4j``."""
    s = open_neo4j_test_store()
    yield s
    s.close()
