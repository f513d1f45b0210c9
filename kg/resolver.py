"""The resolver: exact match first, fuzzy second, the fallback policy last.

Every answer says how it was found (:class:`Resolution`). The model sees only the resolver's
batched call, ``Sequence[(entity, relation)] -> Sequence[Resolution]``.

Fuzzy modes (see ``evaluation/fuzzy_modes.py`` for how they compare on the paper's samples):

- ``flat`` (the paper's): nearest ``"{entity} {relation}"`` key by cosine, accepted at ``threshold``.
  The entity dominates such embeddings, so a wrong relation of the right entity often passes.
- ``structured`` (default): the entity first (exact, aliases included, then nearest entity name at
  ``entity_threshold``), then the nearest of *that entity's own* relations at ``relation_threshold``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from .facts import Fact, normalize_key
from .fuzzy_index import FuzzyIndex, KeyHit
from .store import KnowledgeStore

logger = logging.getLogger(__name__)

LookupPath = Literal["exact", "fuzzy", "miss"]  # how an answer was found
ResolverMode = Literal["structured", "flat"]
FallbackPolicy = Literal["none", "unknown", "top1"]
MODES: tuple[str, ...] = get_args(ResolverMode)
FALLBACKS: tuple[str, ...] = get_args(FallbackPolicy)
UNKNOWN_VALUE = "unknown"


@dataclass(frozen=True)
class Resolution:
    """One answer: the value (None on a miss), how it was found, its score and the fact behind it."""

    value: str | None
    path: LookupPath
    score: float
    fact_id: str | None
    entity: str | None = None  # the matched key, as stored (differs from the query on a fuzzy hit)
    relation: str | None = None

    def to_dict(self) -> dict:
        return {"value": self.value, "path": self.path, "score": self.score, "fact_id": self.fact_id}

    @classmethod
    def from_fact(cls, fact: Fact, path: Literal["exact", "fuzzy"], score: float) -> Resolution:
        return cls(fact.value, path, round(float(score), 4), fact.id, fact.entity, fact.relation)


MISS = Resolution(None, "miss", 0.0, None)


@dataclass(frozen=True)
class ResolverConfig:
    """How a :class:`Resolver` answers: the fuzzy mode, its thresholds and the policy on a miss."""

    mode: ResolverMode = field(
        default="structured",
        metadata={
            "help": "fuzzy mode: structured (the entity, then its own relations) or flat (the whole key)"
        },
    )
    threshold: float = field(
        default=0.6, metadata={"help": "flat mode: the cosine a whole key needs to be answered"}
    )
    entity_threshold: float = field(
        default=0.65,  # evaluation/fuzzy_modes.py
        metadata={"help": "structured mode: the cosine the entity name needs"},
    )
    relation_threshold: float = field(
        default=0.65, metadata={"help": "structured mode: the cosine the relation name needs"}
    )
    fallback: FallbackPolicy = field(
        default="none",
        metadata={
            "help": "on a miss: none (no value), unknown (the word 'unknown') or top1 "
            "(the best fuzzy candidate, whatever its score)"
        },
    )
    fuzzy: bool = field(default=True, metadata={"help": "try the fuzzy index when the exact match misses"})
    cache_size: int = field(
        default=10_000, metadata={"help": "answers kept per resolver until the store changes"}
    )

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        for name in ("threshold", "entity_threshold", "relation_threshold"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a cosine in [-1, 1], got {value}")
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size}")


@dataclass(frozen=True)
class Candidate:
    """The best stored fact a fuzzy search found for one query, and its score (accepted or not)."""

    fact: Fact
    score: float


@dataclass(frozen=True)
class StructuredMatch:
    """Structured mode's pick for one query: an entity, the nearest of its relations, both cosines."""

    entity_key: str
    relation_key: str
    entity_score: float
    relation_score: float

    @property
    def key(self) -> tuple[str, str]:
        return self.entity_key, self.relation_key

    @property
    def score(self) -> float:
        return self.entity_score * self.relation_score


