"""One exception family for the knowledge graph.

Library code raises these; the CLI turns them into one-line messages without a traceback.
"""

from __future__ import annotations


class KnowledgeGraphError(Exception):
    """Base class of every error raised by ``lmlm.kg``."""


class KnowledgeStoreError(KnowledgeGraphError):
    """A store operation failed (driver error, constraint, I/O). Wraps the original with ``from``."""


class StoreUnavailableError(KnowledgeStoreError):
    """The store cannot be reached or opened (server down, wrong password, unreadable path)."""


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
