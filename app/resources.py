"""What every browser tab shares, loaded once per process behind ``st.cache_resource``: the models,
and the knowledge graph with its fuzzy index. Nothing loads at import time.

Tabs run in threads of one process. A :class:`GraphHandle` serialises what must not interleave
on one graph: writes, resolver calls (a resolver syncs the fuzzy index when the store changed) and
the fuzzy index's first load. Decoding itself runs in parallel; only its lookups take the lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import streamlit as st

from lmlm.kg.errors import KnowledgeGraphError

if TYPE_CHECKING:
    from lmlm.kg import FuzzyIndex, KnowledgeGraph, Resolution, Resolver, ResolverConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
_IMPORTS = threading.Lock()


def import_heavy_modules() -> None:
    """torch, transformers and sentence-transformers, imported by one thread at a time.

    transformers resolves its names lazily; two threads importing it at once (a tab loading the
    model while the fuzzy index loads in the background) can see a half-made module and fail with
    "cannot import name 'AutoModelForCausalLM'".
    """
    with _IMPORTS:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
        from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401


class GraphHandle:
    """An opened knowledge graph shared by every tab, or the reason it could not be opened."""

    def __init__(self, location: str):
        self.location = location
        self.kg: KnowledgeGraph | None = None
        self.error: str | None = None
        self.lock = threading.RLock()
        self._index_lock = threading.Lock()
        self._index_thread: threading.Thread | None = None
        self.index_error: str | None = None
        self._resolvers: dict[ResolverConfig, Resolver] = {}

    def open(self) -> GraphHandle:
        from lmlm.kg import KnowledgeGraph, open_store

        try:
            self.kg = KnowledgeGraph(open_store(self.location, create=False))  # never creates one
        except (KnowledgeGraphError, OSError, ValueError, ImportError) as e:
            self.error = str(e)
            logger.warning("cannot open the store %s: %s", self.location, e)
        return self

    @property
    def backend(self) -> str | None:
        return self.kg.store.backend if self.kg is not None else None

    # ------------------------------------------------------------ the fuzzy index
    @property
    def index_state(self) -> str:
        """``not loaded``, ``loading``, ``ready`` or ``failed``."""
        if self.index_error:
            return "failed"
        if self.kg is not None and self.kg.fuzzy_index_loaded:
            return "ready"
        thread = self._index_thread
        return "loading" if thread is not None and thread.is_alive() else "not loaded"

    def load_index_in_background(self) -> None:
        """Start loading (or building) the fuzzy index unless it is loaded or loading."""
        if self.kg is None or self.index_state in ("ready", "loading", "failed"):
            return
        with self._index_lock:
            if self._index_thread is None:
                self._index_thread = threading.Thread(
                    target=self._load_index, name="fuzzy-index", daemon=True
                )
                self._index_thread.start()

    def fuzzy_index(self) -> FuzzyIndex:
        """The fuzzy index, waiting for the background load if one runs (the resolver's first miss)."""
        import_heavy_modules()
        with self._index_lock:
            return self.kg.fuzzy_index  # loads and syncs it on first use

    def _load_index(self) -> None:
        try:
            self.fuzzy_index()
        except (KnowledgeGraphError, OSError, ValueError, RuntimeError) as e:
            self.index_error = str(e)
            logger.warning("the fuzzy index of %s did not load: %s", self.location, e)

    # ------------------------------------------------------------ reads and writes
    def resolve(self, config: ResolverConfig, lookups: Sequence) -> list[Resolution]:
        """A batched lookup (the decoder's lookup function) through a resolver kept per config."""
        from lmlm.kg import Resolver

        with self.lock:
            resolver = self._resolvers.get(config)
            if resolver is None:
                fuzzy = self.fuzzy_index if config.fuzzy else None
                resolver = self._resolvers[config] = Resolver(self.kg.store, fuzzy, config)
            return resolver.resolve_many(lookups)

    def lookup_fn(self, config: ResolverConfig) -> Callable[[Sequence], list[Resolution]]:
        return lambda lookups: self.resolve(config, lookups)

    def write_cypher(self, query: str, params: dict | None) -> list[dict]:
        """The user's own Cypher with writes allowed. It bypasses the change log that the
        resolvers' caches follow, so their remembered answers are dropped."""
        with self.lock:
            records = self.kg.store.run_cypher(query, params, write=True)
            for resolver in self._resolvers.values():
                resolver.clear_cache()
            return records

    def locked(self, work: Callable[[KnowledgeGraph], T]) -> T:
        """Run ``work(kg)`` alone on this graph: an edit is one store transaction, and no resolver
        or other tab's edit sees the fuzzy index half-synced."""
        with self.lock:
            return work(self.kg)


@st.cache_resource(show_spinner="Opening the knowledge graph ...")
def open_graph(location: str) -> GraphHandle:
    """The graph at ``location`` (a directory or a bolt:// URI), opened once for every tab; a store
    that cannot be opened is remembered too (``open_graph.clear(location)`` retries)."""
    return GraphHandle(location).open()


@st.cache_resource(show_spinner="Loading the model ...")
def load_model(path: str, tokenizer: str | None = None, threads: int = 1):
    """A model (an LMLM or a Standard one) with its tokenizer, loaded once for every tab.
    ``threads``: torch's CPU threads, for the whole process (the last model loaded sets them)."""
    import_heavy_modules()
    import torch

    from lmlm.api import load_lmlm

    torch.set_num_threads(threads)
    tok = None
    if tokenizer:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer)
    return load_lmlm(path, tokenizer=tok)
