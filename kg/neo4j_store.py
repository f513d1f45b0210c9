"""The Neo4j store: the same contract as the embedded one, on a Neo4j 5 server (Community is enough).

Graph model. Every entity and every value is a node ``(:Entity {kh, key, name})``, so an entity that
appears as a value is the same node. ``key`` is the normalised name, ``kh`` a fixed-length hash of it
that carries the unique constraint (range indexes reject entries over ~8 kB, and names can be longer),
``name`` the display string as first seen. A fact is ``(e)-[:FACT {id, entity, relation, relation_key,
value, source, annotator, created_at, seq, change_id}]->(v)``; the relationship keeps the display
strings itself because two spellings of one key share a node. An alias is
``(:Alias {kh, key, name, entity})-[:ALIAS_OF]->(:Entity)``. The change log is ``(:Change {id, op,
summary, created_at, undoes, undone_by, added_count, removed_count, state, committed_batches,
total_batches, payload})`` with the removed/added facts and aliases as JSON; a change written in
batches keeps its facts in ``(:ChangePart {change_id, n, payload})``, one per batch.
``(:LmlmMeta {name: 'counters'})`` hands out seq numbers and change ids inside each write transaction
(its write lock serialises concurrent writers). Text indexes on ``Entity.key`` and ``Alias.key``
serve substring and prefix search.

Every query is a file in ``cypher/`` (see :mod:`lmlm.kg.cypher_queries`) and takes only parameters.
Reads run in read transactions, writes in write transactions; an edit is one transaction, a bulk
import one transaction per batch, and so is an undo of more than ``change_batch_size`` facts (see
:mod:`lmlm.kg.changes` for how such a change records its progress).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from . import neo4j_batches, neo4j_check, neo4j_tx
from .changes import INTERRUPTED, RUNNING, Change, ChangeDraft, ImportReport
from .cypher_guard import refuse_unsafe_read_query
from .cypher_queries import load_query, load_statements
from .errors import FactNotFoundError, KnowledgeStoreError, StoreNotFoundError, StoreUnavailableError
from .facts import Alias, Fact, Triple, normalize_key
from .neo4j_batches import one_line as _one_line
from .neo4j_tx import COUNTERS, key_hash
from .store import Key, KnowledgeStore, StoreStats

if TYPE_CHECKING:
    import neo4j

logger = logging.getLogger(__name__)

CLEAR_BATCH = 10_000
_SEARCH_QUERIES = {"substring": "search_entities_substring", "prefix": "search_entities_prefix"}


class Neo4jStore(KnowledgeStore):
    """Facts in a Neo4j database.

    Either the store makes its own driver from ``uri`` (credentials default to ``NEO4J_USER``, else
    ``neo4j``, and ``NEO4J_PASSWORD``; without a password it connects without auth) and closes it in
    :meth:`close`, or it uses an injected ``driver`` that the caller made and closes (as
    neo4j-graphrag does); ``uri`` then only names the store in messages and in the fuzzy index's
    directory, and defaults to the driver's address.

    ``create=False``: a database that holds no LMLM store (its counter node, made by the first open
    with ``create``) raises StoreNotFoundError instead of being set up. ``read_only``: never write
    (no schema set-up either); writes raise ReadOnlyStoreError.
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
        create: bool = True,
        read_only: bool = False,
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
        if read_only:
            self._read_only_reason = "opened read-only"
        try:
            self._driver.verify_connectivity()
            if not create or read_only:
                self._require_store()
            if not read_only:
                self._create_schema(timeout_s=300)
        except neo4j.exceptions.AuthError as e:
            self._close_own_driver()
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} rejected the credentials of user {self.user!r} (check NEO4J_USER / NEO4J_PASSWORD)"
            ) from e
        except StoreNotFoundError:
            self._close_own_driver()
            raise
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
            return session.execute_read(neo4j_tx.run, name, params)

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
            session.execute_read(neo4j_tx.run, "await_indexes", {"timeout_s": timeout_s})
            session.execute_write(neo4j_tx.run, "merge_counters", {"name": COUNTERS})

    def _require_store(self) -> None:
        with self._session() as session:
            [rec] = session.execute_read(neo4j_tx.run, "match_store_counters", {"name": COUNTERS})
        if not rec["found"]:
            raise StoreNotFoundError(
                f"Neo4j at {self.uri} (database {self.database!r}) holds no LMLM store; "
                "`lmlm kg import` or `lmlm kg set` creates one"
            )

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
        parts = [rec["payload"] for rec in self._read("match_change_parts", id=change_id)]
        return Change.from_record(records[0]["change"], parts)

    def unfinished_changes(self) -> list[Change]:
        records = self._read("match_unfinished_changes", states=[RUNNING, INTERRUPTED])
        return [Change.from_record(rec["change"]) for rec in records]

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
        return self._write(neo4j_tx.apply_draft, draft, draft.new_facts(now), now)

    def _import(
        self, triples: Iterable[Triple], *, summary: str, batch_size: int, progress: bool
    ) -> ImportReport:
        return neo4j_batches.import_batched(self._write, triples, summary, batch_size, progress=progress)

    def _apply_batched(self, draft: ChangeDraft, resume: Change | None = None) -> Change:
        change = neo4j_batches.apply_batched(self._write, draft, self.change_batch_size, resume)
        return change if resume is None else self.get_change(change.id)  # with the earlier batches

    def clear(self) -> None:
        """Delete every fact, entity, alias and change in batches. The counters stay, so change ids
        and seq numbers are never reused (caches keyed on them stay honest)."""
        self.require_writable("clear the store")
        with self._errors("clear"), self._session() as session:
            for name in ("delete_facts_batched", "delete_nodes_batched"):
                # CALL ... IN TRANSACTIONS needs an auto-commit transaction
                session.run(load_query(name), {"batch_size": CLEAR_BATCH}).consume()

    def run_cypher(self, query: str, params: dict | None = None, *, write: bool = False) -> list[dict]:
        """Run a user's query (``lmlm kg cypher``, the app) and return its records as dicts.

        Read-only unless ``write``: the query runs in a read transaction, so one that writes fails
        with KnowledgeStoreError and changes nothing; and before it runs, one that reads server files
        (``LOAD CSV``), calls a procedure off a short read-only allow-list (``db.labels``,
        ``db.schema.visualization`` ...), commits on its own (``CALL { ... } IN TRANSACTIONS``),
        switches database (``USE``) or terminates transactions is refused with QueryRefusedError
        (see :mod:`lmlm.kg.cypher_guard`; the check is conservative, so a query that merely mentions
        these outside strings and comments is refused too). With ``write`` the server's settings
        alone limit it (``server.directories.import`` bounds what LOAD CSV reads).
        """
        if write:
            self.require_writable("run a query with write access")
        else:
            refuse_unsafe_read_query(query)

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
        return neo4j_check.check_graph(self._read)

    def _check_facts(self) -> list[str]:
        return neo4j_check.check_fact_rows(self._read)


def driver_uri(driver: neo4j.Driver) -> str:
    """A URI naming where an injected driver connects: ``bolt://host:port`` for a direct driver,
    ``neo4j://host:port`` (its first initial address) for a routing one."""
    import neo4j

    if isinstance(driver, neo4j.BoltDriver):
        return f"bolt://{driver.address}"
    return f"neo4j://{driver.initial_addresses[0]}"
