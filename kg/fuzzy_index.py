"""The fuzzy index of a store: two vector indexes over its keys, kept in step with its change log.

:class:`FuzzyIndex` is what the CLI and the README call "the fuzzy index". It holds two
:class:`~lmlm.kg.vector_index.VectorIndex` (one FAISS index each), side by side in one directory:

- ``keys``: one vector per (entity, relation) key, text ``"{entity} {relation}"`` (the paper's
  ``flat`` mode);
- ``entities``: one vector per subject entity, for the ``structured`` mode, which then compares the
  query's relation with that entity's own relations (their vectors are cached here too).

The index remembers the last change of the store's log it reflects. ``sync`` replays the changes
since then, checking each touched key against the store, so an edit made by any process (CLI, app,
a script) reaches the index; the edit methods of :class:`~lmlm.kg.knowledge_graph.KnowledgeGraph`
sync in the same call. On disk the directory is replaced whole (write aside, then rename), so a
killed process leaves the old, consistent copy, which the next ``sync`` brings up to date.

The index is derived data. One that cannot be read whole (a file truncated or missing, another
embedding model) is rebuilt from the store with a warning. One whose directory cannot be written (a
read-only store) is kept in memory: reads never fail for want of saving it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import FuzzyIndexError
from .facts import Fact
from .store import Change, Key, KnowledgeStore
from .vector_index import VectorIndex

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
REBUILD_AFTER_CHANGES = 10_000  # beyond this many unapplied changes a rebuild is cheaper than replay


def key_id(entity_key: str, relation_key: str = "") -> int:
    """Stable int64 id of a key (an entity alone when ``relation_key`` is empty)."""
    raw = f"{entity_key}\x1f{relation_key}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little", signed=True)


@dataclass(frozen=True)
class KeyEntry:
    entity_key: str
    relation_key: str
    entity: str  # display strings, for the embedded text and for explanations
    relation: str

    @property
    def text(self) -> str:
        return f"{self.entity} {self.relation}"


def _entry(fact: Fact) -> KeyEntry:
    return KeyEntry(fact.entity_key, fact.relation_key, fact.entity, fact.relation)


class KeyHit(NamedTuple):
    """A nearest (entity, relation) key and its cosine to the query."""

    entry: KeyEntry
    score: float


class EntityHit(NamedTuple):
    """A nearest subject entity (its normalised key) and its cosine to the query."""

    entity_key: str
    score: float


class FuzzyIndex:
    """Vector indexes over a store's keys and subject entities. Build with :meth:`open`, keep
    current with :meth:`sync`."""

    def __init__(self, directory: Path, embedder, kind: str = "flat"):
        self.directory = Path(directory)
        self.embedder = embedder
        self.kind = kind
        self.applied_change_id = 0
        self.entries: dict[int, KeyEntry] = {}  # key id -> entry
        self.entity_names: dict[str, str] = {}  # entity key -> display
        self._entity_by_id: dict[int, str] = {}  # entity index id -> entity key
        self.relations_of: dict[str, set[str]] = defaultdict(set)  # entity key -> relation keys
        self.relation_names: dict[str, str] = {}  # relation key -> display
        self._relation_vectors: dict[str, np.ndarray] = {}
        self._keys = None
        self._entities = None
        self.dirty = True  # holds changes not yet saved (a new index is unsaved)
        # sync and rebuild save only where they can; an explicit save() says why it cannot
        self.writable = _can_write_beside(self.directory)

    # ---------------------------------------------------------------- opening and saving
    @classmethod
    def open(cls, directory: str | Path, embedder, kind: str = "flat") -> FuzzyIndex:
        """Load the index in ``directory``, or an empty one if there is none or it is damaged (logged
        as a warning); :meth:`sync` then builds it from the store."""
        index = cls(Path(directory), embedder, kind)
        old = index.directory.parent / (index.directory.name + ".old")
        if not (index.directory / "meta.json").exists() and (old / "meta.json").exists():
            if not index.writable:  # a save was cut short where we cannot finish it: read the old copy
                index.directory = old
            else:
                shutil.rmtree(index.directory, ignore_errors=True)
                os.replace(old, index.directory)
        if not (index.directory / "meta.json").exists():
            return index._emptied()
        try:
            index._load()
        except (FuzzyIndexError, OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            # RuntimeError: what faiss raises on a truncated index file
            logger.warning(
                "%s: the fuzzy index is damaged (%s); rebuilding it from the store (it is derived data)",
                directory,
                _one_line(e),
            )
            return cls(Path(directory), embedder, kind)._emptied()
        index.directory = Path(directory)
        index.dirty = False
        return index

    def _emptied(self) -> FuzzyIndex:
        self._keys = VectorIndex(self.embedder, self.kind)
        self._entities = VectorIndex(self.embedder, self.kind)
        return self

    def _load(self) -> None:
        """Read every file of the index and check them against each other and meta.json."""
        meta = json.loads((self.directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise FuzzyIndexError(f"index format {meta.get('format')} is not {FORMAT_VERSION}")
        self.kind = meta["kind"]
        self.applied_change_id = int(meta["applied_change_id"])
        self._keys = VectorIndex.load(self.directory / "keys", self.embedder)
        self._entities = VectorIndex.load(self.directory / "entities", self.embedder)
        with open(self.directory / "entries.jsonl", encoding="utf-8") as fh:
            for line in fh:
                self._remember(KeyEntry(*json.loads(line)))
        rel_keys = json.loads((self.directory / "relations.json").read_text(encoding="utf-8"))
        vectors = np.zeros((0, 0), dtype=np.float32)
        if rel_keys:
            vectors = np.load(self.directory / "relations.npy", allow_pickle=False)
        counts = {
            "keys": (meta["keys"], len(self.entries), len(self._keys.ids())),
            "entities": (meta["entities"], len(self.entity_names), len(self._entities.ids())),
            "relation vectors": (len(rel_keys), len(vectors) if rel_keys else 0),
        }
        for what, (expected, *found) in counts.items():
            if any(n != expected for n in found):  # e.g. entries.jsonl cut at a line's end
                raise FuzzyIndexError(
                    f"{what}: meta.json or its list says {expected}, the files hold {found}"
                )
        self._relation_vectors = dict(zip(rel_keys, vectors))

    def save(self) -> None:
        """Write the whole index aside and swap it in, so readers never see half an index. Raises
        FuzzyIndexError naming the directory when it cannot be written."""
        try:
            self._write()
        except OSError as e:
            raise FuzzyIndexError(f"{self.directory}: cannot save the fuzzy index: {e.strerror or e}") from e
        self.dirty = False

    def _save_if_possible(self) -> None:
        """Save for sync and rebuild: where the directory cannot be written (a read-only store), keep
        the index in memory instead, so that reading never fails for want of saving."""
        if not self.writable:
            logger.debug("%s: not writable; the fuzzy index stays in memory", self.directory)
            return
        try:
            self.save()
        except FuzzyIndexError as e:
            self.writable = False
            logger.warning("%s; it stays in memory for this process", e)

    def _write(self) -> None:
        tmp = self.directory.parent / (self.directory.name + ".tmp")
        old = self.directory.parent / (self.directory.name + ".old")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self._keys.save(tmp / "keys")
        self._entities.save(tmp / "entities")
        with open(tmp / "entries.jsonl", "w", encoding="utf-8") as fh:
            for e in self.entries.values():
                fh.write(
                    json.dumps([e.entity_key, e.relation_key, e.entity, e.relation], ensure_ascii=False)
                    + "\n"
                )
        rel_keys = list(self._relation_vectors)
        (tmp / "relations.json").write_text(json.dumps(rel_keys, ensure_ascii=False), encoding="utf-8")
        if rel_keys:
            np.save(tmp / "relations.npy", np.stack([self._relation_vectors[k] for k in rel_keys]))
        meta = {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "applied_change_id": self.applied_change_id,
            "keys": len(self.entries),
            "entities": len(self.entity_names),
            "model": self.embedder.name,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            os.replace(self.directory, old)
        os.replace(tmp, self.directory)
        shutil.rmtree(old, ignore_errors=True)

    # ---------------------------------------------------------------- keeping in step
    def sync(self, store: KnowledgeStore, *, show_progress: bool = False, save: bool | None = None) -> int:
        """Apply the store's changes since the last sync; return how many keys changed.

        Saves to disk when many keys changed (or when ``save`` is True); small edits are replayed
        from the change log at the next open instead of rewriting a large index each time.
        """
        last = store.last_change_id()
        if last == self.applied_change_id:
            return 0
        if (
            last < self.applied_change_id
            or last - self.applied_change_id > REBUILD_AFTER_CHANGES
            or (self.applied_change_id == 0 and not self.entries)  # nothing to update: build afresh
        ):
            return self.rebuild(store, show_progress=show_progress)
        # From the applied change itself: if clear() emptied the log since, it is gone, and a
        # replay would miss every fact it deleted (change ids go on from the old ones).
        changes = store.history(limit=REBUILD_AFTER_CHANGES + 2, since=self.applied_change_id - 1)
        if self.applied_change_id and (not changes or changes[0].id != self.applied_change_id):
            logger.info(
                "%s: the change log was cleared since change %d; rebuilding", store, self.applied_change_id
            )
            return self.rebuild(store, show_progress=show_progress)
        touched: set[Key] = set()
        for change in changes[1:] if self.applied_change_id else changes:
            touched.update(self._touched_keys(store, change))
        changed = self._refresh(store, touched, show_progress=show_progress)
        self.applied_change_id = last
        if save or (save is None and changed >= 1_000):
            self._save_if_possible()
        return changed

    def rebuild(self, store: KnowledgeStore, *, show_progress: bool = False) -> int:
        """Index every key of the store from scratch and save."""
        last = store.last_change_id()
        self.entries.clear()
        self.entity_names.clear()
        self._entity_by_id.clear()
        self.relations_of.clear()
        self._keys = VectorIndex(self.embedder, self.kind)
        self._entities = VectorIndex(self.embedder, self.kind)
        newest: dict[Key, Fact] = {}
        for fact in store.iter_facts():
            newest[fact.key] = fact
        self._add(list(newest.values()), show_progress=show_progress)
        self.applied_change_id = last
        self.dirty = True
        self._save_if_possible()
        return len(newest)

    def _touched_keys(self, store: KnowledgeStore, change: Change) -> Iterable[Key]:
        if change.batched and change.op != "import":  # the log lists its facts per batch: read them
            change = store.get_change(change.id)
        facts = list(change.removed) + list(change.added)
        if change.op == "import":
            facts += store.facts_created_by(change.id)
        return (f.key for f in facts)

    def _refresh(self, store: KnowledgeStore, keys: set[Key], *, show_progress: bool) -> int:
        keys_list = sorted(keys)
        present = store.facts_by_keys(keys_list)
        to_add, to_remove = [], []
        for key, facts in zip(keys_list, present):
            kid = key_id(*key)
            if facts and self.entries.get(kid) != _entry(facts[0]):  # new, or newly spelt: as a rebuild
                to_add.append(facts[0])
            if kid in self.entries and (not facts or self.entries[kid] != _entry(facts[0])):
                to_remove.append(kid)
        self._remove(to_remove)
        self._add(to_add, show_progress=show_progress)
        self.dirty = self.dirty or bool(to_add or to_remove)
        return len(to_add) + len(to_remove)

    def _remember(self, entry: KeyEntry) -> None:
        self.entries[key_id(entry.entity_key, entry.relation_key)] = entry
        if entry.entity_key not in self.entity_names:
            self.entity_names[entry.entity_key] = entry.entity
            self._entity_by_id[key_id(entry.entity_key)] = entry.entity_key
        self.relations_of[entry.entity_key].add(entry.relation_key)
        self.relation_names.setdefault(entry.relation_key, entry.relation)

    def _add(self, facts: Sequence[Fact], *, show_progress: bool = False) -> None:
        if not facts:
            return
        entries = [_entry(f) for f in facts]
        new_entities = {e.entity_key: e.entity for e in entries if e.entity_key not in self.entity_names}
        for e in entries:
            self._remember(e)
        ids = np.array([key_id(e.entity_key, e.relation_key) for e in entries], dtype=np.int64)
        self._keys.add(ids, [e.text for e in entries], show_progress=show_progress)
        if new_entities:
            ent_ids = np.array([key_id(k) for k in new_entities], dtype=np.int64)
            self._entities.add(ent_ids, list(new_entities.values()), show_progress=show_progress)

    def _remove(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        gone_entities = []
        for kid in ids:
            entry = self.entries.pop(kid)
            relations = self.relations_of[entry.entity_key]
            relations.discard(entry.relation_key)
            if not relations:
                del self.relations_of[entry.entity_key]
                del self.entity_names[entry.entity_key]
                gone_entities.append(key_id(entry.entity_key))
                del self._entity_by_id[gone_entities[-1]]
        self._keys.remove(np.array(ids, dtype=np.int64))
        if gone_entities:
            self._entities.remove(np.array(gone_entities, dtype=np.int64))

    # ---------------------------------------------------------------- searching
    def search_keys(self, texts: Sequence[str], k: int = 1) -> list[list[KeyHit]]:
        """Nearest (entity, relation) keys of each query text, best first."""
        hits = self._keys.search(list(texts), k=k) if len(self.entries) else [[] for _ in texts]
        return [[KeyHit(self.entries[h.id], h.score) for h in row if h.id in self.entries] for row in hits]

    def search_entities(self, names: Sequence[str], k: int = 1) -> list[list[EntityHit]]:
        """Nearest subject entity keys of each name, best first."""
        if not self.entity_names:
            return [[] for _ in names]
        rows = self._entities.search(list(names), k=k)
        return [
            [EntityHit(self._entity_by_id[h.id], h.score) for h in row if h.id in self._entity_by_id]
            for row in rows
        ]

    def relation_vectors(self, relation_keys: Sequence[str]) -> np.ndarray:
        """Unit vectors of relation names (cached), shaped (n, d)."""
        missing = [rk for rk in dict.fromkeys(relation_keys) if rk not in self._relation_vectors]
        if missing:
            vecs = self.embedder.encode([self.relation_names.get(rk, rk) for rk in missing])
            self._relation_vectors.update(zip(missing, vecs))
        if not relation_keys:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._relation_vectors[rk] for rk in relation_keys])

    def bytes_per_key(self) -> float:
        """Serialised size of the key index per key."""
        return self._keys.bytes_per_key()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(list(texts))

    def check(self, store: KnowledgeStore) -> list[str]:
        """Differences between the indexed keys and the store's keys (after replaying the log)."""
        self.sync(store)
        store_keys = {key_id(*f.key) for f in store.iter_facts()}
        problems = []
        extra = set(self.entries) - store_keys
        missing = store_keys - set(self.entries)
        if extra:
            sample = [self.entries[i].text for i in list(extra)[:3]]
            problems.append(f"fuzzy index holds {len(extra)} keys the store does not have, e.g. {sample}")
        if missing:
            problems.append(f"fuzzy index lacks {len(missing)} keys of the store")
        for what, vectors, listed in (
            ("key", self._keys, set(self.entries)),
            ("entity", self._entities, set(self._entity_by_id)),
        ):
            held = set(vectors.ids().tolist())
            if held != listed:
                problems.append(
                    f"fuzzy {what} index: {len(held - listed)} vectors of no listed {what}, "
                    f"{len(listed - held)} listed {what}s without a vector"
                )
        return problems


def _can_write_beside(directory: Path) -> bool:
    """Whether an index can be saved as ``directory``: its parent (or the nearest folder above that
    exists, which save would create folders in) must be writable."""
    parent = directory.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK | os.X_OK)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