class Resolver:
    """Resolve (entity, relation) lookups against a store and, optionally, its fuzzy index.

    The resolver alone decides what a miss returns (``config.fallback``): a decoder inserts the
    value it is given. ``fuzzy_index`` may be a zero-argument callable: it is called on the first
    exact miss, so a resolver that only ever hits exactly never loads the embedding model.
    """

    def __init__(
        self,
        store: KnowledgeStore,
        fuzzy_index: FuzzyIndex | Callable[[], FuzzyIndex] | None = None,
        config: ResolverConfig | None = None,
    ):
        self.store = store
        self._fuzzy_index = fuzzy_index
        self.config = config or ResolverConfig()
        self._cache: OrderedDict[tuple[str, str], Resolution] = OrderedDict()
        self._seen_change = -1

    @property
    def fuzzy_index(self) -> FuzzyIndex:
        """The fuzzy index; loaded (and synced) here on first use if it was given as a callable."""
        if self._fuzzy_index is None:
            raise ValueError("this resolver has no fuzzy index")
        if not isinstance(self._fuzzy_index, FuzzyIndex):
            self._fuzzy_index = self._fuzzy_index()
        return self._fuzzy_index

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks time the lookup, not the cache)."""
        self._cache.clear()

    def __call__(self, lookups: Sequence) -> list[Resolution]:
        return self.resolve_many(lookups)

    def resolve(self, entity: str, relation: str) -> Resolution:
        return self.resolve_many([(entity, relation)])[0]

    def resolve_many(self, lookups: Sequence) -> list[Resolution]:
        """Resolve a batch. Items are (entity, relation) pairs or objects with those attributes."""
        queries = [(q.entity, q.relation) if hasattr(q, "entity") else (q[0], q[1]) for q in lookups]
        self._invalidate_if_edited()
        keys = [(normalize_key(e), normalize_key(r)) for e, r in queries]
        out: list[Resolution | None] = [self._cache.get(k) for k in keys]
        todo = [i for i, r in enumerate(out) if r is None]
        if todo:
            for i, res in zip(todo, self._resolve_uncached([queries[i] for i in todo])):
                out[i] = res
                self._remember(keys[i], res)
        return out  # type: ignore[return-value]

    # ---------------------------------------------------------------- internals
    def _invalidate_if_edited(self) -> None:
        last = self.store.last_change_id()
        if last != self._seen_change:
            self._cache.clear()
            if isinstance(self._fuzzy_index, FuzzyIndex):
                self._fuzzy_index.sync(self.store)
            self._seen_change = last

    def _remember(self, key: tuple[str, str], res: Resolution) -> None:
        if self.config.cache_size == 0:
            return
        self._cache[key] = res
        if len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    def _resolve_uncached(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        found = self.store.lookup_many(queries)
        out = [Resolution.from_fact(f[0], "exact", 1.0) if f else None for f in found]
        missed = [i for i, r in enumerate(out) if r is None]
        if missed and self.config.fuzzy and self._fuzzy_index is not None and self.fuzzy_index.entries:
            fuzzy = self._fuzzy_structured if self.config.mode == "structured" else self._fuzzy_flat
            for i, res in zip(missed, fuzzy([queries[i] for i in missed])):
                out[i] = res
        return [r if r is not None else self._miss(None) for r in out]

    def _miss(self, best: Candidate | None) -> Resolution:
        """The answer when nothing passed the thresholds: the one place the miss policy is applied."""
        policy = self.config.fallback
        if policy == "top1" and best is not None:
            return Resolution.from_fact(best.fact, "fuzzy", best.score)
        score = round(float(best.score), 4) if best else 0.0
        value = UNKNOWN_VALUE if policy == "unknown" else None
        return Resolution(value, "miss", score, None)

    def _newest(self, keys: list[tuple[str, str]]) -> list[Fact | None]:
        return [facts[0] if facts else None for facts in self.store.facts_by_keys(keys)]

    def _fuzzy_flat(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        rows = self.fuzzy_index.search_keys([f"{e} {r}" for e, r in queries], k=1)
        best: list[KeyHit | None] = [row[0] if row else None for row in rows]
        facts = self._newest([(b.entry.entity_key, b.entry.relation_key) if b else ("", "") for b in best])
        out = []
        for hit, fact in zip(best, facts):
            if hit is None or fact is None:  # a stale key is never answered from
                out.append(self._miss(None))
            elif hit.score >= self.config.threshold:
                out.append(Resolution.from_fact(fact, "fuzzy", hit.score))
            else:
                out.append(self._miss(Candidate(fact, hit.score)))
        return out

    def _fuzzy_structured(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        cfg, index = self.config, self.fuzzy_index
        entity_keys = self.store.canonical_entity_keys([e for e, _ in queries])
        # 1. the entity: exact (aliases resolved) or the nearest name
        entities: list[tuple[str, float] | None] = [
            (ek, 1.0) if ek in index.relations_of else None for ek in entity_keys
        ]
        need = [i for i, m in enumerate(entities) if m is None]
        if need:
            for i, row in zip(need, index.search_entities([queries[i][0] for i in need], k=1)):
                entities[i] = (row[0].entity_key, row[0].score) if row else None
        # 2. the relation, among that entity's own relations
        rel_vecs = index.encode([r for _, r in queries])  # (n, d)
        matches: list[StructuredMatch | None] = []
        for entity, q_vec in zip(entities, rel_vecs):
            candidates = sorted(index.relations_of.get(entity[0], ())) if entity else []
            if not candidates:
                matches.append(None)
                continue
            sims = index.relation_vectors(candidates) @ q_vec  # (len(candidates),)
            j = int(np.argmax(sims))
            matches.append(StructuredMatch(entity[0], candidates[j], entity[1], float(sims[j])))
        facts = self._newest([m.key if m else ("", "") for m in matches])
        out: list[Resolution] = []
        for match, fact in zip(matches, facts):
            if match is None or fact is None:  # a stale key is never answered from
                out.append(self._miss(None))
            elif (
                match.entity_score >= cfg.entity_threshold and match.relation_score >= cfg.relation_threshold
            ):
                out.append(Resolution.from_fact(fact, "fuzzy", match.score))
            else:
                out.append(self._miss(Candidate(fact, match.score)))
        return out
