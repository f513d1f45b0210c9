"""Facts, triples and the normalised keys used to match them.

A *triple* is what readers produce and writers consume: entity, relation, value and provenance.
A *fact* is a triple held by a store: it has an id, a sequence number (later facts have larger
numbers; the resolver prefers them) and the change that created it. Display strings are kept
exactly as given; matching uses :func:`normalize_key`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_WHITESPACE = re.compile(r"\s+")


def normalize_key(text: str) -> str:
    """Matching key of a name: ``\\'`` unescaped, ``_`` as space, case-folded, whitespace collapsed.

    Idempotent: ``normalize_key(normalize_key(x)) == normalize_key(x)``.
    """
    text = text.replace("\\'", "'").replace("_", " ").casefold()
    return _WHITESPACE.sub(" ", text).strip()


def make_fact_id(entity: str, relation: str, value: str) -> str:
    """Content id of a fact: the same normalised triple always gets the same id, in every store."""
    return fact_id_from_keys(normalize_key(entity), normalize_key(relation), normalize_key(value))


def fact_id_from_keys(entity_key: str, relation_key: str, value_key: str) -> str:
    """:func:`make_fact_id` for keys that are already normalised."""
    raw = "\x1f".join((entity_key, relation_key, value_key))
    return "f" + hashlib.blake2b(raw.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Triple:
    """An (entity, relation, value) statement with where it came from."""

    entity: str
    relation: str
    value: str
    source: str | None = None  # source document id
    annotator: str | None = None  # annotator or model id

    def __post_init__(self) -> None:
        for name in ("entity", "relation", "value"):
            text = getattr(self, name)
            if not isinstance(text, str):
                raise ValueError(f"{name} must be a string, got {type(text).__name__}")
            if not normalize_key(text):
                raise ValueError(f"{name} is empty")

    @property
    def fact_id(self) -> str:
        return make_fact_id(self.entity, self.relation, self.value)

    @property
    def key(self) -> tuple[str, str]:
        return normalize_key(self.entity), normalize_key(self.relation)


@dataclass(frozen=True)
class Fact:
    """A triple as stored: id, provenance, creation time, order and the change that made it."""

    id: str
    entity: str
    relation: str
    value: str
    source: str | None = None
    annotator: str | None = None
    created_at: float = field(default_factory=time.time)
    seq: int = 0  # larger is newer; the resolver prefers the largest
    change_id: int | None = None  # the change (import, set, merge, undo) that created it

    @property
    def entity_key(self) -> str:
        return normalize_key(self.entity)

    @property
    def relation_key(self) -> str:
        return normalize_key(self.relation)

    @property
    def value_key(self) -> str:
        return normalize_key(self.value)

    @property
    def key(self) -> tuple[str, str]:
        return self.entity_key, self.relation_key

    def to_triple(self) -> Triple:
        return Triple(self.entity, self.relation, self.value, self.source, self.annotator)

    @classmethod
    def from_triple(cls, triple: Triple, created_at: float, change_id: int | None = None) -> Fact:
        """A new fact for ``triple``, created at ``created_at``; the store gives it its ``seq``."""
        t = triple
        return cls(
            t.fact_id, t.entity, t.relation, t.value, t.source, t.annotator, created_at, change_id=change_id
        )

    def to_dict(self) -> dict:
        """The stored form of a fact (change log payloads, JSONL): one entry per field, by name."""
        return {name: getattr(self, name) for name in FACT_FIELDS}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Fact:
        """A fact from its stored form, read by field name: a dict (JSON, a Neo4j map projection)
        or a ``sqlite3.Row``. Keys that are not fields are ignored; absent optional fields default."""
        keys = record.keys()
        return cls(**{name: record[name] for name in FACT_FIELDS if name in keys})


FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Fact))  # the stored form's names, in order


@dataclass(frozen=True)
class Alias:
    """Another name of an entity, left by a merge: lookups of ``alias`` resolve to ``entity``."""

    alias: str
    entity: str

    @property
    def alias_key(self) -> str:
        return normalize_key(self.alias)

    @property
    def entity_key(self) -> str:
        return normalize_key(self.entity)

    def to_dict(self) -> dict:
        return {"alias": self.alias, "entity": self.entity}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Alias:
        """An alias from its stored form (a dict or a row with ``alias`` and ``entity``)."""
        return cls(record["alias"], record["entity"])
