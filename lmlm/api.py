"""The one loader of an LMLM: the model, its tokenizer and what answers its lookups.

This is the only place the model and the knowledge graph are wired: the model package sees the
graph only through a lookup function (``lmlm.model.answers.LookupFn``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmlm.kg import KnowledgeGraph, ResolverConfig
    from lmlm.model import LMLM
    from lmlm.model.answers import LookupFn


def load_lmlm(
    model,
    store: str | os.PathLike | KnowledgeGraph | None = None,
    *,
    lookup_fn: LookupFn | None = None,
    resolver_config: ResolverConfig | None = None,
    tokenizer=None,
    device=None,
    **model_kwargs,
) -> LMLM:
    """An LMLM whose lookups are answered by ``store`` or ``lookup_fn``.

    ``model``: a model directory or hub name (loaded with ``AutoModelForCausalLM``, ``model_kwargs``
    passed on, e.g. ``dtype``), or a causal LM already in memory (then give ``tokenizer``).
    ``tokenizer``: overrides the one saved with the model.

    ``store``: an embedded-store directory, a ``bolt://``/``neo4j://`` URI, or an open
    ``KnowledgeGraph``. Lookups go through ``store.resolver(resolver_config)`` (exact, fuzzy, then
    ``resolver_config.fallback`` on a miss); the graph is ``model.knowledge_graph``. A graph opened
    here from a path or URI is the model's: close it with ``model.knowledge_graph.close()``. A store
    that does not exist is an error, never created.

    ``lookup_fn``: any batched lookup function instead of a store (``lmlm.model.answers.LookupFn``).

    With neither, the model decodes without lookups: a Standard model, or ``enable_lookup=False``
    (lookup decoding then raises, asking for a store). ``device``: moved there after loading.
    A missing local model path raises ``OSError`` before any store is opened.
    """
    from lmlm.model.lmlm import _attach, _load_pretrained

    if store is not None and lookup_fn is not None:
        raise ValueError("give a store or a lookup_fn, not both")
    if resolver_config is not None and store is None:
        raise ValueError("resolver_config applies to a store: give store= too")
    if isinstance(model, (str, os.PathLike)):  # first: a bad model path opens no store
        model, tokenizer = _load_pretrained(model, tokenizer, **model_kwargs)
    elif model_kwargs:
        raise TypeError(f"{sorted(model_kwargs)} apply to loading from a path; the model is already loaded")
    elif tokenizer is None and getattr(model, "lmlm_tokenizer", None) is None:
        raise ValueError("a model in memory needs its tokenizer: load_lmlm(model, tokenizer=...)")
    graph = None
    if store is not None:
        graph = _open_graph(store)
        lookup_fn = graph.resolver(resolver_config)
    model = _attach(model, tokenizer, lookup_fn)
    if graph is not None:
        model.knowledge_graph = graph
    if device is not None:
        model.to(device)
    return model


def _open_graph(store) -> KnowledgeGraph:
    from lmlm.kg import KnowledgeGraph, open_store

    if isinstance(store, KnowledgeGraph):
        return store
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(
            f"store must be a directory, a bolt:// URI or a KnowledgeGraph, got {type(store).__name__}"
        )
    return KnowledgeGraph(open_store(store, create=False))  # an existing store only


def from_pretrained_with_db(model_path, db_path=None, **kwargs) -> LMLM:
    """The paper's name for :func:`load_lmlm` (``db_path``: the store), for code ported from it."""
    return load_lmlm(model_path, db_path, **kwargs)
