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

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from .changes import CHANGE_COLUMNS, Change, ChangeDraft, ImportReport
from .errors import FactNotFoundError, KnowledgeStoreError, ReadOnlyStoreError
from .facts import Alias, Fact, Triple, make_fact_id, normalize_key
from .limits import check_field_lengths, check_triple, checked_import_rows

Key = tuple[str, str]  # (entity_key, relation_key), both normalised

# The change log's types live in .changes; they are named here too, where the store's users look.
__all__ = ["CHANGE_COLUMNS", "Change", "ChangeDraft", "ImportReport", "Key", "KnowledgeStore", "StoreStats"]


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
    """A durable fact store. Use :func:`lmlm.kg.open_store` to get one.

    A store opened read-only (asked for, or because its files cannot be written) answers every read;
    every write raises :class:`~lmlm.kg.errors.ReadOnlyStoreError` saying why, before it reads its input.
    """

    backend: str = "abstract"
    # A change of more facts than this is written in batches by stores that batch (Neo4j); the
    # embedded store writes every change in one transaction whatever its size.
    change_batch_size: int = 10_000
    _read_only_reason: str | None = None  # set by a backend that opened read-only: why

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

    def _check_facts(self) -> list[str]:
        """Every fact read once: ids unique and matching their triples. A backend that can check
        more per fact in the same pass (Neo4j: node keys and hashes) overrides this."""
        problems: list[str] = []
        seen: set[str] = set()
        for fact in self.iter_facts():
            if fact.id in seen:
                problems.append(f"fact {fact.id} appears twice")
            seen.add(fact.id)
            if make_fact_id(fact.entity, fact.relation, fact.value) != fact.id:
                problems.append(f"fact {fact.id} has an id that does not match its triple")
        return problems

    def unfinished_changes(self) -> list[Change]:
        """Changes written in batches that did not finish (interrupted, or killed while running) and
        were not undone since, oldest first. A store that writes each change in one transaction has
        none."""
        return []

    def _apply_batched(self, draft: ChangeDraft, resume: Change | None = None) -> Change:
        """:meth:`_apply` for a draft of more than ``change_batch_size`` facts and no aliases. A store
        that batches writes it in several transactions (see :mod:`lmlm.kg.changes`), and with
        ``resume`` (an unfinished change of the same kind) goes on with that change; by default, one."""
        return self._apply(draft)

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        return self._read_only_reason is not None

    def require_writable(self, action: str) -> None:
        """Raise ReadOnlyStoreError, naming the store, why it is read-only and ``action``, if it is."""
        if self._read_only_reason is not None:
            raise ReadOnlyStoreError(
                f"{self.location}: the store is read-only ({self._read_only_reason}); cannot {action}"
            )

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
        self.require_writable("import")
        rows = checked_import_rows(triples, self.location)
        if rows is None:  # nothing to import: no empty change in the log
            return ImportReport(None, 0, 0, 0)
        return self._import(rows, summary=summary, batch_size=batch_size, progress=progress)

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
        self.require_writable("set a fact")
        triple = Triple(entity, relation, value, source, annotator)
        check_triple(triple)
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
        self.require_writable("merge entities")
        check_field_lengths(entity=keep)
        check_field_lengths(entity=other)
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
        """Apply the inverse of a change as a new change (which can itself be undone).

        An interrupted or unfinished import can be undone like any other: what it committed goes.
        (Undo an unfinished one only once its process has stopped: one still running goes on adding.)
        An undo of more than ``change_batch_size`` facts is written in batches where the store
        batches (Neo4j), so undoing a large import fits the server's transaction memory; if such an
        undo stops part-way, undoing the same change again resumes it (undoing the stopped undo
        instead puts back what it removed).
        """
        self.require_writable("undo a change")
        change = self.get_change(change_id)
        if change.undone_by is not None:
            raise KnowledgeStoreError(f"change {change_id} was already undone")
        added = (
            self.facts_created_by(change_id)
            if change.batched
            else [
                f for f in self.get_facts([f.id for f in change.added]).values() if self._owns(change_id, f)
            ]
        )
        # Restore only what is not back already (a later change may have re-added it).
        present = self.get_facts([f.id for f in change.removed])
        restore = tuple(sorted((f for f in change.removed if f.id not in present), key=lambda f: f.seq))
        draft = ChangeDraft(
            "undo",
            f"undo change {change_id} ({change.op})",
            removed=tuple(added),
            added=restore,
            aliases_added=change.aliases_removed,
            aliases_removed=change.aliases_added,
            undoes=change_id,
        )
        resume = next((c for c in self.unfinished_changes() if c.undoes == change_id), None)
        if resume is not None or (
            draft.size > self.change_batch_size and not (draft.aliases_added or draft.aliases_removed)
        ):
            return self._apply_batched(draft, resume)
        return self._commit(draft)

    def _owns(self, change_id: int, fact: Fact) -> bool:
        """Whether undoing ``change_id`` removes ``fact``: it does unless a later edit set the same
        fact again. A fact that an undo brought back (undoing a later forget) is still the change's."""
        if fact.change_id == change_id:
            return True
        owner = self.get_change(fact.change_id) if fact.change_id is not None else None
        return owner is not None and owner.op == "undo"

    def check(self) -> list[str]:
        """Problems with the store's invariants, one line each; empty when consistent. A change
        that did not finish (an interrupted or killed import) is one: its facts are partial."""
        problems = self._check_backend() + self._check_facts()
        for c in self.unfinished_changes():
            problems.append(f"change {c.id} ({c.summary}) is {c.progress_note()}; `undo {c.id}` removes it")
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
        self.require_writable(f"{draft.op}")
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
