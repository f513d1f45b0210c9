"""The resolver: exact match first, fuzzy second, the fallback policy last.

Every answer says how it was found (:class:`Resolution`). The model sees only the resolver's
batched call, ``Sequence[(entity, relation)] -> Sequence[Resolution]``.

Fuzzy modes (``evaluation/fuzzy_modes.py`` measures both, and calibrates the defaults):

- ``flat`` (the paper's): nearest ``"{entity} {relation}"`` key by cosine, accepted at ``threshold``.
  The entity dominates such embeddings, so a wrong relation of the right entity often passes.
- ``structured`` (default): the entity first: exact (aliases included), else a stored name the
  query misspells (letter by letter, :mod:`lmlm.kg.names`), else the nearest name by embedding
  at ``entity_threshold``. Then the nearest of *that entity's own* relations, accepted at
  ``relation_threshold`` with a lead of ``relation_margin`` over the next one, unless the query
  names a relation known to differ from it (:mod:`lmlm.kg.relations`: "date of death" is not a
  rewording of "date of birth", though MiniLM puts them closer than "born on"; "founder" and
  "Owner" are nearest two different relations of the reference list; "former spouse" is not
  "Spouse"). A relation written as an acronym ("DOB") matches the one relation of the entity whose
  initials it spells.

Every fuzzy hit is read back from the store before it is answered, so a key the index still
holds but the store no longer does is never returned. What the change log says was forgotten
(:mod:`lmlm.kg.forgotten`) answers nothing: a forgotten entity's name is not a typo of another,
and in structured mode an entity's forgotten relations take part in the relation match, a miss
when one of them is nearest.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from .facts import Fact, normalize_key
from .forgotten import ForgottenKeys
from .fuzzy_index import FuzzyIndex, KeyHit
from .names import edit_distance, is_misspelling
from .relations import REFERENCE_COSINE, REFERENCE_RELATIONS, acronym, apart_by_reference, spells_acronym
from .store import KnowledgeStore

logger = logging.getLogger(__name__)

LookupPath = Literal["exact", "fuzzy", "miss"]  # how an answer was found
ResolverMode = Literal["structured", "flat"]
FallbackPolicy = Literal["none", "unknown", "top1"]
ContrastSource = Literal["store+reference", "store", "reference", "none"]
MODES: tuple[str, ...] = get_args(ResolverMode)
FALLBACKS: tuple[str, ...] = get_args(FallbackPolicy)
CONTRASTS: tuple[str, ...] = get_args(ContrastSource)
UNKNOWN_VALUE = "unknown"
REFERENCE_KEYS = [normalize_key(r) for r in REFERENCE_RELATIONS]
SPELLING_CANDIDATES = 8  # entities sharing most letter trigrams with a name, checked for a misspelling


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
        default=0.95,  # calibrated by evaluation/fuzzy_modes.py
        metadata={"help": "structured mode: the cosine an entity name needs when it is not a misspelling"},
    )
    spelling: bool = field(
        default=True,
        metadata={"help": "structured mode: match an entity name written with typos, letter by letter"},
    )
    relation_threshold: float = field(
        default=0.55,  # calibrated by evaluation/fuzzy_modes.py
        metadata={"help": "structured mode: the cosine the relation name needs"},
    )
    relation_margin: float = field(
        default=0.0,  # calibrated by evaluation/fuzzy_modes.py
        metadata={"help": "structured mode: how far the best of the entity's relations must lead the second"},
    )
    contrasts: ContrastSource = field(
        default="store+reference",
        metadata={
            "help": "structured mode: what tells a relation from one that reads alike (birth/death): "
            "what the store holds (two relations of one entity with different values), the built-in "
            "reference list of common relations and non-subsective words ('former'), both, or none"
        },
    )
    acronyms: bool = field(
        default=True,
        metadata={
            "help": "structured mode: a relation written as an acronym ('DOB') matches the one relation of "
            "the entity whose initials it spells ('Date of birth')"
        },
    )
    reference_cosine: float = field(
        default=REFERENCE_COSINE,  # calibrated by evaluation/fuzzy_modes.py
        metadata={
            "help": "structured mode, with the reference list among the contrasts: a query relation and "
            "the stored one it matched are different relations when each is nearest a different relation "
            "of the list at this cosine or more ('founder' and 'Owner'); above 1 turns it off"
        },
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
        if self.contrasts not in CONTRASTS:
            raise ValueError(f"contrasts must be one of {CONTRASTS}, got {self.contrasts!r}")
        for name in ("threshold", "entity_threshold", "relation_threshold"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a cosine in [-1, 1], got {value}")
        if not 0.0 <= self.reference_cosine <= 1.01:
            raise ValueError(
                f"reference_cosine must be in [0, 1.01] (above 1: off), got {self.reference_cosine}"
            )
        if not 0.0 <= self.relation_margin <= 2.0:
            raise ValueError(f"relation_margin must be in [0, 2], got {self.relation_margin}")
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size}")


def _cache_key(entity: str, relation: str) -> tuple[str, str]:
    """The normalised key, except that an acronym keeps its capitals: "DOB" may match a relation
    that "dob" (a word) does not, so the two are cached apart."""
    letters = acronym(relation)
    return normalize_key(entity), letters.upper() if letters else normalize_key(relation)


@dataclass(frozen=True)
class Candidate:
    """The best stored fact a fuzzy search found for one query, and its score (accepted or not)."""

    fact: Fact
    score: float


@dataclass(frozen=True)
class EntityMatch:
    """The stored entity a query's entity name was taken for, and how: ``exact`` (aliases
    included), ``spelling`` (the name misspelt) or ``embedding`` (the nearest name, at ``score``);
    or ``forgotten``: the name of an entity forgotten and not stored again, which answers nothing."""

    key: str
    how: Literal["exact", "spelling", "embedding", "forgotten"]
    score: float


@dataclass(frozen=True)
class StructuredMatch:
    """Structured mode's pick for one query: an entity, the nearest of its relations, their
    cosines, the lead of that relation over the entity's next one, and whether the query names
    a relation known to differ from it."""

    entity: EntityMatch
    relation_key: str
    relation_score: float
    margin: float
    contrasted: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.entity.key, self.relation_key

    @property
    def score(self) -> float:
        return self.entity.score * self.relation_score


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
        self._forgotten = ForgottenKeys()

    @property
    def fuzzy_index(self) -> FuzzyIndex:
        """The fuzzy index; loaded (and synced) here on first use if it was given as a callable."""
        if self._fuzzy_index is None:
            raise ValueError("this resolver has no fuzzy index")
        if not isinstance(self._fuzzy_index, FuzzyIndex):
            self._fuzzy_index = self._fuzzy_index()
        return self._fuzzy_index

    def clear_cache(self) -> None:
        """Forget cached answers: after writes the change log does not record (raw Cypher), and in
        benchmarks that time the lookup, not the cache."""
        self._cache.clear()

    def __call__(self, lookups: Sequence) -> list[Resolution]:
        return self.resolve_many(lookups)

    def resolve(self, entity: str, relation: str) -> Resolution:
        return self.resolve_many([(entity, relation)])[0]

    def resolve_many(self, lookups: Sequence) -> list[Resolution]:
        """Resolve a batch. Items are (entity, relation) pairs or objects with those attributes."""
        queries = [(q.entity, q.relation) if hasattr(q, "entity") else (q[0], q[1]) for q in lookups]
        self._invalidate_if_edited()
        keys = [_cache_key(e, r) for e, r in queries]
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
            # what was forgotten answers nothing, not a look-alike (the log as read by resolve_many)
            self._forgotten.update(self.store, last=self._seen_change)
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

    def _was_forgotten(self, entity: str, relation: str) -> bool:
        """Whether the log says the key was forgotten, or its entity (no longer stored) was."""
        key = (normalize_key(entity), normalize_key(relation))
        gone = key[0] in self._forgotten.entities and key[0] not in self.fuzzy_index.relations_of
        return key in self._forgotten.keys or gone

    def _fuzzy_flat(self, queries: list[tuple[str, str]]) -> list[Resolution]:
        rows = self.fuzzy_index.search_keys([f"{e} {r}" for e, r in queries], k=1)
        best: list[KeyHit | None] = [
            row[0] if row and not self._was_forgotten(e, r) else None for (e, r), row in zip(queries, rows)
        ]
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
        entities = self._match_entities([e for e, _ in queries])
        # the relation, among that entity's own relations
        rel_vecs = index.encode([r for _, r in queries])  # (n, d)
        contrasts = None
        if cfg.contrasts != "none":
            contrasts = index.relation_contrasts(
                self.store, use_store="store" in cfg.contrasts, use_reference="reference" in cfg.contrasts
            )
        nearest: list[tuple[EntityMatch, str, float, float] | None] = []
        for entity, (_, relation), q_vec in zip(entities, queries, rel_vecs):
            stored = index.relations_of.get(entity.key, set()) if entity else set()
            # the entity's forgotten relations compete too: "birthplace" after a forgotten
            # "place of birth" is that forgotten fact, not the next nearest the entity still has
            candidates = (
                sorted(stored | self._forgotten.relations_of.get(entity.key, set())) if stored else []
            )
            if not entity or not candidates:
                nearest.append(None)
                continue
            sims = index.relation_vectors(candidates) @ q_vec  # (len(candidates),)
            order = np.argsort(-sims, kind="stable")
            best = float(sims[order[0]])
            margin = best - float(sims[order[1]]) if len(order) > 1 else best
            key = candidates[int(order[0])]
            letters = acronym(relation) if cfg.acronyms else None
            spelt = [c for c in candidates if spells_acronym(letters, c)] if letters else []
            if len(spelt) == 1:  # "DOB": the one relation it abbreviates, whatever the cosine
                key, best, margin = spelt[0], 1.0, 1.0
            nearest.append((entity, key, best, margin) if key in stored else None)
        asked = [(relation, n[1]) for (_, relation), n in zip(queries, nearest) if n is not None]
        differ = contrasts.differ_many(asked) if contrasts is not None else [False] * len(asked)
        if "reference" in cfg.contrasts and cfg.reference_cosine <= 1.0 and asked:
            q_vecs = np.stack([v for v, n in zip(rel_vecs, nearest) if n is not None])
            apart = apart_by_reference(
                q_vecs,
                index.relation_vectors([key for _, key in asked]),
                index.relation_vectors(REFERENCE_KEYS),
                cfg.reference_cosine,
                texts=([relation for relation, _ in asked], REFERENCE_KEYS),
            )
            differ = [d or bool(a) for d, a in zip(differ, apart)]
        differs = iter(differ)
        matches = [StructuredMatch(*n, next(differs)) if n is not None else None for n in nearest]
        facts = self._newest([m.key if m else ("", "") for m in matches])
        out: list[Resolution] = []
        for match, fact in zip(matches, facts):
            if match is None or fact is None:  # a stale key is never answered from
                out.append(self._miss(None))
            elif self._accepts(match):
                out.append(Resolution.from_fact(fact, "fuzzy", match.score))
            else:
                out.append(self._miss(Candidate(fact, match.score)))
        return out

    def _accepts(self, match: StructuredMatch) -> bool:
        cfg = self.config
        entity_ok = match.entity.how != "embedding" or match.entity.score >= cfg.entity_threshold
        return (
            entity_ok
            and match.relation_score >= cfg.relation_threshold
            and match.margin >= cfg.relation_margin
            and not match.contrasted
        )

    def _match_entities(self, names: list[str]) -> list[EntityMatch | None]:
        """Each name's entity: exact (aliases resolved), else a stored name it misspells, else the
        nearest name by embedding (accepted or not by ``entity_threshold`` later)."""
        index = self.fuzzy_index
        keys = self.store.canonical_entity_keys(names)
        out = [EntityMatch(k, "exact", 1.0) if k in index.relations_of else None for k in keys]
        for i, key in enumerate(keys):
            if out[i] is None and key in self._forgotten.entities:
                out[i] = EntityMatch(key, "forgotten", 1.0)
        if self.config.spelling:
            for i in [i for i, m in enumerate(out) if m is None]:
                out[i] = self._misspelt_entity(names[i])
        need = [i for i, m in enumerate(out) if m is None]
        if need:
            for i, row in zip(need, index.search_entities([names[i] for i in need], k=1)):
                out[i] = EntityMatch(row[0].entity_key, "embedding", row[0].score) if row else None
        return out

    def _misspelt_entity(self, name: str) -> EntityMatch | None:
        """The stored entity ``name`` misspells (:func:`~lmlm.kg.names.is_misspelling`) among those
        sharing most letter trigrams with it; the fewest edits win, and a tie names no one."""
        index = self.fuzzy_index
        query = normalize_key(name)
        found = [
            (edit_distance(query, key), -dice, key)
            for key, dice in index.names.search(name, k=SPELLING_CANDIDATES)
            if is_misspelling(name, index.entity_names[key])
        ]
        if not found:
            return None
        found.sort()
        if len(found) > 1 and found[0][0] == found[1][0]:
            logger.debug("%r misspells %s and %s alike: no entity", name, found[0][2], found[1][2])
            return None
        distance, neg_dice, key = found[0]
        return EntityMatch(key, "spelling", round(-neg_dice, 4))
