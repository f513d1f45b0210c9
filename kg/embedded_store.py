"""The embedded default store: one SQLite file in a directory, no server.

SQLite gives durability and transactions from the standard library: an edit or a whole import is
one transaction, so a failed or killed import leaves the store as it was. WAL mode lets readers
(exact lookups, the app) work while a writer imports. A store whose files cannot be written opens
read-only (see :mod:`lmlm.kg.sqlite_open`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .changes import CHANGE_COLUMNS, Change, ChangeDraft, ImportReport
from .errors import FactNotFoundError, ImportInterruptedError, KnowledgeStoreError
from .facts import FACT_FIELDS, Alias, Fact, Triple, fact_id_from_keys, normalize_key
from .sqlite_open import DB_FILE, open_database
from .store import Key, KnowledgeStore, StoreStats

logger = logging.getLogger(__name__)

# Rows come back as sqlite3.Row and are read by column name (Fact.from_dict, Change.from_record).
_FACT_COLUMNS = ", ".join(FACT_FIELDS)
_CHANGE_COLUMNS = ", ".join(CHANGE_COLUMNS)
_UPDATE_CHANGE = (
    "UPDATE changes SET " + ", ".join(f"{c} = :{c}" for c in CHANGE_COLUMNS if c != "id") + " WHERE id = :id"
)
_INSERT_FACT = (
    "INSERT OR IGNORE INTO facts (id, entity, relation, value, entity_key, relation_key, value_key,"
    " source, annotator, created_at, change_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class EmbeddedStore(KnowledgeStore):
    """Facts in ``<directory>/kg.sqlite``. Safe to share between threads (one lock per store).

    ``create``: make the store if there is none (else StoreNotFoundError). ``read_only``: never write;
    without it, a store whose files cannot be written opens read-only by itself, and its writes raise
    ReadOnlyStoreError saying why.
    """

    backend = "embedded"

    def __init__(self, directory: str | Path, *, create: bool = True, read_only: bool = False):
        self.directory = Path(directory).expanduser()
        self._lock = threading.RLock()
        self._db, self._read_only_reason = open_database(self.directory, create=create, read_only=read_only)

    # ---------------------------------------------------------------- plumbing
    @property
    def location(self) -> str:
        return str(self.directory.resolve())

    def _query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
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
                return [[Fact.from_dict(r) for r in cur.execute(sql, key)] for key in keys]
            except sqlite3.Error as e:
                raise KnowledgeStoreError(f"{self.location}: {e}") from e

    def get_facts(self, fact_ids: Sequence[str]) -> dict[str, Fact]:
        out: dict[str, Fact] = {}
        ids = list(dict.fromkeys(fact_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT {_FACT_COLUMNS} FROM facts WHERE id IN ({marks})", chunk):
                fact = Fact.from_dict(row)
                out[fact.id] = fact
        return out

    def facts_of_entity_keys(self, entity_keys: Sequence[str], *, as_value: bool = False) -> list[Fact]:
        column = "value_key" if as_value else "entity_key"
        facts: list[Fact] = []
        for key in dict.fromkeys(entity_keys):
            rows = self._query(f"SELECT {_FACT_COLUMNS} FROM facts WHERE {column} = ? ORDER BY seq", (key,))
            facts += [Fact.from_dict(r) for r in rows]
        return sorted(facts, key=lambda f: f.seq)

    def facts_created_by(self, change_id: int) -> list[Fact]:
        rows = self._query(
            f"SELECT {_FACT_COLUMNS} FROM facts WHERE change_id = ? ORDER BY seq", (change_id,)
        )
        return [Fact.from_dict(r) for r in rows]

    def alias_targets(self, alias_keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        keys = list(alias_keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT alias_key, entity_key FROM aliases WHERE alias_key IN ({marks})", chunk
            )
            out.update((r["alias_key"], r["entity_key"]) for r in rows)
        return out

    def list_aliases(self, entity_key: str | None = None) -> list[Alias]:
        if entity_key is None:
            rows = self._query("SELECT alias, entity FROM aliases ORDER BY alias_key")
        else:
            rows = self._query(
                "SELECT alias, entity FROM aliases WHERE entity_key = ? ORDER BY alias_key", (entity_key,)
            )
        return [Alias.from_dict(r) for r in rows]

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
        names = [r["entity"] for r in rows]
        aliases = self._query(
            f"SELECT alias FROM aliases WHERE {alias_where} ORDER BY alias_key LIMIT ?", (*params, limit)
        )
        return (names + [r["alias"] for r in aliases])[:limit]

    def iter_facts(self, batch_size: int = 10_000) -> Iterator[Fact]:
        after = 0
        while True:
            rows = self._query(
                f"SELECT {_FACT_COLUMNS} FROM facts WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch_size)
            )
            if not rows:
                return
            facts = [Fact.from_dict(r) for r in rows]
            yield from facts
            after = facts[-1].seq

    def stats(self) -> StoreStats:
        [counts] = self._query(
            "SELECT COUNT(*) AS facts, COUNT(DISTINCT entity_key) AS entities,"
            ' COUNT(DISTINCT relation_key) AS relations, COUNT(DISTINCT value_key) AS "values",'
            " (SELECT COUNT(*) FROM aliases) AS aliases, (SELECT COUNT(*) FROM changes) AS changes"
            " FROM facts"
        )
        size = sum(p.stat().st_size for p in self.directory.glob(DB_FILE + "*"))
        return StoreStats(
            **{name: counts[name] for name in counts.keys()},
            backend=self.backend,
            location=self.location,
            extra={"bytes": size},
        )

    # ---------------------------------------------------------------- change log
    def get_change(self, change_id: int) -> Change:
        rows = self._query(f"SELECT {_CHANGE_COLUMNS} FROM changes WHERE id = ?", (change_id,))
        if not rows:
            raise FactNotFoundError(f"no change with id {change_id}")
        return Change.from_record(rows[0])

    def history(self, limit: int = 50, *, since: int | None = None) -> list[Change]:
        if since is None:
            sql, params = f"SELECT {_CHANGE_COLUMNS} FROM changes ORDER BY id DESC LIMIT ?", (limit,)
        else:
            sql = f"SELECT {_CHANGE_COLUMNS} FROM changes WHERE id > ? ORDER BY id LIMIT ?"
            params = (since, limit)
        return [Change.from_record(r) for r in self._query(sql, params)]

    def last_change_id(self) -> int:
        [row] = self._query("SELECT COALESCE(MAX(id), 0) AS last FROM changes")
        return row["last"]

    # ---------------------------------------------------------------- writing
    def _transaction(self):
        return _Transaction(self)

    def _apply(self, draft: ChangeDraft) -> Change:
        now = time.time()
        with self._transaction() as cur:
            # a placeholder row numbers the change; the whole record replaces it below
            cur.execute("INSERT INTO changes (op, summary, created_at, payload) VALUES ('', '', 0, '{}')")
            change_id = cur.lastrowid
            cur.executemany("DELETE FROM facts WHERE id = ?", [(f.id,) for f in draft.removed])
            added = []
            for new in draft.new_facts(now):
                fact = replace(new, change_id=change_id)
                cur.execute("DELETE FROM facts WHERE id = ?", (fact.id,))
                cur.execute(_INSERT_FACT, _fact_row(fact))
                added.append(replace(fact, seq=cur.lastrowid))
            cur.executemany(
                "DELETE FROM aliases WHERE alias_key = ?", [(a.alias_key,) for a in draft.aliases_removed]
            )
            cur.executemany(
                "INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)",
                [(a.alias_key, a.alias, a.entity_key, a.entity) for a in draft.aliases_added],
            )
            change = draft.committed(change_id, now, added)
            cur.execute(_UPDATE_CHANGE, change.to_record())
            if draft.undoes is not None:
                cur.execute("UPDATE changes SET undone_by = ? WHERE id = ?", (change_id, draft.undoes))
        return change

    def _import(
        self, triples: Iterable[Triple], *, summary: str, batch_size: int, progress: bool
    ) -> ImportReport:
        start = time.perf_counter()
        read = added = batches = 0
        bar = _progress_bar(progress, "import")
        try:
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
        except (Exception, KeyboardInterrupt) as e:  # the transaction has rolled back
            report = ImportReport(None, read, 0, 0, 0, batches, time.perf_counter() - start)
            raise ImportInterruptedError(
                f"{self.location}: import stopped after reading {read} rows; nothing was committed "
                f"(one transaction): {type(e).__name__}: {e}",
                report,
            ) from e
        finally:
            bar.close()
        return ImportReport(
            change_id, read, added, read - added, batches, batches, time.perf_counter() - start
        )

    def clear(self) -> None:
        self.require_writable("clear the store")
        with self._transaction() as cur:
            for table in ("facts", "aliases", "changes"):
                cur.execute(f"DELETE FROM {table}")  # table names from this fixed tuple

    def _check_backend(self) -> list[str]:
        problems = [
            f"sqlite: {r['quick_check']}"
            for r in self._query("PRAGMA quick_check")
            if r["quick_check"] != "ok"
        ]
        for r in self._query(
            "SELECT id, change_id FROM facts WHERE change_id IS NOT NULL"
            " AND change_id NOT IN (SELECT id FROM changes) LIMIT 20"
        ):
            problems.append(f"fact {r['id']} names change {r['change_id']}, which is not in the log")
        for r in self._query(
            "SELECT a.alias, a.entity FROM aliases a JOIN aliases b ON a.entity_key = b.alias_key LIMIT 20"
        ):
            problems.append(f"alias {r['alias']!r} points to {r['entity']!r}, which is itself an alias")
        return problems


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception (also KeyboardInterrupt)."""

    def __init__(self, store: EmbeddedStore):
        self.store = store

    def __enter__(self) -> sqlite3.Cursor:
        self.store.require_writable("write")
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
