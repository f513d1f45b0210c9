"""Loading an LMLM together with its knowledge graph (the only place the two are wired)."""

from __future__ import annotations

import os


def load_lmlm(
    model_path: str | os.PathLike,
    store: str | os.PathLike | None = None,
    *,
    resolver_config=None,
    **model_kwargs,
):
    """An LMLM whose lookups go to the knowledge graph at ``store``.

    ``store`` is an embedded-store directory or a ``bolt://``/``neo4j://`` URI (default:
    ``$LMLM_STORE`` or ``$LMLM_HOME/kg``). The graph stays open as ``model.knowledge_graph``;
    close it with ``model.knowledge_graph.close()``.
    """
    from lmlm.kg import KnowledgeGraph, open_store
    from lmlm.model import LMLM

    model = LMLM.from_pretrained(model_path, **model_kwargs)  # first: a bad path creates no store
    kg = KnowledgeGraph(open_store(store, create=False))  # an existing store only
    model.lookup_fn = kg.resolver(resolver_config)
    model.knowledge_graph = kg
    return model


def from_pretrained_with_db(model_path, db_path=None, **kwargs):
    """The paper's name for :func:`load_lmlm`."""
    return load_lmlm(model_path, db_path, **kwargs)
