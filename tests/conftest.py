"""Shared fixtures: every store-facing test runs against each backend.

The Neo4j cases are marked ``neo4j`` and need the server that ``.ci/run`` (or ``make test``) starts;
when selected without one they fail with a message, never skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lmlm.kg.embedded_store import EmbeddedStore
from tests.neo4j_support import connect_test_store

STORE_PARAMS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]


@pytest.fixture(params=STORE_PARAMS)
def store(request, tmp_path):
    """A fresh, empty store of each backend."""
    if request.param == "embedded":
        s = EmbeddedStore(tmp_path / "store")
    else:
        s = connect_test_store()
    yield s
    s.close()


@pytest.fixture
def neo4j_store():
    """The Neo4j test store alone (for Neo4j-only features such as Cypher); mark tests ``neo4j``."""
    s = connect_test_store()
    yield s
    s.close()


# The mini demo: a small world, tokenizer, LMLM and Standard model trained on this CPU in about
# a minute, once per session. Decoding tests need a model that really writes lookups.
MINI_DEMO_FLAGS = {
    "people": 160,
    "variants": 4,
    "epochs": 5.0,
    "batch_size": 16,
    "vocab_size": 512,
    "max_new_tokens": 24,
    "eval_prompts": 30,
    "block_size": 128,
    # the mini model often writes a name it memorised instead of the prompt's: with the demo's
    # entities_from_context those lookups are not asked, and it would state nothing to test
    "entities_from_context": False,
}


@pytest.fixture(scope="session")
def mini_demo(tmp_path_factory):
    """``DemoPaths`` of a built mini demo under ``HOME/demo`` (``HOME`` usable as ``LMLM_HOME``)."""
    from lmlm.demo_build import DemoConfig, DemoPaths, build_demo

    # LMLM_TEST_MINI_DEMO: a folder to build the mini demo in and reuse across sessions (a stage is
    # rebuilt when its settings change, not when the code does: leave it unset to test new code).
    reuse = os.environ.get("LMLM_TEST_MINI_DEMO")
    home = Path(reuse) if reuse else tmp_path_factory.mktemp("lmlm-home")
    paths = DemoPaths(home / "demo")
    build_demo(paths.root, DemoConfig(**MINI_DEMO_FLAGS), say=lambda _msg: None, show_progress=False)
    return paths
