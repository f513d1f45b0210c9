"""The Neo4j store: the same contract as the embedded one, on a Neo4j 5 server (Community is enough).

Graph model. Every entity and every value is a node ``(:Entity {kh, key, name})``, so an entity that
appears as a value is the same node. ``key`` is the normalised name, ``kh`` a fixed-length hash of it
that carries the unique constraint (range indexes reject entries over ~8 kB, and names can be longer),
``name`` the display string as first seen. A fact is ``(e)-[:FACT {id, entity, relation, relation_key,
value, source, annotator, created_at, seq, change_id}]->(v)``; the relationship keeps the display
strings itself because two spellings of one key share a node. An alias is
``(:Alias {kh, key, name, entity})-[:ALIAS_OF]->(:Entity)``. The change log is ``(:Change {id, op,
summary, created_at, undoes, undone_by, added_count, payload})`` with the removed/added facts and
aliases as JSON, and ``(:LmlmMeta {name: 'counters'})`` hands out seq numbers and change ids inside
each write transaction (its write lock serialises concurrent writers).

Every query is a file in ``cypher/`` (see :mod:`lmlm.kg.cypher_queries`) and takes only parameters.
Reads run in read transactions, writes in write transactions; an edit is one transaction, a bulk
import one transaction per batch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING

from .cypher_queries import load_query, load_statements
from .errors import FactNotFoundError, ImportInterruptedError, KnowledgeStoreError, StoreUnavailableError
from .facts import Alias, Fact, Triple, fact_id_from_keys, normalize_key
from .store import Change, ChangeDraft, ImportReport, Key, KnowledgeStore, StoreStats

if TYPE_CHECKING:
    import neo4j

logger = logging.getLogger(__name__)

COUNTERS = "counters"  # name of the LmlmMeta node holding next_seq / next_change
CHECK_LIMIT = 20  # problems listed per kind by check()
CLEAR_BATCH = 10_000
_SEARCH_QUERIES = {"substring": "search_entities_substring", "prefix": "search_entities_prefix"}


@lru_cache(maxsize=1 << 16)
def key_hash(key: str) -> str:
    """The indexed stand-in for a normalised key: 32 hex characters, whatever the key's length."""
    return blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


