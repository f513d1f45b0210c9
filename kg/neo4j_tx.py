"""The Neo4j store's transaction functions: each runs inside one write transaction that the driver
retries as a whole (``session.execute_write(work, ...)``), so each is all or nothing.

A change written in batches (an import, a large undo) is recorded ``running`` by
:func:`create_change` before its first batch; each batch updates the change's progress in its own
transaction (:func:`update_progress`), so after a kill the record says exactly what committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from hashlib import blake2b

from .changes import Change, ChangeDraft
from .cypher_queries import load_query
from .errors import KnowledgeStoreError
from .facts import Alias, Fact, Triple

COUNTERS = "counters"  # name of the LmlmMeta node holding next_seq / next_change


@lru_cache(maxsize=1 << 16)
def key_hash(key: str) -> str:
    """The indexed stand-in for a normalised key: 32 hex characters, whatever the key's length."""
    return blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def run(tx, name: str, params: dict) -> list[dict]:
    """Run the query file ``cypher/<name>.cypher`` in ``tx``; its records as dicts."""
    return tx.run(load_query(name), params).data()


def reserve(tx, seq_count: int, change_count: int) -> tuple[int, int]:
    """The first of ``seq_count`` new fact seq numbers, and the first of ``change_count`` change ids."""
    [rec] = run(tx, "reserve_ids", {"name": COUNTERS, "seq_count": seq_count, "change_count": change_count})
    return rec["first_seq"], rec["change_id"]


def create_change(tx, change: Change) -> int:
    """Number and record a batched change (facts not listed: they follow per batch); its id."""
    _, change_id = reserve(tx, 0, 1)
    run(tx, "create_change", replace(change, id=change_id).to_record(with_facts=False))
    return change_id


def update_progress(tx, change: Change) -> None:
    """Record a batched change's state and counts (in the transaction of the batch they count)."""
    params = {name: getattr(change, name) for name in ("id", "state", "committed_batches", "total_batches")}
    run(
        tx, "update_change_progress", {**params, "added": change.added_count, "removed": change.removed_count}
    )


def merge_import_batch(tx, batch: FactBatch, progress: Change) -> int:
    """Add one batch of an import and count it in the change record; how many facts were new."""
    first_seq, _ = reserve(tx, len(batch), 0)
    [rec] = run(tx, "merge_facts_batch", batch.params(range(first_seq, first_seq + len(batch))))
    update_progress(tx, replace(progress, added_count=progress.added_count + rec["added"]))
    return rec["added"]


def remove_part(tx, change_id: int, part: int, facts: Sequence[Fact], progress: Change) -> None:
    """One batch of a batched change's removals, listed as part ``part`` of its record."""
    touched: set[str] = set()
    for rec in run(tx, "delete_facts_by_ids", {"ids": [f.id for f in facts]}):
        touched.update((rec["ekh"], rec["vkh"]))
    run(tx, "delete_orphan_entities", {"khs": sorted(touched)})
    _create_part(tx, change_id, part, {"removed": [f.to_dict() for f in facts]})
    update_progress(tx, progress)


def add_part(tx, change_id: int, part: int, new: Sequence[Fact], progress: Change) -> list[Fact]:
    """One batch of a batched change's additions (facts restored by undo), as part ``part``."""
    first_seq, _ = reserve(tx, len(new), 0)
    stored = [replace(f, seq=first_seq + i, change_id=change_id) for i, f in enumerate(new)]
    run(tx, "delete_orphan_entities", {"khs": sorted(_write_facts(tx, change_id, stored))})
    _create_part(tx, change_id, part, {"added": [f.to_dict() for f in stored]})
    update_progress(tx, replace(progress, added_count=progress.added_count + len(stored)))
    return stored


def finish_change(tx, change: Change) -> None:
    """Mark a batched change complete (or interrupted) and, if it is an undo, its target undone."""
    update_progress(tx, change)
    if change.undoes is not None and change.complete:
        run(tx, "mark_change_undone", {"id": change.id, "undoes": change.undoes})


