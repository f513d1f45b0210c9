"""LMLM-KG: Large Memory Language Models with a knowledge graph.

The front door: :func:`load_lmlm` (a model with its lookups answered by a store) and the knowledge
graph's public API. Names load on first use (PEP 562), so ``import lmlm.model`` or ``import
lmlm.cli`` loads no store and no model. The packages are ``lmlm.kg``, ``lmlm.model``,
``lmlm.train``, ``lmlm.annotation`` and ``lmlm.evaluation``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names

if TYPE_CHECKING:
    from lmlm.api import from_pretrained_with_db, load_lmlm
    from lmlm.kg import Fact, KnowledgeGraph, Resolution, Resolver, ResolverConfig, Triple, open_store

__version__ = "0.1.0"

_EXPORTS = {
    "load_lmlm": "lmlm.api",
    "from_pretrained_with_db": "lmlm.api",
    "Fact": "lmlm.kg",
    "KnowledgeGraph": "lmlm.kg",
    "Resolution": "lmlm.kg",
    "Resolver": "lmlm.kg",
    "ResolverConfig": "lmlm.kg",
    "Triple": "lmlm.kg",
    "open_store": "lmlm.kg",
}

__all__ = [  # noqa: F822 (the names load in __getattr__)
    "Fact",
    "KnowledgeGraph",
    "Resolution",
    "Resolver",
    "ResolverConfig",
    "Triple",
    "__version__",
    "from_pretrained_with_db",
    "load_lmlm",
    "open_store",
]


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
