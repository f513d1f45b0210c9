"""The knowledge graph: facts, stores (embedded SQLite, Neo4j), the fuzzy index and the resolver.

Importing this package never imports torch: the embedding model loads on first fuzzy use.
"""

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

__all__ = [
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
