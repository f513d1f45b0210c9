"""LMLM-KG: Large Memory Language Models with a knowledge graph.

The front door: :func:`load_lmlm` (a model with its lookups answered by a store) and the knowledge
graph's public API. Names load on first use (PEP 562), so ``import lmlm.model`` or ``import
lmlm.cli`` loads no store and no model. The packages are ``lmlm.kg``, ``lmlm.model``,
``lmlm.train``, ``lmlm.annotation`` and ``lmlm.evaluation``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lmlm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
