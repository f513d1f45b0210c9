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
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .facts import Fact, normalize_key
from .key_index import KeyIndex
from .store import KnowledgeStore

logger = logging.getLogger(__name__)

MODES = ("structured", "flat")
FALLBACKS = ("none", "unknown", "top1")
UNKNOWN_VALUE = "unknown"


@dataclass(frozen=True)
class Resolution:
    """One answer: the value (None on a miss), how it was found, its score and the fact behind it."""

    value: str | None
    path: Literal["exact", "fuzzy", "miss"]
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
    mode: str = "structured"
    threshold: float = 0.6  # flat mode: cosine of the whole key
    entity_threshold: float = 0.65  # structured mode: cosine of the entity name (evaluation/fuzzy_modes.py)
    relation_threshold: float = 0.65  # structured mode: cosine of the relation name
    fallback: str = (
        "none"  # on a miss: none (no value) | unknown (the word "unknown") | top1 (best candidate)
    )
    fuzzy: bool = True
    cache_size: int = 10_000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        for name in ("threshold", "entity_threshold", "relation_threshold"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a cosine in [-1, 1], got {value}")


class Resolver:
    """Resolve (entity, relation) lookups against a store and, optionally, its fuzzy index."""

    def __init__(
        self,
        store: KnowledgeStore,
        index: KeyIndex | Callable[[], KeyIndex] | None = None,
        config: ResolverConfig | None = None,
    ):
        """``index`` may be a zero-argument callable: it is called on the first exact miss, so a
        resolver that only ever hits exactly never loads the embedding model."""
        self.store = store
        self._index = index
        self.config = config or ResolverConfig()
        self._cache: OrderedDict[tuple[str, str], Resolution] = OrderedDict()
        self._seen_change = -1

    @property
    def index(self) -> KeyIndex:
        if not isinstance(self._index, KeyIndex):
            self._index = self._index()  # loads and syncs the index
        return self._index

    def with_fallback(self, policy: str) -> Resolver:
        """A resolver over the same store and index with another fallback policy (the decoder's
        ``fallback="top1"``)."""
        if policy == self.config.fallback:
            return self
        index = (
            self._index if isinstance(self._index, KeyIndex) or self._index is None else (lambda: self.index)
        )
        return Resolver(self.store, index, replace(self.config, fallback=policy))

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
            if isinstance(self._index, KeyIndex):
                self._index.sync(self.store)
            self._seen_change = last

    def _remember(self, key: tuple[str, str], res: Resolution) -> None:
        self._cache[key] = res
        if len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)

    def _resolve_uncached(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        found = self.store.lookup_many(queries)
        out = [Resolution.from_fact(f[0], "exact", 1.0) if f else None for f in found]
        missed = [i for i, r in enumerate(out) if r is None]
        if missed and self.config.fuzzy and self._index is not None and self.index.entries:
            fuzzy = self._fuzzy_structured if self.config.mode == "structured" else self._fuzzy_flat
            for i, res in zip(missed, fuzzy([queries[i] for i in missed])):
                out[i] = res
        return [r if r is not None else self._fallback(None) for r in out]

    def _fallback(self, best: tuple[Fact, float] | None) -> Resolution:
        policy = self.config.fallback
        if policy == "top1" and best is not None:
            return Resolution.from_fact(best[0], "fuzzy", best[1])
        score = round(float(best[1]), 4) if best else 0.0
        value = UNKNOWN_VALUE if policy == "unknown" else None
        return Resolution(value, "miss", score, None)

    def _newest(self, keys: list[tuple[str, str]]) -> list[Fact | None]:
        return [facts[0] if facts else None for facts in self.store.facts_by_keys(keys)]

    def _fuzzy_flat(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        rows = self.index.search_keys([f"{e} {r}" for e, r in queries], k=1)
        best = [row[0] if row else None for row in rows]
        facts = self._newest([(b[0].entity_key, b[0].relation_key) if b else ("", "") for b in best])
        out = []
        for b, fact in zip(best, facts):
            if b is None or fact is None:  # a stale key is never answered from
                out.append(self._fallback(None))
            elif b[1] >= self.config.threshold:
                out.append(Resolution.from_fact(fact, "fuzzy", b[1]))
            else:
                out.append(self._fallback((fact, b[1])))
        return out

    def _fuzzy_structured(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        cfg = self.config
        entity_keys = self.store.canonical_entity_keys([e for e, _ in queries])
        # 1. the entity: exact (aliases resolved) or the nearest name
        matched: list[tuple[str, float] | None] = [
            (ek, 1.0) if ek in self.index.relations_of else None for ek in entity_keys
        ]
        need = [i for i, m in enumerate(matched) if m is None]
        if need:
            for i, row in zip(need, self.index.search_entities([queries[i][0] for i in need], k=1)):
                matched[i] = row[0] if row else None
        # 2. the relation, among that entity's own relations
        rel_vecs = self.index.encode([r for _, r in queries])
        out: list[Resolution] = []
        picks: list[tuple[str, str] | None] = []
        scores: list[float] = []
        for ek_score, q_vec in zip(matched, rel_vecs):
            if ek_score is None:
                picks.append(None)
                scores.append(0.0)
                continue
            ek, e_score = ek_score
            candidates = sorted(self.index.relations_of.get(ek, ()))
            if not candidates:
                picks.append(None)
                scores.append(0.0)
                continue
            sims = self.index.relation_vectors(candidates) @ q_vec
            j = int(np.argmax(sims))
            picks.append((ek, candidates[j]))
            scores.append((e_score, float(sims[j])))
        facts = self._newest([p if p else ("", "") for p in picks])
        for pick, score, fact in zip(picks, scores, facts):
            if pick is None or fact is None:
                out.append(self._fallback(None))
                continue
            e_score, r_score = score
            combined = e_score * r_score
            if e_score >= cfg.entity_threshold and r_score >= cfg.relation_threshold:
                out.append(Resolution.from_fact(fact, "fuzzy", combined))
            else:
                out.append(self._fallback((fact, combined)))
        return out
