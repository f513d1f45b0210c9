"""Size limits of what a store keeps, checked where text comes in (the file readers and the store API).

Names are matching keys as well as display strings: they are embedded for the fuzzy index (whose model
reads about 256 tokens), and on Neo4j every entity and value is a node whose key sits in a text index
that refuses a key over 32 kB of UTF-8. Normalising a name can grow it (case folding turns one
character into up to three), so 4,096 characters keep every key under that with room to spare.

A line of JSONL or CSV may hold at most ``MAX_LINE_BYTES``: the readers read a line only that far, so
a runaway line (a 50 MB value) is refused without being loaded whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Sized

from .changes import ImportReport
from .errors import FieldTooLongError, ImportInterruptedError
from .facts import Triple

MAX_ENTITY_CHARS = 4_096
MAX_RELATION_CHARS = 1_024
MAX_VALUE_CHARS = 4_096  # a value is an entity too (the graph joins them), so the same limit
MAX_PROVENANCE_CHARS = 4_096  # source document id, annotator
MAX_LINE_BYTES = 1 << 20  # one JSONL or CSV line; a record at the limits above fits several times

FIELD_LIMITS = {
    "entity": MAX_ENTITY_CHARS,
    "relation": MAX_RELATION_CHARS,
    "value": MAX_VALUE_CHARS,
    "source": MAX_PROVENANCE_CHARS,
    "annotator": MAX_PROVENANCE_CHARS,
}


def check_field_lengths(**fields: str | None) -> None:
    """Raise :class:`FieldTooLongError` for the first field longer than its limit (None passes; a
    field of another type is left to the caller's own checks)."""
    for name, text in fields.items():
        limit = FIELD_LIMITS[name]
        if isinstance(text, str) and len(text) > limit:
            raise FieldTooLongError(
                f"{name} is {len(text):,} characters, over the limit of {limit:,} "
                f"(lmlm.kg.limits.MAX_{'PROVENANCE' if name in ('source', 'annotator') else name.upper()}_CHARS)"
            )


def check_triple(triple) -> None:
    """:func:`check_field_lengths` for a Triple or a Fact."""
    check_field_lengths(
        entity=triple.entity,
        relation=triple.relation,
        value=triple.value,
        source=triple.source,
        annotator=triple.annotator,
    )


def checked_import_rows(triples: Iterable[Triple], location: str) -> Iterable[Triple] | None:
    """The triples of an import, each checked against the limits (an error names the triple by its
    index); None when there are none, so that an empty input logs no change.

    A collection (a list) is checked whole before anything is written; any other iterable is
    checked as it is read. A sized input stays sized, so that a store that writes in batches can say
    how many there will be. Either way a refusal raises ImportInterruptedError with FieldTooLongError as cause.
    """
    try:
        if isinstance(triples, Collection):
            for _ in _checked(triples):
                pass
            rows: Iterator[Triple] = iter(triples)
        else:
            rows = _checked(triples)
        first = next(rows, None)
    except (Exception, KeyboardInterrupt) as e:
        raise ImportInterruptedError(
            f"{location}: import stopped before writing anything: {type(e).__name__}: {e}",
            ImportReport(None, 0, 0, 0),
        ) from e
    if first is None:
        return None
    rows = itertools.chain([first], rows)
    return _Sized(rows, len(triples)) if isinstance(triples, Sized) else rows


def _checked(triples: Iterable[Triple]) -> Iterator[Triple]:
    for i, triple in enumerate(triples):
        try:
            check_triple(triple)
        except FieldTooLongError as e:
            raise FieldTooLongError(f"triple {i} (entity {triple.entity[:40]!r}): {e}") from None
        yield triple


class _Sized:
    """An iterator that knows how many items it yields."""

    def __init__(self, items: Iterator[Triple], size: int):
        self._items = items
        self._size = size

    def __iter__(self) -> Iterator[Triple]:
        return self._items

    def __len__(self) -> int:
        return self._size
