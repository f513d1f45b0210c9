"""One object for a store and its fuzzy index: what the CLI, the app and experiments use.

Edits go through here so that the fuzzy index changes in the same call as the store: once
``forget`` returns, the fuzzy path cannot answer with the forgotten fact (the resolver also checks
every fuzzy hit against the store, so an index that lags cannot leak one either).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .facts import Fact, Triple
from .fuzzy_index import FuzzyIndex
from .resolver import Resolution, Resolver, ResolverConfig
from .store import Change, ImportReport, KnowledgeStore
from .vector_index import COMPRESSED_KIND, KIND_ALIASES, KINDS

if TYPE_CHECKING:
    from .embedding import Embedder

logger = logging.getLogger(__name__)

AUTO_INDEX_KIND = "auto"
INDEX_KINDS = (AUTO_INDEX_KIND, *KINDS, *KIND_ALIASES)  # what ``index_kind`` and ``--index-kind`` take
AUTO_COMPRESS_FACTS = 100_000  # flat search costs ~15 ms per query at 100k keys, ~150 ms at 1M
NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def lmlm_home() -> Path:
    """``$LMLM_HOME``, default ``~/.lmlm``: stores, indexes and demo models live under it."""
    return Path(os.environ.get("LMLM_HOME", "~/.lmlm")).expanduser()


def default_store_location() -> str:
    return os.environ.get("LMLM_STORE") or str(lmlm_home() / "kg")


def is_neo4j_uri(location: str) -> bool:
    return location.startswith(NEO4J_SCHEMES)


def open_store(
    location: str | os.PathLike | None = None, *, create: bool = True, read_only: bool = False
) -> KnowledgeStore:
    """A path (or nothing: ``$LMLM_STORE`` or ``$LMLM_HOME/kg``) opens the embedded store;
    ``bolt://`` or ``neo4j://`` opens Neo4j with ``NEO4J_USER``/``NEO4J_PASSWORD`` from the environment
    (``URI#name`` picks a database other than ``neo4j``).

    ``create``: make the store if there is none; with ``create=False`` a missing store (no directory
    or no ``kg.sqlite`` in it; a Neo4j database never written by LMLM) raises
    :class:`~lmlm.kg.errors.StoreNotFoundError` naming the location. Code that only reads should pass
    ``create=False``, as every ``lmlm kg`` command but ``import`` and ``set`` does, so that a mistyped
    path is an error rather than an empty store. ``read_only``: never write (a missing store is then
    always an error); an embedded store whose files cannot be written opens read-only by itself.
    """
    location = str(location) if location is not None else default_store_location()
    if is_neo4j_uri(location):
        from .neo4j_store import Neo4jStore

        uri, _, database = location.partition("#")
        return Neo4jStore(uri, database=database or "neo4j", create=create, read_only=read_only)
    from .embedded_store import EmbeddedStore

    return EmbeddedStore(location, create=create, read_only=read_only)


@dataclass(frozen=True)
class LeakCandidate:
    """A fact left in the store whose key is close to a forgotten one: forgetting may leak through it."""

    entity: str
    relation: str
    score: float

    def to_dict(self) -> dict:
        return {"entity": self.entity, "relation": self.relation, "score": self.score}


class KnowledgeGraph:
    """A store, its fuzzy index (loaded on first fuzzy use) and resolvers over them.

    Args:
        store: the knowledge store (:func:`open_store` makes one from a path or URI).
        index_dir: where the fuzzy index lives (default: :func:`default_index_dir`).
        embedding_model: a sentence-transformers model directory or hub name for the fuzzy index;
            ``None`` is the bundled all-MiniLM-L6-v2. Give this or ``embedder``, not both.
        index_kind: ``"auto"`` (flat below ``AUTO_COMPRESS_FACTS`` facts, compressed above), or one
            of :data:`lmlm.kg.vector_index.KINDS` and their aliases, for a newly built index.
        embedder: an :class:`~lmlm.kg.embedding.Embedder` to use instead of the process-wide shared
            one (benchmarks pass one with the query cache off).
    """

    def __init__(
        self,
        store: KnowledgeStore,
        *,
        index_dir: str | Path | None = None,
        embedding_model: str | None = None,
        index_kind: str = AUTO_INDEX_KIND,
        embedder: Embedder | None = None,
    ):
        if index_kind not in INDEX_KINDS:
            raise ValueError(f"index_kind must be one of {', '.join(INDEX_KINDS)}; got {index_kind!r}")
        if embedder is not None and embedding_model is not None:
            raise ValueError("give embedding_model or embedder, not both")
        self.store = store
        self.index_dir = Path(index_dir) if index_dir else default_index_dir(store)
        self.embedding_model = embedder.name if embedder is not None else embedding_model
        self.index_kind = index_kind
        self._fuzzy_index: FuzzyIndex | None = None
        self._embedder = embedder

    @classmethod
    def open(
        cls,
        location: str | os.PathLike | None = None,
        *,
        create: bool = True,
        read_only: bool = False,
        **kwargs,
    ) -> KnowledgeGraph:
        """A graph over :func:`open_store` (``create`` and ``read_only`` as there); ``kwargs`` as for
        the constructor."""
        return cls(open_store(location, create=create, read_only=read_only), **kwargs)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- fuzzy index
    @property
    def embedder(self) -> Embedder:
        """The injected embedder, else one shared by every graph in the process that names the same model."""
        if self._embedder is None:
            self._embedder = shared_embedder(self.embedding_model)
        return self._embedder

    @property
    def fuzzy_index_loaded(self) -> bool:
        return self._fuzzy_index is not None

    def _new_index_kind(self) -> str:
        """``auto``: flat (exact search) below AUTO_COMPRESS_FACTS facts, the compressed kind above."""
        if self.index_kind != AUTO_INDEX_KIND:
            return self.index_kind
        return COMPRESSED_KIND if self.store.count() >= AUTO_COMPRESS_FACTS else "flat"

    @property
    def fuzzy_index(self) -> FuzzyIndex:
        """The fuzzy index, loaded and brought up to date with the store on first use.

        This graph's edits reach it in the same call; edits made through another handle reach it
        when a resolver next resolves, or with ``kg.fuzzy_index.sync(kg.store)``. A saved index
        keeps the kind it was built with; ``build_fuzzy_index(rebuild=True)`` chooses again.
        """
        if self._fuzzy_index is None:
            self._fuzzy_index = self._load_fuzzy_index()
        return self._fuzzy_index

    def _load_fuzzy_index(self, *, show_progress: bool = False) -> FuzzyIndex:
        index = FuzzyIndex.open(self.index_dir, self.embedder, self._new_index_kind())
        index.sync(self.store, show_progress=show_progress)
        return index

    def build_fuzzy_index(self, *, rebuild: bool = False, show_progress: bool = False) -> int:
        """Bring the fuzzy index up to date (from scratch with ``rebuild``), save it, and return
        how many keys it holds. Raises FuzzyIndexError if its directory cannot be written (reads
        never need that: they keep an index they cannot save in memory)."""
        if rebuild:
            self._fuzzy_index = FuzzyIndex(self.index_dir, self.embedder, self._new_index_kind())
            self._fuzzy_index.rebuild(self.store, show_progress=show_progress)
        elif self._fuzzy_index is None:
            self._fuzzy_index = self._load_fuzzy_index(show_progress=show_progress)
        index = self._fuzzy_index
        index.sync(self.store, show_progress=show_progress)
        if index.dirty:
            index.save()  # FuzzyIndexError naming the directory where it cannot be written
        return len(index.entries)

    def resolver(self, config: ResolverConfig | None = None, **options) -> Resolver:
        """A resolver over this graph; the fuzzy index loads on its first exact miss."""
        config = config or ResolverConfig(**options)
        return Resolver(self.store, (lambda: self.fuzzy_index) if config.fuzzy else None, config)

    def lookup(self, entity: str, relation: str, config: ResolverConfig | None = None) -> Resolution:
        """Resolve one lookup. The embedding model and the index load only if the exact path misses."""
        return self.resolver(config).resolve(entity, relation)

    # ---------------------------------------------------------------- edits
    def import_files(
        self,
        paths: Sequence[str | Path],
        *,
        fmt: str | None = None,
        progress: bool = False,
        strict: bool = True,
    ) -> list[tuple[ImportReport, list]]:
        """Import files one by one. Each file is read and checked whole before anything is written,
        so a malformed file adds nothing. Returns, per file, its report and the parse problems that
        were skipped (only with ``strict=False``)."""
        from .formats import ReadReport, read_triples

        self.store.require_writable("import")  # before reading the files, which may be large
        results = []
        for path in paths:
            read_report = None if strict else ReadReport()
            triples = list(read_triples(path, fmt, read_report))  # raises on the first bad record
            problems = read_report.problems if read_report else []
            report = self.store.import_triples(
                triples, summary=f"import {Path(path).name}", progress=progress
            )
            results.append((report, problems))
        self._after_edit()
        return results

    def import_triples(self, triples: Iterable[Triple], **kwargs) -> ImportReport:
        report = self.store.import_triples(triples, **kwargs)
        self._after_edit()
        return report

    def set_fact(self, entity: str, relation: str, value: str, **kwargs) -> Change:
        return self._after_edit(self.store.set_fact(entity, relation, value, **kwargs))

    def forget(self, entity: str, relation: str | None = None, *, include_as_value: bool = False) -> Change:
        if relation is None:
            return self._after_edit(self.store.forget_entity(entity, include_as_value=include_as_value))
        return self._after_edit(self.store.forget(entity, relation))

    def forget_fact(self, fact_id: str) -> Change:
        return self._after_edit(self.store.forget_fact(fact_id))

    def merge_entities(self, keep: str, other: str) -> Change:
        return self._after_edit(self.store.merge_entities(keep, other))

    def undo(self, change_id: int) -> Change:
        return self._after_edit(self.store.undo(change_id))

    def _after_edit(self, change: Change | None = None) -> Change | None:
        if self._fuzzy_index is not None:
            self._fuzzy_index.sync(self.store)
        return change

    # ---------------------------------------------------------------- audits and views
    def leak_audit(self, change: Change, *, threshold: float = 0.6, k: int = 10) -> list[LeakCandidate]:
        """Facts still stored whose keys lie near the keys ``change`` removed, above ``threshold``:
        the aliases and paraphrases through which a forgotten fact could still be looked up."""
        return self.near_keys(change.removed, threshold=threshold, k=k)

    def near_keys(self, facts: Iterable[Fact], *, threshold: float = 0.6, k: int = 10) -> list[LeakCandidate]:
        """The leak audit of ``facts`` before they are forgotten: other stored keys within
        ``threshold`` of theirs (``k`` searched per fact), best first."""
        forgotten = {f.key: f for f in facts}
        if not forgotten:
            return []
        index = self.fuzzy_index
        index.sync(self.store)
        queries = [f"{f.entity} {f.relation}" for f in forgotten.values()]
        found: dict[tuple[str, str], LeakCandidate] = {}
        for row in index.search_keys(queries, k=k):
            for entry, score in row:
                key = (entry.entity_key, entry.relation_key)
                if score >= threshold and key not in forgotten:
                    best = found.get(key)
                    if best is None or score > best.score:
                        found[key] = LeakCandidate(entry.entity, entry.relation, round(float(score), 4))
        return sorted(found.values(), key=lambda c: -c.score)

    def check(self, *, with_index: bool | None = None) -> list[str]:
        """Store invariants, and whether the fuzzy index agrees with the store (if it exists)."""
        problems = self.store.check()
        if with_index or (
            with_index is None and (self._fuzzy_index is not None or (self.index_dir / "meta.json").exists())
        ):
            problems += self.fuzzy_index.check(self.store)
        return problems

    def neighbourhood(self, entity: str, depth: int = 1, *, limit: int = 500):
        """The facts around ``entity`` as a networkx MultiDiGraph: nodes are entity/value keys with a
        ``name`` attribute; edges carry relation, value, fact id and provenance."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        frontier = self.store.canonical_entity_keys([entity])
        seen: set[str] = set()
        for _ in range(depth):
            frontier = [k for k in frontier if k not in seen]
            if not frontier or graph.number_of_edges() >= limit:
                break
            seen.update(frontier)
            facts = self.store.facts_of_entity_keys(frontier) + self.store.facts_of_entity_keys(
                frontier, as_value=True
            )
            next_frontier = []
            for fact in facts[: max(0, limit - graph.number_of_edges())]:
                _add_fact_edge(graph, fact)
                next_frontier += [fact.entity_key, fact.value_key]
            frontier = next_frontier
        return graph


def _add_fact_edge(graph, fact: Fact) -> None:
    graph.add_node(fact.entity_key, name=fact.entity)
    if fact.value_key not in graph:
        graph.add_node(fact.value_key, name=fact.value)
    graph.add_edge(
        fact.entity_key,
        fact.value_key,
        key=fact.id,
        relation=fact.relation,
        value=fact.value,
        fact_id=fact.id,
        source=fact.source or "",
        annotator=fact.annotator or "",
    )


@functools.lru_cache(maxsize=4)
def shared_embedder(model: str | None = None) -> Embedder:
    """One loaded embedding model per name in a process (the app and tests open many graphs)."""
    from .embedding import Embedder

    return Embedder(model)


def default_index_dir(store: KnowledgeStore) -> Path:
    """Embedded stores keep their index inside the store directory; a Neo4j store's index lives
    under ``$LMLM_HOME/indexes``, named by its URI."""
    if store.backend == "embedded":
        return Path(store.location) / "fuzzy"
    digest = hashlib.sha1(store.location.encode()).hexdigest()[:16]
    return lmlm_home() / "indexes" / digest
