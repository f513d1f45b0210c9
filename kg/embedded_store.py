"""The embedded default store: one SQLite file in a directory, no server.

SQLite gives durability and transactions from the standard library: an edit or a whole import is
one transaction, so a failed or killed import leaves the store as it was. WAL mode lets readers
(exact lookups, the app) work while a writer imports.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .errors import FactNotFoundError, KnowledgeStoreError, StoreUnavailableError
from .facts import Alias, Fact, Triple, fact_id_from_keys, normalize_key
from .store import Change, ChangeDraft, ImportReport, Key, KnowledgeStore, StoreStats

logger = logging.getLogger(__name__)

DB_FILE = "kg.sqlite"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: larger is newer
    id           TEXT NOT NULL UNIQUE,
    entity       TEXT NOT NULL,
    relation     TEXT NOT NULL,
    value        TEXT NOT NULL,
    entity_key   TEXT NOT NULL,
    relation_key TEXT NOT NULL,
    value_key    TEXT NOT NULL,
    source       TEXT,
    annotator    TEXT,
    created_at   REAL NOT NULL,
    change_id    INTEGER
);
CREATE INDEX IF NOT EXISTS facts_by_key ON facts (entity_key, relation_key, seq);
CREATE INDEX IF NOT EXISTS facts_by_value ON facts (value_key);
CREATE INDEX IF NOT EXISTS facts_by_change ON facts (change_id);
CREATE TABLE IF NOT EXISTS aliases (
    alias_key  TEXT PRIMARY KEY,
    alias      TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    entity     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_by_entity ON aliases (entity_key);
CREATE TABLE IF NOT EXISTS changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    op          TEXT NOT NULL,
    summary     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    undoes      INTEGER,
    undone_by   INTEGER,
    added_count INTEGER NOT NULL DEFAULT 0,
    payload     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_FACT_COLUMNS = "id, entity, relation, value, source, annotator, created_at, seq, change_id"
_INSERT_FACT = (
    "INSERT OR IGNORE INTO facts (id, entity, relation, value, entity_key, relation_key, value_key,"
    " source, annotator, created_at, change_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row_to_fact(row: tuple) -> Fact:
    return Fact(*row)


class EmbeddedStore(KnowledgeStore):
    """Facts in ``<directory>/kg.sqlite``. Safe to share between threads (one lock per store)."""

    backend = "embedded"

    def __init__(self, directory: str | Path, *, create: bool = True):
        self.directory = Path(directory).expanduser()
        if self.directory.suffix in {".sqlite", ".db"}:
            raise StoreUnavailableError(f"{self.directory}: give the store's directory, not a database file")
        if not self.directory.exists():
            if not create:
                raise StoreUnavailableError(f"{self.directory}: no such store")
            self.directory.mkdir(parents=True, exist_ok=True)
        elif not self.directory.is_dir():
            raise StoreUnavailableError(f"{self.directory}: exists and is not a directory")
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.directory / DB_FILE, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as e:
            raise StoreUnavailableError(f"{self.directory / DB_FILE}: cannot open the store: {e}") from e

    # ---------------------------------------------------------------- plumbing
    @property
    def location(self) -> str:
        return str(self.directory.resolve())

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise KnowledgeStoreError(f"{self.location}: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---------------------------------------------------------------- reading
    def facts_by_keys(self, keys: Sequence[Key]) -> list[list[Fact]]:
        sql = f"SELECT {_FACT_COLUMNS} FROM facts WHERE entity_key = ? AND relation_key = ? ORDER BY seq DESC"
        with self._lock:
            cur = self._db.cursor()
            try:
                return [[_row_to_fact(r) for r in cur.execute(sql, key)] for key in keys]
            except sqlite3.Error as e:
                raise KnowledgeStoreError(f"{self.location}: {e}") from e

    def get_facts(self, fact_ids: Sequence[str]) -> dict[str, Fact]:
        out: dict[str, Fact] = {}
        ids = list(dict.fromkeys(fact_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT {_FACT_COLUMNS} FROM facts WHERE id IN ({marks})", chunk):
                out[row[0]] = _row_to_fact(row)
        return out

    def facts_of_entity_keys(self, entity_keys: Sequence[str], *, as_value: bool = False) -> list[Fact]:
        column = "value_key" if as_value else "entity_key"
        facts: list[Fact] = []
        for key in dict.fromkeys(entity_keys):
            rows = self._query(f"SELECT {_FACT_COLUMNS} FROM facts WHERE {column} = ? ORDER BY seq", (key,))
            facts += [_row_to_fact(r) for r in rows]
        return sorted(facts, key=lambda f: f.seq)

    def facts_created_by(self, change_id: int) -> list[Fact]:
        rows = self._query(
            f"SELECT {_FACT_COLUMNS} FROM facts WHERE change_id = ? ORDER BY seq", (change_id,)
        )
        return [_row_to_fact(r) for r in rows]

    def alias_targets(self, alias_keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        keys = list(alias_keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(
                self._query(f"SELECT alias_key, entity_key FROM aliases WHERE alias_key IN ({marks})", chunk)
            )
        return out

    def list_aliases(self, entity_key: str | None = None) -> list[Alias]:
        if entity_key is None:
            rows = self._query("SELECT alias, entity FROM aliases ORDER BY alias_key")
        else:
            rows = self._query(
                "SELECT alias, entity FROM aliases WHERE entity_key = ? ORDER BY alias_key", (entity_key,)
            )
        return [Alias(*r) for r in rows]

    def search_entities(self, text: str, *, mode: str = "substring", limit: int = 20) -> list[str]:
        if mode not in ("substring", "prefix"):
            raise ValueError(f"mode must be 'substring' or 'prefix', got {mode!r}")
        key = normalize_key(text)
        if mode == "prefix":
            where, params = "entity_key >= ? AND entity_key < ?", (key, key + "\U0010ffff")
            alias_where = "alias_key >= ? AND alias_key < ?"
        else:
            where, params = "instr(entity_key, ?) > 0", (key,)
            alias_where = "instr(alias_key, ?) > 0"
        rows = self._query(
            f"SELECT entity, MIN(seq) FROM facts WHERE {where} GROUP BY entity_key ORDER BY entity_key LIMIT ?",
            (*params, limit),
        )
        names = [r[0] for r in rows]
        aliases = self._query(
            f"SELECT alias FROM aliases WHERE {alias_where} ORDER BY alias_key LIMIT ?", (*params, limit)
        )
        return (names + [r[0] for r in aliases])[:limit]

    def iter_facts(self, batch_size: int = 10_000) -> Iterator[Fact]:
        after = 0
        while True:
            rows = self._query(
                f"SELECT {_FACT_COLUMNS} FROM facts WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch_size)
            )
            if not rows:
                return
            yield from (_row_to_fact(r) for r in rows)
            after = rows[-1][7]

    def stats(self) -> StoreStats:
        ((facts, entities, relations, values),) = self._query(
            "SELECT COUNT(*), COUNT(DISTINCT entity_key), COUNT(DISTINCT relation_key),"
            " COUNT(DISTINCT value_key) FROM facts"
        )
        ((aliases,),) = self._query("SELECT COUNT(*) FROM aliases")
        ((changes,),) = self._query("SELECT COUNT(*) FROM changes")
        size = sum(p.stat().st_size for p in self.directory.glob(DB_FILE + "*"))
        return StoreStats(
            facts, entities, relations, values, aliases, changes, self.backend, self.location, {"bytes": size}
        )

    # ---------------------------------------------------------------- change log
    def _change_from_row(self, row: tuple) -> Change:
        change_id, op, summary, created_at, undoes, undone_by, added_count, payload = row
        data = json.loads(payload)
        return Change(
            id=change_id,
            op=op,
            summary=summary,
            created_at=created_at,
            removed=tuple(Fact.from_dict(f) for f in data.get("removed", ())),
            added=tuple(Fact.from_dict(f) for f in data.get("added", ())),
            aliases_added=tuple(Alias(**a) for a in data.get("aliases_added", ())),
            aliases_removed=tuple(Alias(**a) for a in data.get("aliases_removed", ())),
            undoes=undoes,
            undone_by=undone_by,
            added_count=added_count,
        )

    _CHANGE_COLUMNS = "id, op, summary, created_at, undoes, undone_by, added_count, payload"

    def get_change(self, change_id: int) -> Change:
        rows = self._query(f"SELECT {self._CHANGE_COLUMNS} FROM changes WHERE id = ?", (change_id,))
        if not rows:
            raise FactNotFoundError(f"no change with id {change_id}")
        return self._change_from_row(rows[0])

    def history(self, limit: int = 50, *, since: int | None = None) -> list[Change]:
        if since is None:
            sql, params = f"SELECT {self._CHANGE_COLUMNS} FROM changes ORDER BY id DESC LIMIT ?", (limit,)
        else:
            sql = f"SELECT {self._CHANGE_COLUMNS} FROM changes WHERE id > ? ORDER BY id LIMIT ?"
            params = (since, limit)
        return [self._change_from_row(r) for r in self._query(sql, params)]

    def last_change_id(self) -> int:
        ((last,),) = self._query("SELECT COALESCE(MAX(id), 0) FROM changes")
        return last

    # ---------------------------------------------------------------- writing
    def _transaction(self):
        return _Transaction(self)

    def _apply(self, draft: ChangeDraft) -> Change:
        now = time.time()
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO changes (op, summary, created_at, undoes, payload) VALUES (?, ?, ?, ?, '{}')",
                (draft.op, draft.summary, now, draft.undoes),
            )
            change_id = cur.lastrowid
            cur.executemany("DELETE FROM facts WHERE id = ?", [(f.id,) for f in draft.removed])
            added = []
            for item in draft.added:
                fact = _as_new_fact(item, now, change_id)
                cur.execute("DELETE FROM facts WHERE id = ?", (fact.id,))
                cur.execute(_INSERT_FACT, _fact_row(fact))
                added.append(Fact(**{**fact.__dict__, "seq": cur.lastrowid}))
            cur.executemany(
                "DELETE FROM aliases WHERE alias_key = ?", [(a.alias_key,) for a in draft.aliases_removed]
            )
            cur.executemany(
                "INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)",
                [(a.alias_key, a.alias, a.entity_key, a.entity) for a in draft.aliases_added],
            )
            payload = {
                "removed": [f.to_dict() for f in draft.removed],
                "added": [f.to_dict() for f in added],
                "aliases_added": [a.to_dict() for a in draft.aliases_added],
                "aliases_removed": [a.to_dict() for a in draft.aliases_removed],
            }
            cur.execute(
                "UPDATE changes SET payload = ?, added_count = ? WHERE id = ?",
                (json.dumps(payload, ensure_ascii=False), len(added), change_id),
            )
            if draft.undoes is not None:
                cur.execute("UPDATE changes SET undone_by = ? WHERE id = ?", (change_id, draft.undoes))
        return self.get_change(change_id)

    def _import(
        self, triples: Iterable[Triple], *, summary: str, batch_size: int, progress: bool
    ) -> ImportReport:
        start = time.perf_counter()
        read = added = 0
        batches = 0
        bar = _progress_bar(progress, "import")
        with self._transaction() as cur:
            now = time.time()
            cur.execute(
                "INSERT INTO changes (op, summary, created_at, payload) VALUES ('import', ?, ?, '{}')",
                (summary, now),
            )
            change_id = cur.lastrowid
            batch: list[tuple] = []
            for triple in triples:
                read += 1
                batch.append(_triple_row(triple, now, change_id))
                if len(batch) >= batch_size:
                    added += _insert_batch(cur, batch)
                    batches += 1
                    bar.update(len(batch))
                    batch = []
            if batch:
                added += _insert_batch(cur, batch)
                batches += 1
                bar.update(len(batch))
            cur.execute("UPDATE changes SET added_count = ? WHERE id = ?", (added, change_id))
        bar.close()
        return ImportReport(
            change_id, read, added, read - added, batches, batches, time.perf_counter() - start
        )

    def clear(self) -> None:
        with self._transaction() as cur:
            for table in ("facts", "aliases", "changes"):
                cur.execute(f"DELETE FROM {table}")  # table names from this fixed tuple

    def _check_backend(self) -> list[str]:
        problems = [f"sqlite: {r[0]}" for r in self._query("PRAGMA quick_check") if r[0] != "ok"]
        for fact_id, change_id in self._query(
            "SELECT id, change_id FROM facts WHERE change_id IS NOT NULL"
            " AND change_id NOT IN (SELECT id FROM changes) LIMIT 20"
        ):
            problems.append(f"fact {fact_id} names change {change_id}, which is not in the log")
        for alias, target in self._query(
            "SELECT a.alias, a.entity FROM aliases a JOIN aliases b ON a.entity_key = b.alias_key LIMIT 20"
        ):
            problems.append(f"alias {alias!r} points to {target!r}, which is itself an alias")
        return problems


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception (also KeyboardInterrupt)."""

    def __init__(self, store: EmbeddedStore):
        self.store = store

    def __enter__(self) -> sqlite3.Cursor:
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self.store._lock.release()
            raise KnowledgeStoreError(f"{self.store.location}: cannot start a write: {e}") from e
        return self.store._db.cursor()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.store._db.execute("COMMIT")
            else:
                self.store._db.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise KnowledgeStoreError(f"{self.store.location}: {e}") from e
        finally:
            self.store._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise KnowledgeStoreError(f"{self.store.location}: {exc}") from exc


