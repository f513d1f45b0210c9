"""Opening the embedded store's SQLite file: its schema, and read-write or read-only connections.

A store whose directory or database file cannot be written (a read-only mount, another user's files,
permissions) is still readable. SQLite needs care there because the store runs in WAL mode: a reader
keeps its place in the ``-shm`` file beside the database, so

- ``mode=ro`` works when the ``-wal`` and ``-shm`` files exist (a writer is running or was killed) or
  when the directory is writable (SQLite creates them);
- otherwise (a read-only directory after a clean close, which leaves neither file) only
  ``immutable=1`` opens it; that ignores any WAL, which is right because there is none;
- a read-only directory holding a ``-wal`` but no ``-shm`` cannot be read correctly at all (the log's
  changes would be invisible): that is an error saying so, never silently stale answers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from .errors import StoreNotFoundError, StoreUnavailableError

logger = logging.getLogger(__name__)

DB_FILE = "kg.sqlite"
SCHEMA_VERSION = "1"
CREATE_HINT = "`lmlm kg import` or `lmlm kg set` creates one"

SCHEMA = """
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


def open_database(directory: Path, *, create: bool, read_only: bool) -> tuple[sqlite3.Connection, str | None]:
    """A connection to ``directory/kg.sqlite`` and, when it is read-only, why (else None).

    ``create`` makes the directory and the database if they are missing; without it a missing store
    raises StoreNotFoundError. ``read_only`` opens read-only whatever the permissions; without it the
    store opens read-only by itself when its files cannot be written.
    """
    path = directory / DB_FILE
    if directory.suffix in {".sqlite", ".db"}:
        raise StoreUnavailableError(f"{directory}: give the store's directory, not a database file")
    if directory.exists() and not directory.is_dir():
        raise StoreUnavailableError(f"{directory}: exists and is not a directory")
    if not path.exists() and (read_only or not create):
        what = "no such directory" if not directory.exists() else f"no {DB_FILE} in this directory"
        raise StoreNotFoundError(f"{directory}: no store here ({what}); {CREATE_HINT}")
    reason = "opened read-only" if read_only else _unwritable(directory, path)
    if reason is not None and not path.exists():
        raise StoreUnavailableError(f"{directory}: cannot create the store: {reason}")
    try:
        if reason is None:
            return _open_writable(directory, path), None
        db = _open_read_only(path)
    except sqlite3.DatabaseError as e:
        raise StoreUnavailableError(f"{path}: cannot open the store: {e}") from e
    logger.info("%s: read-only (%s)", directory, reason)
    return db, reason


def _unwritable(directory: Path, path: Path) -> str | None:
    """Why the store's files cannot be written, or None when they can. A new store is made here."""
    if not directory.exists():
        try:
            directory.mkdir(parents=True)
        except OSError as e:
            raise StoreUnavailableError(f"{directory}: cannot create the store: {e.strerror or e}") from e
    # WAL mode writes two files beside the database, so the directory itself must be writable.
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"no write permission on {directory}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"no write permission on {path}"
    return None


def _open_writable(directory: Path, path: Path) -> sqlite3.Connection:
    db = _connect(str(path))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    db.executescript(SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    return db


def _open_read_only(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    try:
        db = _connect(uri + "?mode=ro", uri=True)
        _check_schema(db, path)
        return db
    except sqlite3.OperationalError:  # no -shm and no way to make one: see the module docstring
        pass
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreUnavailableError(
            f"{path}: cannot be read without write access: its write-ahead log {wal.name} holds changes "
            "that only a writer can fold in (open the store once where it can be written)"
        )
    db = _connect(uri + "?immutable=1", uri=True)
    _check_schema(db, path)
    return db


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30, uri=uri)
    db.row_factory = sqlite3.Row
    return db


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    try:
        db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            db.close()
            raise StoreUnavailableError(f"{path}: not an LMLM store (no meta table)") from e
        db.close()
        raise
