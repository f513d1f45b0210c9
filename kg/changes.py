"""The change log's types: a committed :class:`Change`, a :class:`ChangeDraft` before the store numbers
it, and the :class:`ImportReport` of a bulk import.

A change is written in one transaction, except where a store writes it in batches (Neo4j imports,
and undoing a large change on Neo4j): such a change is recorded as ``running`` before its first
batch, counts its ``committed_batches`` in the transaction of each batch, and becomes ``complete``
only after the last. One that stopped (an error, Ctrl-C) is marked ``interrupted``; one whose process
was killed stays ``running``. Both keep what they committed, which ``undo`` removes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .facts import Alias, Fact, Triple

COMPLETE, RUNNING, INTERRUPTED = "complete", "running", "interrupted"
CHANGE_STATES = (COMPLETE, RUNNING, INTERRUPTED)

_CHANGE_SCALARS = ("id", "op", "summary", "created_at", "undoes", "undone_by", "added_count")
CHANGE_COLUMNS = (*_CHANGE_SCALARS, "payload")  # a change's stored form, in both stores
# Only batched changes have these; a store that never batches (the embedded one) need not keep them,
# and a record without them reads as complete.
BATCH_COLUMNS = ("removed_count", "state", "committed_batches", "total_batches")


@dataclass(frozen=True)
class Change:
    """One entry of the change log. ``undo`` applies its inverse as a new change.

    Both stores keep a change in one stored form, :meth:`to_record` (written) and
    :meth:`from_record` (read): the scalar fields, and the facts and aliases it removed and added
    as one JSON ``payload``. A batched change (``total_batches`` set, or any import) lists its facts
    per batch instead; a store's ``get_change`` reads them all back.
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
    removed_count: int = 0  # how many facts it removed (a batched change lists them per batch)
    state: str = COMPLETE  # complete | running | interrupted
    committed_batches: int | None = None
    total_batches: int | None = None  # None where the number of batches was not known in advance

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    @property
    def batched(self) -> bool:
        """Written in several transactions: the facts it added carry its id (``facts_created_by``)."""
        return self.op == "import" or self.total_batches is not None or self.committed_batches is not None

    def progress_note(self) -> str:
        """Empty for a complete change, else what is known of how far it got, for history and check."""
        if self.complete:
            return ""
        total = "an unknown number of" if self.total_batches is None else str(self.total_batches)
        done = f"{self.committed_batches or 0} of {total} batches committed"
        if self.state == INTERRUPTED:
            return f"interrupted: {done}"
        return f"unfinished: {done} (still running, or its process was killed)"

    def to_dict(self, *, with_facts: bool = True) -> dict:
        out = {name: getattr(self, name) for name in (*_CHANGE_SCALARS, *BATCH_COLUMNS)}
        out.update(
            removed_count=self.removed_count or len(self.removed),
            added_count=self.added_count or len(self.added),
        )
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

    def to_record(self, *, with_facts: bool = True) -> dict:
        """The stored form: one value per name in ``CHANGE_COLUMNS`` and ``BATCH_COLUMNS``. Without
        ``with_facts`` the payload is empty (a batched change stores its facts per batch)."""
        record = {name: getattr(self, name) for name in (*_CHANGE_SCALARS, *BATCH_COLUMNS)}
        payload = self._payload() if with_facts else {}
        return {**record, "payload": json.dumps(payload, ensure_ascii=False)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], parts: Sequence[str] = ()) -> Change:
        """A change from its stored form, read by name (a dict, a Neo4j map or a ``sqlite3.Row``);
        ``parts`` are the JSON payloads of a batched change's batches, in order."""
        names = set(record.keys())
        batch = {name: record[name] for name in BATCH_COLUMNS if name in names and record[name] is not None}
        lists: dict[str, list] = {"removed": [], "added": [], "aliases_added": [], "aliases_removed": []}
        for payload in (record["payload"], *parts):
            for key, items in json.loads(payload or "{}").items():
                lists[key] += items
        batch.setdefault("removed_count", len(lists["removed"]))  # a store that keeps no count
        return cls(
            **{name: record[name] for name in _CHANGE_SCALARS},
            **batch,
            removed=tuple(Fact.from_dict(f) for f in lists["removed"]),
            added=tuple(Fact.from_dict(f) for f in lists["added"]),
            aliases_added=tuple(Alias.from_dict(a) for a in lists["aliases_added"]),
            aliases_removed=tuple(Alias.from_dict(a) for a in lists["aliases_removed"]),
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

    @property
    def size(self) -> int:
        """Facts it removes and adds: what decides whether a store writes it in batches."""
        return len(self.removed) + len(self.added)

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
            removed_count=len(self.removed),
        )


@dataclass(frozen=True)
class ImportReport:
    """What a bulk import did. ``committed_batches`` matters only for stores that commit per batch.
    An empty input logs no change: ``change_id`` is None and every count 0."""

    change_id: int | None
    read: int
    added: int
    duplicates: int
    committed_batches: int = 0
    total_batches: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)
