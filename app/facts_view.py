"""The Facts page's table: an entity's facts as editable rows, and the rows' edits as the store's
edits (``set_fact``, ``forget_fact``), checked before anything is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lmlm.kg.facts import Triple, normalize_key

if TYPE_CHECKING:
    from lmlm.kg import Change, Fact, KnowledgeGraph

EDITABLE = ("relation", "value")
COLUMNS = ("relation", "value", "source", "annotator", "created", "fact_id")


@dataclass(frozen=True)
class FactEdit:
    """One row's edit: a new value (and maybe relation) for ``old``, or a new fact when ``old`` is None."""

    relation: str
    value: str
    old: Fact | None = None
    sole: bool = True  # ``old`` was its relation's only value in the rows the user edited

    @property
    def summary(self) -> str:
        if self.old is None:
            return f"add {self.relation} = {self.value}"
        return f"{self.old.relation} = {self.old.value} -> {self.relation} = {self.value}"


def sorted_facts(facts: Sequence[Fact]) -> list[Fact]:
    """By relation, newest value first: an edit keeps its row where it was."""
    return sorted(facts, key=lambda f: (f.relation_key, -f.seq))


def editor_rows(facts: Sequence[Fact]) -> list[dict]:
    return [
        {
            "relation": f.relation,
            "value": f.value,
            "source": f.source or "",
            "annotator": f.annotator or "",
            "created": dt.datetime.fromtimestamp(f.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            "fact_id": f.id,
        }
        for f in facts
    ]


def typed_value(shown: Sequence[Fact], relation: str, value: str) -> dict:
    """The table's edit state after typing ``value`` into the first row of ``relation`` (what
    ``st.data_editor`` keeps under its key; tests and the benchmark set it to edit as a user does)."""
    row = next(i for i, f in enumerate(shown) if f.relation == relation)
    return {"edited_rows": {row: {"value": value}}, "added_rows": [], "deleted_rows": []}


def edits_from_editor(entity: str, shown: Sequence[Fact], state: Mapping) -> list[FactEdit]:
    """The edits in a ``st.data_editor``'s state (``edited_rows``, ``added_rows``) over the rows
    ``shown``. Raises ValueError naming the row when a relation or value is empty."""
    edits = []
    for index, changed in sorted((int(k), v) for k, v in state.get("edited_rows", {}).items()):
        old = shown[index]
        relation = _cell(changed, "relation", old.relation)
        value = _cell(changed, "value", old.value)
        if (relation, value) != (old.relation, old.value):
            sole = not any(f.relation_key == old.relation_key and f.id != old.id for f in shown)
            edits.append(_checked(entity, FactEdit(relation, value, old, sole), f"row {index + 1}"))
    for n, row in enumerate(state.get("added_rows", ()), len(shown) + 1):
        if any(str(row.get(c) or "").strip() for c in EDITABLE):
            edits.append(
                _checked(
                    entity,
                    FactEdit(str(row.get("relation") or ""), str(row.get("value") or "")),
                    f"new row {n}",
                )
            )
    return edits


def _cell(changed: Mapping, column: str, default: str) -> str:
    value = changed.get(column, default)
    return default if value is None else str(value)


def _checked(entity: str, edit: FactEdit, where: str) -> FactEdit:
    try:
        Triple(entity, edit.relation, edit.value)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from e
    return edit


def apply_edits(kg: KnowledgeGraph, entity: str, edits: Sequence[FactEdit]) -> list[Change]:
    """Each edit as one change. A changed value replaces the relation's values when it was the only
    one the user saw (so two tabs editing one fact end with one value); beside other values, the
    edited fact alone is replaced (set without replace, then forget)."""
    changes = []
    for edit in edits:
        old = edit.old
        if old is None:
            changes.append(kg.set_fact(entity, edit.relation, edit.value, replace=False))
            continue
        if normalize_key(edit.relation) == old.relation_key and edit.sole:
            changes.append(kg.set_fact(entity, edit.relation, edit.value))
        else:
            changes.append(kg.set_fact(entity, edit.relation, edit.value, replace=False))
            if kg.store.get_facts([old.id]):
                changes.append(kg.forget_fact(old.id))
    return changes
