"""The store contract: one set of semantics, two backends (embedded SQLite and Neo4j).

Every edit is a :class:`Change`: the facts it removed, the facts it added and the aliases it
touched. Backends implement a handful of primitives (read by key, apply a change atomically, bulk
insert); everything users call (set, forget, merge, undo ...) is written once here on top of them,
so both stores behave the same and the contract tests hold them to it.

Several values may be stored for one (entity, relation). :meth:`KnowledgeStore.lookup` returns them
newest first (largest ``seq``); the resolver answers with the first, i.e. **the most recently set
value wins**. Within one import, a later record counts as newer than an earlier one.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import FactNotFoundError, KnowledgeStoreError
from .facts import Alias, Fact, Triple, make_fact_id, normalize_key

Key = tuple[str, str]  # (entity_key, relation_key), both normalised


_CHANGE_SCALARS = ("id", "op", "summary", "created_at", "undoes", "undone_by", "added_count")
CHANGE_COLUMNS = (*_CHANGE_SCALARS, "payload")  # a change's stored form, in both stores


@dataclass(frozen=True)
class Change:
    """One entry of the change log. ``undo`` applies its inverse as a new change.

    Both stores keep a change in one stored form, :meth:`to_record` (written) and
    :meth:`from_record` (read): the scalar fields, and the facts and aliases it removed and added
    as one JSON ``payload``.
    """

    id: int
    op: str  # import | set | add | forget | forget_entity | merge | undo
    summary: str
    created_at: float = 0.0
    removed: tuple[Fact, ...] = ()
    added: tuple[Fact, ...] = ()
    aliases_added: tuple[Alias, ...] = ()
    aliases_removed: tuple[Alias, ...] = ()
    undoes: int | None = None
    undone_by: int | None = None
    added_count: int = 0  # imports list no facts here: the facts carry change_id == id

    def to_dict(self, *, with_facts: bool = True) -> dict:
        out = {name: getattr(self, name) for name in _CHANGE_SCALARS}
        out.update(removed_count=len(self.removed), added_count=self.added_count or len(self.added))
        if with_facts:
            out.update(self._payload())
        return out

    def _payload(self) -> dict[str, list[dict]]:
        return {
            "removed": [f.to_dict() for f in self.removed],
            "added": [f.to_dict() for f in self.added],
            "aliases_added": [a.to_dict() for a in self.aliases_added],
            "aliases_removed": [a.to_dict() for a in self.aliases_removed],
        }

    def to_record(self) -> dict:
        """The stored form: one value per name in ``CHANGE_COLUMNS``."""
        record = {name: getattr(self, name) for name in _CHANGE_SCALARS}
        return {**record, "payload": json.dumps(self._payload(), ensure_ascii=False)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Change:
        """A change from its stored form, read by name (a dict, a Neo4j map or a ``sqlite3.Row``)."""
        data = json.loads(record["payload"] or "{}")
        return cls(
            **{name: record[name] for name in _CHANGE_SCALARS},
            removed=tuple(Fact.from_dict(f) for f in data.get("removed", ())),
            added=tuple(Fact.from_dict(f) for f in data.get("added", ())),
            aliases_added=tuple(Alias.from_dict(a) for a in data.get("aliases_added", ())),
            aliases_removed=tuple(Alias.from_dict(a) for a in data.get("aliases_removed", ())),
        )


@dataclass(frozen=True)
class ChangeDraft:
    """A change before the store has numbered and committed it."""

    op: str
    summary: str
    removed: tuple[Fact, ...] = ()
    added: tuple[Triple | Fact, ...] = ()
    aliases_added: tuple[Alias, ...] = ()
    aliases_removed: tuple[Alias, ...] = ()
    undoes: int | None = None

    def new_facts(self, now: float) -> list[Fact]:
        """The facts to add, in order, before the store numbers them: a Triple becomes a fact created
        ``now``; a Fact (restored by undo) keeps its id, creation time and provenance. One per id."""
        facts = (item if isinstance(item, Fact) else Fact.from_triple(item, now) for item in self.added)
        return list({f.id: f for f in facts}.values())

    def committed(self, change_id: int, created_at: float, added: Sequence[Fact]) -> Change:
        """The change this draft became, given its id, time and the facts as stored."""
        return Change(
            id=change_id,
            op=self.op,
            summary=self.summary,
            created_at=created_at,
            removed=tuple(self.removed),
            added=tuple(added),
            aliases_added=tuple(self.aliases_added),
            aliases_removed=tuple(self.aliases_removed),
            undoes=self.undoes,
            added_count=len(added),
        )


@dataclass(frozen=True)
class ImportReport:
    """What a bulk import did. ``committed_batches`` matters only for stores that commit per batch."""

    change_id: int | None
    read: int
    added: int
    duplicates: int
    committed_batches: int = 0
    total_batches: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StoreStats:
    facts: int
    entities: int  # distinct subjects
    relations: int  # distinct relation keys
    values: int  # distinct value keys
    aliases: int
    changes: int
    backend: str
    location: str
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class KnowledgeStore(ABC):
    """A durable fact store. Use :func:`lmlm.kg.open_store` to get one."""

    backend: str = "abstract"

    # ---------------------------------------------------------------- primitives (per backend)
    @property
    @abstractmethod
    def location(self) -> str:
        """Path or URI, for messages and for naming the fuzzy index that belongs to this store."""

    @abstractmethod
    def facts_by_keys(self, keys: Sequence[Key]) -> list[list[Fact]]:
        """For each normalised (entity, relation) key, its facts newest first. No alias resolution."""

    @abstractmethod
    def get_facts(self, fact_ids: Sequence[str]) -> dict[str, Fact]:
        """The facts among ``fact_ids`` that exist."""

    @abstractmethod
    def facts_of_entity_keys(self, entity_keys: Sequence[str], *, as_value: bool = False) -> list[Fact]:
        """Facts whose entity key (or, with ``as_value``, value key) is one of ``entity_keys``, by seq."""

    @abstractmethod
    def facts_created_by(self, change_id: int) -> list[Fact]:
        """Facts still in the store that ``change_id`` created."""

    @abstractmethod
    def alias_targets(self, alias_keys: Sequence[str]) -> dict[str, str]:
        """Map alias key -> canonical entity key for the aliases that exist."""

    @abstractmethod
    def list_aliases(self, entity_key: str | None = None) -> list[Alias]:
        """All aliases, or those of one canonical entity key."""

    @abstractmethod
    def search_entities(self, text: str, *, mode: str = "substring", limit: int = 20) -> list[str]:
        """Display names of subjects (and aliases) whose key contains (or starts with) ``text``."""

    @abstractmethod
    def iter_facts(self, batch_size: int = 10_000) -> Iterator[Fact]:
        """Every fact, oldest first (by seq)."""

    @abstractmethod
    def stats(self) -> StoreStats: ...

    @abstractmethod
    def _apply(self, draft: ChangeDraft) -> Change:
        """Atomically, all or nothing: remove ``draft.removed`` (by id); add ``draft.added`` in order with
        new, increasing seq numbers and ``change_id`` = the new change (a Triple becomes a fact created
        now; a Fact, restored by undo, keeps its id, created_at and provenance); remove
        ``aliases_removed`` then add ``aliases_added``; append the change record (its ``added`` are the
        stored Facts); and, if ``draft.undoes`` is set, mark that change ``undone_by`` the new one."""

    @abstractmethod
    def _import(
        self, triples: Iterable[Triple], *, summary: str, batch_size: int, progress: bool
    ) -> ImportReport:
        """Bulk-insert new facts, skipping ids already stored, as one change of op ``import``. A
        failure part-way raises ImportInterruptedError carrying the report so far."""

    @abstractmethod
    def get_change(self, change_id: int) -> Change:
        """One change, with its facts. Raises FactNotFoundError if there is none."""

    @abstractmethod
    def history(self, limit: int = 50, *, since: int | None = None) -> list[Change]:
        """Changes newest first; with ``since``, those with id > since, oldest first."""

    @abstractmethod
    def last_change_id(self) -> int:
        """Id of the newest change, 0 for a new store. Caches compare it to see edits."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every fact, alias and change (tests, and ``lmlm kg clear``)."""

    @abstractmethod
    def _check_backend(self) -> list[str]:
        """Backend invariants (dangling nodes, duplicate ids ...); each problem as one line."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- reading
    def canonical_entity_keys(self, entities: Sequence[str]) -> list[str]:
        """Normalised keys with aliases resolved to their entity."""
        keys = [normalize_key(e) for e in entities]
        targets = self.alias_targets(sorted(set(keys)))
        return [targets.get(k, k) for k in keys]

    def lookup(self, entity: str, relation: str) -> list[Fact]:
        """All values stored for (entity, relation), newest first; aliases resolve."""
        return self.lookup_many([(entity, relation)])[0]

    def lookup_many(self, queries: Sequence[tuple[str, str]]) -> list[list[Fact]]:
        """Batched :meth:`lookup`."""
        entity_keys = self.canonical_entity_keys([e for e, _ in queries])
        keys = [(ek, normalize_key(r)) for ek, (_, r) in zip(entity_keys, queries)]
        return self.facts_by_keys(keys)

    def facts_of(self, entity: str, *, as_value: bool = False) -> list[Fact]:
        """Facts with ``entity`` as subject (aliases resolve); with ``as_value``, also as value."""
        (key,) = self.canonical_entity_keys([entity])
        facts = self.facts_of_entity_keys([key])
        if as_value:
            seen = {f.id for f in facts}
            facts += [f for f in self.facts_of_entity_keys([key], as_value=True) if f.id not in seen]
        return facts

    def count(self) -> int:
        return self.stats().facts

    def export(self) -> Iterator[Fact]:
        return self.iter_facts()

    # ---------------------------------------------------------------- writing
    def import_triples(
        self,
        triples: Iterable[Triple],
        *,
        summary: str = "import",
        batch_size: int = 5_000,
        progress: bool = False,
    ) -> ImportReport:
        """Add many triples as one change. Facts already stored (same normalised triple) are skipped.

        The embedded store commits all or nothing. Neo4j commits per batch and reports how many
        batches committed; the change can be undone to remove a partial import. If reading
        ``triples`` or a write fails part-way, or the import is interrupted, it raises
        :class:`~lmlm.kg.errors.ImportInterruptedError`, whose ``report`` says what was read and
        what stayed committed.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return self._import(triples, summary=summary, batch_size=batch_size, progress=progress)

    def set_fact(
        self,
        entity: str,
        relation: str,
        value: str,
        *,
        replace: bool = True,
        source: str | None = None,
        annotator: str | None = None,
    ) -> Change:
        """Set (entity, relation) to ``value``. With ``replace`` the other values go; without, it is added
        beside them. Either way the new value becomes the newest, so the resolver answers with it."""
        triple = Triple(entity, relation, value, source, annotator)
        (entity_key,) = self.canonical_entity_keys([entity])
        existing = self.facts_by_keys([(entity_key, normalize_key(relation))])[0]
        if entity_key != normalize_key(entity):  # an alias: store under the canonical name
            canonical = existing[0].entity if existing else self._display_of(entity_key)
            triple = Triple(canonical, relation, value, source, annotator)
        new_id = triple.fact_id
        removed = tuple(f for f in existing if replace or f.id == new_id)
        op = "set" if replace else "add"
        return self._commit(
            ChangeDraft(op, f"{op} {entity!r} {relation!r} = {value!r}", removed=removed, added=(triple,))
        )

    def forget_fact(self, fact_id: str) -> Change:
        facts = self.get_facts([fact_id])
        if fact_id not in facts:
            raise FactNotFoundError(f"no fact with id {fact_id!r}")
        f = facts[fact_id]
        return self._commit(
            ChangeDraft("forget", f"forget fact {fact_id} ({f.entity!r} {f.relation!r})", removed=(f,))
        )

    def forget(self, entity: str, relation: str | None = None) -> Change:
        """Forget every value of (entity, relation), or with no relation the whole entity."""
        if relation is None:
            return self.forget_entity(entity)
        facts = self.lookup(entity, relation)
        if not facts:
            raise FactNotFoundError(f"no fact for ({entity!r}, {relation!r})")
        return self._commit(ChangeDraft("forget", f"forget {entity!r} {relation!r}", removed=tuple(facts)))

    def forget_entity(self, entity: str, *, include_as_value: bool = False) -> Change:
        """Forget all facts about ``entity`` (and its aliases); with ``include_as_value``, also the
        facts where it is the value."""
        facts = self.facts_of(entity, as_value=include_as_value)
        (key,) = self.canonical_entity_keys([entity])
        aliases = tuple(self.list_aliases(key))
        if not facts and not aliases:
            raise FactNotFoundError(f"no facts about entity {entity!r}")
        return self._commit(
            ChangeDraft(
                "forget_entity",
                f"forget entity {entity!r}" + (" (also as value)" if include_as_value else ""),
                removed=tuple(facts),
                aliases_removed=aliases,
            )
        )

    def merge_entities(self, keep: str, other: str) -> Change:
        """``other`` names the same thing as ``keep``: its facts move to ``keep`` (as subject and as
        value), and ``other`` stays as an alias that lookups resolve."""
        keep_key, other_key = self.canonical_entity_keys([keep, other])
        if keep_key == other_key:
            raise ValueError(f"{keep!r} and {other!r} already name the same entity")
        keep_display = self._display_of(keep_key) or keep
        moved = self.facts_of_entity_keys([other_key])
        as_value = [
            f for f in self.facts_of_entity_keys([other_key], as_value=True) if f.entity_key != other_key
        ]
        removed, added = [], []
        for f in moved + as_value:
            entity = keep_display if f.entity_key == other_key else f.entity
            value = keep_display if f.value_key == other_key else f.value
            removed.append(f)
            added.append(Triple(entity, f.relation, value, f.source, f.annotator))
        old_aliases = self.list_aliases(other_key)
        aliases_added = [Alias(other, keep_display)] + [Alias(a.alias, keep_display) for a in old_aliases]
        return self._commit(
            ChangeDraft(
                "merge",
                f"merge {other!r} into {keep!r}",
                removed=tuple(removed),
                added=tuple(_dedupe_triples(added)),
                aliases_added=tuple(aliases_added),
                aliases_removed=tuple(old_aliases),
            )
        )

    def undo(self, change_id: int) -> Change:
        """Apply the inverse of a change as a new change (which can itself be undone)."""
        change = self.get_change(change_id)
        if change.undone_by is not None:
            raise KnowledgeStoreError(f"change {change_id} was already undone")
        added = (
            self.facts_created_by(change_id)
            if change.op == "import"
            else [
                f for f in self.get_facts([f.id for f in change.added]).values() if self._owns(change_id, f)
            ]
        )
        # Restore only what is not back already (a later change may have re-added it).
        present = self.get_facts([f.id for f in change.removed])
        restore = tuple(sorted((f for f in change.removed if f.id not in present), key=lambda f: f.seq))
        return self._commit(
            ChangeDraft(
                "undo",
                f"undo change {change_id} ({change.op})",
                removed=tuple(added),
                added=restore,
                aliases_added=change.aliases_removed,
                aliases_removed=change.aliases_added,
                undoes=change_id,
            )
        )

    def _owns(self, change_id: int, fact: Fact) -> bool:
        """Whether undoing ``change_id`` removes ``fact``: it does unless a later edit set the same
        fact again. A fact that an undo brought back (undoing a later forget) is still the change's."""
        if fact.change_id == change_id:
            return True
        owner = self.get_change(fact.change_id) if fact.change_id is not None else None
        return owner is not None and owner.op == "undo"

    def check(self) -> list[str]:
        """Problems with the store's invariants, one line each; empty when consistent."""
        problems = self._check_backend()
        seen: set[str] = set()
        for fact in self.iter_facts():
            if fact.id in seen:
                problems.append(f"fact {fact.id} appears twice")
            seen.add(fact.id)
            if make_fact_id(fact.entity, fact.relation, fact.value) != fact.id:
                problems.append(f"fact {fact.id} has an id that does not match its triple")
        return problems

    # ---------------------------------------------------------------- helpers
    def _display_of(self, entity_key: str) -> str | None:
        facts = self.facts_of_entity_keys([entity_key])
        if facts:
            return facts[0].entity
        facts = self.facts_of_entity_keys([entity_key], as_value=True)
        return facts[0].value if facts else None

    def _commit(self, draft: ChangeDraft) -> Change:
        """Apply a draft, first listing as removed any stored fact that an added one replaces (same
        id), so that undo can restore it."""
        removed_ids = {f.id for f in draft.removed}
        new_ids = [t.fact_id if isinstance(t, Triple) else t.id for t in draft.added]
        replaced = [f for i, f in self.get_facts(new_ids).items() if i not in removed_ids]
        if replaced:
            draft = replace(draft, removed=draft.removed + tuple(replaced))
        return self._apply(draft)


def _dedupe_triples(triples: Iterable[Triple]) -> list[Triple]:
    seen: set[str] = set()
    out = []
    for t in triples:
        if t.fact_id not in seen:
            seen.add(t.fact_id)
            out.append(t)
    return out
