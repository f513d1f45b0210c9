"""LMLM-KG: Large Memory Language Models with a knowledge graph.

The public API of the knowledge graph is re-exported here; the model, training, annotation and
evaluation packages live in ``lmlm.model``, ``lmlm.train``, ``lmlm.annotation``, ``lmlm.evaluation``.
"""

from lmlm.api import from_pretrained_with_db, load_lmlm
from lmlm.kg import (
    Fact,
    KnowledgeGraph,
    Resolution,
    Resolver,
    ResolverConfig,
    Triple,
    open_store,
)

__version__ = "0.1.0"

__all__ = [
    "Fact",
    "KnowledgeGraph",
    "Resolution",
    "Resolver",
    "ResolverConfig",
    "Triple",
    "from_pretrained_with_db",
    "load_lmlm",
    "open_store",
    "__version__",
]
