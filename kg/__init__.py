"""The knowledge graph: facts, stores (embedded SQLite, Neo4j), the fuzzy index and the resolver.

Importing this package never imports torch: the embedding model loads on first fuzzy use. Names
load on first use (PEP 562), so importing one module of the package (``lmlm.kg.errors``, what the
``lmlm`` command needs to report errors) does not import the stores, the fuzzy index or numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmlm._lazy import lazy_names

if TYPE_CHECKING:
    from .errors import (
        FactNotFoundError,
        FuzzyIndexError,
        ImportInterruptedError,
        InputFormatError,
        KnowledgeGraphError,
        KnowledgeStoreError,
        StoreUnavailableError,
    )
    from .facts import Alias, Fact, Triple, make_fact_id, normalize_key
    from .fuzzy_index import FuzzyIndex
    from .knowledge_graph import KnowledgeGraph, LeakCandidate, open_store
    from .resolver import LookupPath, Resolution, Resolver, ResolverConfig
    from .store import Change, ImportReport, KnowledgeStore, StoreStats
    from .vector_index import VectorIndex

_EXPORTS = {
    "FactNotFoundError": ".errors",
    "FuzzyIndexError": ".errors",
    "ImportInterruptedError": ".errors",
    "InputFormatError": ".errors",
    "KnowledgeGraphError": ".errors",
    "KnowledgeStoreError": ".errors",
    "StoreUnavailableError": ".errors",
    "Alias": ".facts",
    "Fact": ".facts",
    "Triple": ".facts",
    "make_fact_id": ".facts",
    "normalize_key": ".facts",
    "FuzzyIndex": ".fuzzy_index",
    "KnowledgeGraph": ".knowledge_graph",
    "LeakCandidate": ".knowledge_graph",
    "open_store": ".knowledge_graph",
    "LookupPath": ".resolver",
    "Resolution": ".resolver",
    "Resolver": ".resolver",
    "ResolverConfig": ".resolver",
    "Change": ".store",
    "ImportReport": ".store",
    "KnowledgeStore": ".store",
    "StoreStats": ".store",
    "VectorIndex": ".vector_index",
}

__all__ = [  # noqa: F822 (the names load in __getattr__)
    "Alias",
    "Change",
    "Fact",
    "FactNotFoundError",
    "FuzzyIndex",
    "FuzzyIndexError",
    "ImportInterruptedError",
    "ImportReport",
    "InputFormatError",
    "KnowledgeGraph",
    "KnowledgeGraphError",
    "KnowledgeStore",
    "KnowledgeStoreError",
    "LeakCandidate",
    "LookupPath",
    "Resolution",
    "Resolver",
    "ResolverConfig",
    "StoreStats",
    "StoreUnavailableError",
    "Triple",
    "VectorIndex",
    "make_fact_id",
    "normalize_key",
    "open_store",
]


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