def _as_new_fact(item: Triple | Fact, now: float, change_id: int) -> Fact:
    if isinstance(item, Fact):  # restored by undo: keeps id, time and provenance
        return Fact(**{**item.__dict__, "change_id": change_id})
    return Fact(
        item.fact_id, item.entity, item.relation, item.value, item.source, item.annotator, now, 0, change_id
    )


def _fact_row(f: Fact) -> tuple:
    return (
        f.id,
        f.entity,
        f.relation,
        f.value,
        f.entity_key,
        f.relation_key,
        f.value_key,
        f.source,
        f.annotator,
        f.created_at,
        f.change_id,
    )


def _triple_row(t: Triple, now: float, change_id: int) -> tuple:
    ek, rk, vk = normalize_key(t.entity), normalize_key(t.relation), normalize_key(t.value)
    return (
        fact_id_from_keys(ek, rk, vk),
        t.entity,
        t.relation,
        t.value,
        ek,
        rk,
        vk,
        t.source,
        t.annotator,
        now,
        change_id,
    )


def _insert_batch(cur: sqlite3.Cursor, rows: list[tuple]) -> int:
    before = cur.connection.total_changes
    cur.executemany(_INSERT_FACT, rows)
    return cur.connection.total_changes - before


def _progress_bar(enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(desc=desc, unit=" facts", disable=not enabled, mininterval=0.5)