class Neo4jStore(KnowledgeStore):
    """Facts in a Neo4j database.

    Either the store makes its own driver from ``uri`` (credentials default to ``NEO4J_USER``, else
    ``neo4j``, and ``NEO4J_PASSWORD``; without a password it connects without auth) and closes it in
    :meth:`close`, or it uses an injected ``driver`` that the caller made and closes (as
    neo4j-graphrag does); ``uri`` then only names the store in messages and in the fuzzy index's
    directory, and defaults to the driver's address.
    """

    backend = "neo4j"

    def __init__(
        self,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str = "neo4j",
        *,
        driver: neo4j.Driver | None = None,
        connect_timeout: float = 5.0,
    ):
        import neo4j  # the optional dependency loads only when a Neo4j store is opened

        self._neo4j = neo4j
        self.database = database
        self._owns_driver = driver is None
        if driver is None:
            if not uri:
                raise ValueError("Neo4jStore needs a uri or a driver")
            self.uri = uri
            self.user = user or os.environ.get("NEO4J_USER") or "neo4j"
            password = password if password is not None else os.environ.get("NEO4J_PASSWORD")
            self._driver = self._connect(password, connect_timeout)
        else:
            if user is not None or password is not None:
                raise ValueError("an injected driver carries its own credentials: give no user or password")
            self.uri = uri or driver_uri(driver)
            self.user = None
            self._driver = driver
        try:
            self._driver.verify_connectivity()
            self._create_schema(timeout_s=300)
        except neo4j.exceptions.AuthError as e:
            self._close_own_driver()
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} rejected the credentials of user {self.user!r} (check NEO4J_USER / NEO4J_PASSWORD)"
            ) from e
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, KnowledgeStoreError) as e:
            self._close_own_driver()
            raise StoreUnavailableError(
                f"cannot open Neo4j at {self.uri} (database {database!r}): {_one_line(e)}"
            ) from e

    def _connect(self, password: str | None, connect_timeout: float) -> neo4j.Driver:
        try:
            return self._neo4j.GraphDatabase.driver(
                self.uri,
                auth=(self.user, password) if password is not None else None,
                connection_timeout=connect_timeout,
                connection_acquisition_timeout=connect_timeout,
                max_transaction_retry_time=max(10.0, 2 * connect_timeout),
                notifications_min_severity="OFF",
                user_agent="lmlm-kg",
            )
        except (ValueError, self._neo4j.exceptions.ConfigurationError) as e:
            raise StoreUnavailableError(f"cannot use Neo4j URI {self.uri!r}: {_one_line(e)}") from e

    def _close_own_driver(self) -> None:
        if self._owns_driver:
            self._driver.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, database={self.database!r})"

    @property
    def location(self) -> str:
        # the URI alone for the default database; "URI#name" otherwise (open_store reads both)
        return self.uri if self.database == "neo4j" else f"{self.uri}#{self.database}"

    def close(self) -> None:
        """Close the driver this store made; an injected driver stays open (its owner closes it)."""
        self._close_own_driver()

    # ---------------------------------------------------------------- plumbing
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Driver errors become store errors that name the server and what was being done."""
        exceptions = self._neo4j.exceptions
        try:
            yield
        except (exceptions.ServiceUnavailable, exceptions.SessionExpired) as e:
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} is unavailable ({action}): {_one_line(e)}"
            ) from e
        except (exceptions.Neo4jError, exceptions.DriverError) as e:
            if getattr(e, "code", None) == "Neo.TransientError.General.MemoryPoolOutOfMemoryError":
                raise KnowledgeStoreError(
                    f"Neo4j at {self.uri}: {action} needs more transaction memory than the server allows "
                    "(dbms.memory.transaction.total.max, 70% of the heap by default); nothing was changed. "
                    "Give Neo4j a larger heap, or make the change in parts"
                ) from e
            raise KnowledgeStoreError(f"Neo4j at {self.uri}: {action} failed: {_one_line(e)}") from e

    def _session(self):
        return self._driver.session(database=self.database)

    def _read(self, name: str, /, **params) -> list[dict]:
        """Run one query file in a read transaction; its records as dicts."""
        with self._errors(name), self._session() as session:
            return session.execute_read(_run, name, params)

    def _read_facts(self, name: str, /, **params) -> list[Fact]:
        """Run a query file that returns each fact as a map named ``fact``."""
        return [Fact.from_dict(rec["fact"]) for rec in self._read(name, **params)]

    def _write(self, work: Callable, *args):
        """Run ``work(tx, *args)`` in one write transaction (retried by the driver on transient errors)."""
        with self._errors(getattr(work, "__name__", "write").lstrip("_")), self._session() as session:
            return session.execute_write(work, *args)

    def _create_schema(self, timeout_s: int) -> None:
        with self._session() as session:
            for statement in load_statements("create_schema"):
                session.execute_write(lambda tx, q=statement: tx.run(q).consume())
            session.execute_read(_run, "await_indexes", {"timeout_s": timeout_s})
            session.execute_write(_run, "merge_counters", {"name": COUNTERS})

    # ---------------------------------------------------------------- reading
    def facts_by_keys(self, keys: Sequence[Key]) -> list[list[Fact]]:
        unique = list(dict.fromkeys(keys))
        found: list[list[Fact]] = [[] for _ in unique]
        if unique:
            params = {"ekhs": [key_hash(ek) for ek, _ in unique], "rkeys": [rk for _, rk in unique]}
            for rec in self._read("match_facts_by_keys", **params):
                found[rec["i"]].append(Fact.from_dict(rec["fact"]))
        for facts in found:
            facts.sort(key=lambda f: f.seq, reverse=True)
        index = {key: i for i, key in enumerate(unique)}
        return [list(found[index[key]]) for key in keys]

    def get_facts(self, fact_ids: Sequence[str]) -> dict[str, Fact]:
        ids = list(dict.fromkeys(fact_ids))
        if not ids:
            return {}
        return {f.id: f for f in self._read_facts("match_facts_by_ids", ids=ids)}

    def facts_of_entity_keys(self, entity_keys: Sequence[str], *, as_value: bool = False) -> list[Fact]:
        khs = [key_hash(k) for k in dict.fromkeys(entity_keys)]
        if not khs:
            return []
        name = "match_facts_of_values" if as_value else "match_facts_of_entities"
        return self._read_facts(name, khs=khs)

    def facts_created_by(self, change_id: int) -> list[Fact]:
        return self._read_facts("match_facts_by_change", change_id=change_id)

    def alias_targets(self, alias_keys: Sequence[str]) -> dict[str, str]:
        khs = [key_hash(k) for k in dict.fromkeys(alias_keys)]
        if not khs:
            return {}
        return {rec["alias_key"]: rec["entity_key"] for rec in self._read("match_alias_targets", khs=khs)}

    def list_aliases(self, entity_key: str | None = None) -> list[Alias]:
        if entity_key is None:
            records = self._read("match_aliases")
        else:
            records = self._read("match_aliases_of_entity", kh=key_hash(entity_key))
        return [Alias.from_dict(rec) for rec in records]

    def search_entities(self, text: str, *, mode: str = "substring", limit: int = 20) -> list[str]:
        if mode not in _SEARCH_QUERIES:
            raise ValueError(f"mode must be 'substring' or 'prefix', got {mode!r}")
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        [rec] = self._read(_SEARCH_QUERIES[mode], text=normalize_key(text), limit=limit)
        return (rec["names"] + rec["aliases"])[:limit]

    def iter_facts(self, batch_size: int = 10_000) -> Iterator[Fact]:
        after = 0
        while True:
            facts = self._read_facts("match_facts_page", after=after, limit=batch_size)
            if not facts:
                return
            yield from facts
            after = facts[-1].seq

    def stats(self) -> StoreStats:
        [rec] = self._read("count_stats")
        return StoreStats(
            facts=rec["facts"],
            entities=rec["entities"],
            relations=rec["relations"],
            values=rec["values"],
            aliases=rec["aliases"],
            changes=rec["changes"],
            backend=self.backend,
            location=self.location,
            extra={"database": self.database, "entity_nodes": rec["nodes"]},
        )

    # ---------------------------------------------------------------- change log
    def get_change(self, change_id: int) -> Change:
        records = self._read("match_change", id=change_id)
        if not records:
            raise FactNotFoundError(f"no change with id {change_id}")
        return Change.from_record(records[0]["change"])

    def history(self, limit: int = 50, *, since: int | None = None) -> list[Change]:
        if since is None:
            records = self._read("match_changes_newest", limit=limit)
        else:
            records = self._read("match_changes_since", since=since, limit=limit)
        return [Change.from_record(rec["change"]) for rec in records]

    def last_change_id(self) -> int:
        [rec] = self._read("match_last_change_id")
        return rec["id"]

    # ---------------------------------------------------------------- writing
    def _apply(self, draft: ChangeDraft) -> Change:
        now = time.time()
        return self._write(_apply_draft, draft, draft.new_facts(now), now)

    def _import(
        self, triples: Iterable[Triple], *, summary: str, batch_size: int, progress: bool
    ) -> ImportReport:
        """One change record first, then one write transaction per ``batch_size`` input rows.

        A failure part-way (reading the input or writing a batch) raises KnowledgeStoreError saying
        how many batches committed; the committed ones stay and carry the change id, so ``undo``
        removes them. Raised as ImportInterruptedError, whose ``report`` holds the ImportReport so far.
        """
        from tqdm import tqdm

        start = time.perf_counter()
        total_rows = len(triples) if isinstance(triples, Sized) else None
        total_batches = -(-total_rows // batch_size) if total_rows is not None else None
        now = time.time()
        change_id = self._write(_create_import_change, summary, now)
        seen: set[str] = set()
        read = added = committed = pending = 0
        batch = _FactBatch()
        bar = tqdm(total=total_rows, desc="import", unit=" facts", disable=not progress, mininterval=0.5)
        try:
            for triple in triples:
                read += 1
                pending += 1
                ek, rk, vk = (normalize_key(text) for text in (triple.entity, triple.relation, triple.value))
                fact_id = fact_id_from_keys(ek, rk, vk)
                if fact_id not in seen:
                    seen.add(fact_id)
                    batch.add(fact_id, triple, rk, now, change_id, ek, vk)
                if pending == batch_size:
                    added += self._write(_merge_batch, batch)
                    committed += 1
                    bar.update(pending)
                    batch, pending = _FactBatch(), 0
            if pending:
                added += self._write(_merge_batch, batch)
                committed += 1
                bar.update(pending)
        except (Exception, KeyboardInterrupt) as e:
            bar.close()
            known = total_batches is not None
            total = total_batches if known else committed + 1
            note = f"stopped after {committed} of {'' if known else 'at least '}{total} batches committed"
            self._finish_import(change_id, added, f"{summary} ({note})")
            seconds = time.perf_counter() - start
            raise ImportInterruptedError(
                f"import {note} (change {change_id}, {added} facts; `undo {change_id}` removes them): "
                f"{type(e).__name__}: {_one_line(e)}",
                ImportReport(change_id, read, added, read - added, committed, total, seconds),
            ) from e
        bar.close()
        self._finish_import(change_id, added, summary)
        seconds = time.perf_counter() - start
        logger.info(
            "imported %d of %d facts in %d batches (%.1f s) into %s", added, read, committed, seconds, self
        )
        return ImportReport(change_id, read, added, read - added, committed, committed, seconds)

    def _finish_import(self, change_id: int, added: int, summary: str) -> None:
        try:
            self._write(_update_change_count, change_id, added, summary)
        except KnowledgeStoreError:  # the facts are in; only the count in the log is stale
            logger.warning("could not record the count of import change %d (%d facts)", change_id, added)

    def clear(self) -> None:
        """Delete every fact, entity, alias and change in batches. The counters stay, so change ids
        and seq numbers are never reused (caches keyed on them stay honest)."""
        with self._errors("clear"), self._session() as session:
            for name in ("delete_facts_batched", "delete_nodes_batched"):
                # CALL ... IN TRANSACTIONS needs an auto-commit transaction
                session.run(load_query(name), {"batch_size": CLEAR_BATCH}).consume()

    def run_cypher(self, query: str, params: dict | None = None, *, write: bool = False) -> list[dict]:
        """Run a user's query (``lmlm kg cypher``) and return its records as dicts. Read-only unless
        ``write``: a query that writes then fails with KnowledgeStoreError and changes nothing."""

        def work(tx):
            return tx.run(query, params or {}).data()

        with self._errors("cypher query"), self._session() as session:
            try:
                return session.execute_write(work) if write else session.execute_read(work)
            except self._neo4j.exceptions.ClientError as e:
                if e.code == "Neo.ClientError.Statement.AccessMode":
                    raise KnowledgeStoreError(
                        f"Neo4j at {self.uri}: the query writes, and queries run read-only unless write=True "
                        "(`lmlm kg cypher --write`); nothing was changed"
                    ) from e
                raise

    # ---------------------------------------------------------------- invariants
    def _check_backend(self) -> list[str]:
        problems = [describe(r) for name, describe in _CHECKS for r in self._read(name, limit=CHECK_LIMIT)]
        problems += self._check_fact_keys(CHECK_LIMIT)
        [c] = self._read("find_counter_state", name=COUNTERS)
        for what, nxt, top in (
            ("change id", c["next_change"], c["max_change"]),
            ("seq", c["next_seq"], c["max_seq"]),
        ):
            if top is not None and (nxt is None or nxt <= top):
                problems.append(f"the {what} counter ({nxt}) is not above the largest {what} in use ({top})")
        return problems

    def _check_fact_keys(self, limit: int) -> list[str]:
        """Each fact's stored keys against its display strings, and its nodes' keys and hashes."""
        problems: list[str] = []
        after = 0
        while len(problems) < limit:
            rows = self._read("find_fact_keys_page", after=after, limit=10_000)
            if not rows:
                break
            for r in rows:
                checks = (
                    ("relation key", normalize_key(r["relation"]), r["relation_key"]),
                    ("entity node key", normalize_key(r["entity"]), r["ekey"]),
                    ("value node key", normalize_key(r["value"]), r["vkey"]),
                    ("entity node hash", key_hash(r["ekey"] or ""), r["ekh"]),
                    ("value node hash", key_hash(r["vkey"] or ""), r["vkh"]),
                )
                problems += [
                    f"fact {r['id']}: {what} {_short(got)} should be {_short(want)}"
                    for what, want, got in checks
                    if want != got
                ]
            after = rows[-1]["seq"]
        return problems[:limit]


# check(): a query that finds one kind of problem, and how to say each one
_CHECKS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("find_duplicate_fact_ids", lambda r: f"fact id {r['id']} is stored {r['n']} times"),
    (
        "find_malformed_facts",
        lambda r: f"FACT {r['element_id']} (id {r['id']}) lacks a property or does not join two Entity nodes",
    ),
    ("find_orphan_entities", lambda r: f"entity node {_short(r['name'])} has no facts and no aliases"),
    (
        "find_bad_aliases",
        lambda r: f"alias {_short(r['alias'])} points to {r['targets']} entities instead of one",
    ),
    (
        "find_alias_chains",
        lambda r: f"alias {_short(r['alias'])} points to {_short(r['entity'])}, which is itself an alias",
    ),
    (
        "find_facts_without_change",
        lambda r: f"fact {r['id']} names change {r['change_id']}, which is not in the log",
    ),
)


# -------------------------------------------------------------------- transaction functions
def _run(tx, name: str, params: dict) -> list[dict]:
    return tx.run(load_query(name), params).data()


def _reserve(tx, seq_count: int, change_count: int) -> tuple[int, int]:
    [rec] = _run(tx, "reserve_ids", {"name": COUNTERS, "seq_count": seq_count, "change_count": change_count})
    return rec["first_seq"], rec["change_id"]


def _create_import_change(tx, summary: str, now: float) -> int:
    _, change_id = _reserve(tx, 0, 1)
    _run(tx, "create_change", Change(change_id, "import", summary, now).to_record())
    return change_id


def _merge_batch(tx, batch: _FactBatch) -> int:
    first_seq, _ = _reserve(tx, len(batch), 0)
    [rec] = _run(tx, "merge_facts_batch", batch.params(range(first_seq, first_seq + len(batch))))
    return rec["added"]


def _update_change_count(tx, change_id: int, added: int, summary: str) -> None:
    _run(tx, "update_change_count", {"id": change_id, "added_count": added, "summary": summary})


def _apply_draft(tx, draft: ChangeDraft, new: list[Fact], now: float) -> Change:
    """The whole of one edit, in the caller's transaction (see KnowledgeStore._apply)."""
    first_seq, change_id = _reserve(tx, len(new), 1)
    stored = [replace(f, seq=first_seq + i, change_id=change_id) for i, f in enumerate(new)]
    touched: set[str] = set()
    # Also drop a stored fact that an added one replaces (same id), as the embedded store does.
    ids = list(dict.fromkeys([f.id for f in draft.removed] + [f.id for f in stored]))
    for rec in _run(tx, "delete_facts_by_ids", {"ids": ids}):
        touched.update((rec["ekh"], rec["vkh"]))
    batch = _FactBatch()
    for f in stored:
        batch.add(f.id, f, f.relation_key, f.created_at, change_id, f.entity_key, f.value_key)
    [rec] = _run(tx, "merge_facts_batch", batch.params([f.seq for f in stored]))
    if rec["added"] != len(stored):
        raise KnowledgeStoreError(
            f"change {change_id}: added {rec['added']} of {len(stored)} facts; rolled back"
        )
    alias_khs = list(dict.fromkeys(key_hash(a.alias_key) for a in draft.aliases_removed))
    for rec in _run(tx, "delete_aliases", {"khs": alias_khs}):
        touched.update(rec["target_khs"])
    for rec in _run(tx, "merge_aliases", {"aliases": [_alias_row(a) for a in draft.aliases_added]}):
        touched.update(rec["previous_khs"])
    _run(tx, "delete_orphan_entities", {"khs": sorted(touched)})
    change = draft.committed(change_id, now, stored)
    _run(tx, "create_change", change.to_record())
    if draft.undoes is not None:
        _run(tx, "mark_change_undone", {"id": change_id, "undoes": draft.undoes})
    return change


# -------------------------------------------------------------------- rows and records


class _FactBatch:
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


def driver_uri(driver: neo4j.Driver) -> str:
    """A URI naming where an injected driver connects: ``bolt://host:port`` for a direct driver,
    ``neo4j://host:port`` (its first initial address) for a routing one."""
    import neo4j

    if isinstance(driver, neo4j.BoltDriver):
        return f"bolt://{driver.address}"
    return f"neo4j://{driver.initial_addresses[0]}"


def _one_line(e: BaseException) -> str:
    """An error as one line: the server's message for a server error, else the error's text."""
    from neo4j.exceptions import Neo4jError

    text = (e.message if isinstance(e, Neo4jError) else None) or str(e) or type(e).__name__
    return " ".join(str(text).split())


def _short(text: str | None, width: int = 80) -> str:
    text = repr(text)
    return text if len(text) <= width else text[: width - 5] + "...'"
