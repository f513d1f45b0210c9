"""One exception family for the knowledge graph.

Library code raises these; the CLI turns them into one-line messages without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .changes import ImportReport


class KnowledgeGraphError(Exception):
    """Base class of every error raised by ``lmlm.kg``."""


class KnowledgeStoreError(KnowledgeGraphError):
    """A store operation failed (driver error, constraint, I/O). Wraps the original with ``from``."""


class StoreUnavailableError(KnowledgeStoreError):
    """The store cannot be reached or opened (server down, wrong password, unreadable path)."""


class StoreNotFoundError(StoreUnavailableError):
    """There is no store at the location, and the caller asked not to create one (``create=False``:
    every ``lmlm kg`` command but ``import`` and ``set``)."""


class ReadOnlyStoreError(KnowledgeStoreError):
    """A write to a store that is open read-only (asked for, or its files cannot be written). The
    message names the store and why it is read-only."""


class QueryRefusedError(KnowledgeStoreError):
    """A user's Cypher query was refused before it ran: read-only queries may not read files
    (``LOAD CSV``), call procedures off the read-only allow-list, or run ``IN TRANSACTIONS``."""


class ImportInterruptedError(KnowledgeStoreError):
    """A bulk import stopped part-way: reading the input failed, a write failed, or it was
    interrupted (Ctrl-C). The cause is chained (``from``).

    ``report`` is the :class:`~lmlm.kg.store.ImportReport` so far: ``read`` rows, and what stayed
    committed. The embedded store commits all or nothing, so nothing stays (``change_id`` is None);
    Neo4j keeps the ``committed_batches`` it wrote, under a change marked interrupted, which
    ``undo(report.change_id)`` removes.
    """

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report


class ChangeInterruptedError(KnowledgeStoreError):
    """A change written in batches (a large undo on Neo4j) stopped part-way. ``change_id`` is the
    change, marked interrupted, that holds the batches that committed; undoing it reverts them."""

    def __init__(self, message: str, change_id: int):
        super().__init__(message)
        self.change_id = change_id


class FieldTooLongError(KnowledgeGraphError, ValueError):
    """An entity, relation, value, source or annotator is longer than its limit (:mod:`lmlm.kg.limits`)."""


class FactNotFoundError(KnowledgeGraphError):
    """An edit names a fact, entity or change that is not in the store."""


class InputFormatError(KnowledgeGraphError):
    """A file or record cannot be read. The message names the file, the line or record, and the problem."""

    def __init__(self, path: str, location: str, problem: str):
        self.path = path
        self.location = location
        self.problem = problem
        super().__init__(f"{path}: {location}: {problem}")


class FuzzyIndexError(KnowledgeGraphError):
    """The fuzzy index is missing, damaged or was built with another embedding model."""