def apply_draft(tx, draft: ChangeDraft, new: list[Fact], now: float) -> Change:
    """The whole of one edit, in the caller's transaction (see KnowledgeStore._apply)."""
    first_seq, change_id = reserve(tx, len(new), 1)
    stored = [replace(f, seq=first_seq + i, change_id=change_id) for i, f in enumerate(new)]
    touched: set[str] = set()
    for rec in run(tx, "delete_facts_by_ids", {"ids": [f.id for f in draft.removed]}):
        touched.update((rec["ekh"], rec["vkh"]))
    touched |= _write_facts(tx, change_id, stored)
    alias_khs = list(dict.fromkeys(key_hash(a.alias_key) for a in draft.aliases_removed))
    for rec in run(tx, "delete_aliases", {"khs": alias_khs}):
        touched.update(rec["target_khs"])
    for rec in run(tx, "merge_aliases", {"aliases": [_alias_row(a) for a in draft.aliases_added]}):
        touched.update(rec["previous_khs"])
    run(tx, "delete_orphan_entities", {"khs": sorted(touched)})
    change = draft.committed(change_id, now, stored)
    run(tx, "create_change", change.to_record())
    if draft.undoes is not None:
        run(tx, "mark_change_undone", {"id": change_id, "undoes": draft.undoes})
    return change


def _write_facts(tx, change_id: int, stored: Sequence[Fact]) -> set[str]:
    """Add facts that already have their seq; a stored fact of the same id goes first (as the
    embedded store replaces it). Returns the key hashes of the nodes such facts left, which the
    caller drops at the end if nothing uses them any more."""
    touched: set[str] = set()
    for rec in run(tx, "delete_facts_by_ids", {"ids": [f.id for f in stored]}):
        touched.update((rec["ekh"], rec["vkh"]))
    batch = FactBatch()
    for f in stored:
        batch.add(f.id, f, f.relation_key, f.created_at, change_id, f.entity_key, f.value_key)
    [rec] = run(tx, "merge_facts_batch", batch.params([f.seq for f in stored]))
    if rec["added"] != len(stored):
        raise KnowledgeStoreError(
            f"change {change_id}: added {rec['added']} of {len(stored)} facts; rolled back"
        )
    return touched


def _create_part(tx, change_id: int, part: int, payload: dict) -> None:
    params = {"change_id": change_id, "n": part, "payload": json.dumps(payload, ensure_ascii=False)}
    run(tx, "create_change_part", params)


class FactBatch:
    """Facts to add, as the parallel lists that merge_facts_batch.cypher takes."""

    COLUMNS = (
        "ids", "entities", "relations", "relation_keys", "values", "sources", "annotators",
        "created_ats", "change_ids", "ekhs", "ekeys", "vkhs", "vkeys",
    )  # fmt: skip

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in self.COLUMNS}

    def __len__(self) -> int:
        return len(self.columns["ids"])

    def add(
        self,
        fact_id: str,
        t: Triple | Fact,
        relation_key: str,
        created_at: float,
        change_id: int,
        ek: str,
        vk: str,
    ) -> None:
        row = (
            fact_id, t.entity, t.relation, relation_key, t.value, t.source, t.annotator,
            created_at, change_id, key_hash(ek), ek, key_hash(vk), vk,
        )  # fmt: skip
        for column, value in zip(self.columns.values(), row, strict=True):
            column.append(value)

    def params(self, seqs: Iterable[int]) -> dict[str, list]:
        return {**self.columns, "seqs": list(seqs)}


def _alias_row(a: Alias) -> dict:
    ak, ek = a.alias_key, a.entity_key
    return {
        "akh": key_hash(ak),
        "akey": ak,
        "alias": a.alias,
        "ekh": key_hash(ek),
        "ekey": ek,
        "entity": a.entity,
    }
