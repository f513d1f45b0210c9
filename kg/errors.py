"""One exception family for the knowledge graph.

Library code raises these; the CLI turns them into one-line messages without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import ImportReport


class KnowledgeGraphError(Exception):
    """Base class of every error raised by ``lmlm.kg``."""


class KnowledgeStoreError(KnowledgeGraphError):
    """A store operation failed (driver error, constraint, I/O). Wraps the original with ``from``."""


class StoreUnavailableError(KnowledgeStoreError):
    """The store cannot be reached or opened (server down, wrong password, unreadable path)."""


class ImportInterruptedError(KnowledgeStoreError):
    """A bulk import stopped part-way: reading the input failed, a write failed, or it was
    interrupted (Ctrl-C). The cause is chained (``from``).

    ``report`` is the :class:`~lmlm.kg.store.ImportReport` so far: ``read`` rows, and what stayed
    committed. The embedded store commits all or nothing, so nothing stays (``change_id`` is None);
    Neo4j keeps the ``committed_batches`` it wrote, which ``undo(report.change_id)`` removes.
    """

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report


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
