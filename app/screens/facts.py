"""Facts: search entities, open one, edit its facts in a table, add an alias, merge, forget (with
confirmation and the leak audit), bulk import. Every write regenerates the Generate page's prompts."""

from __future__ import annotations

import streamlit as st

from lmlm.app import facts_view, forget_view, import_view, regenerate, render, state, views
from lmlm.app.state import PendingForget


def _open_picked() -> None:
    picked = st.session_state[state.SEARCH_PICK]
    if picked:
        st.session_state[state.ENTITY] = picked
        st.session_state.pop(state.FACTS_EDITOR, None)


def _merge(name: str, summary: str, notice: str, *, new_name: bool) -> None:
    """``name`` becomes an alias of the open entity: a new name, or an entity whose facts move here."""
    with views.reported():
        known = kg.store.facts_of(name, as_value=not new_name)
        if new_name and known:
            raise ValueError(f"{name!r} is an entity with facts of its own: merge it instead")
        if not new_name and not known:
            raise ValueError(f"no entity named {name!r} (add it as an alias instead)")
        regenerate.apply_edit(settings, lambda kg: kg.merge_entities(entity, name), summary, entity=entity)
        st.session_state[state.NOTICE] = notice
        st.rerun()


settings = state.settings()
writable = not settings.config.read_only
st.title("Facts")
views.notice()
handle = views.graph_or_message(settings)
if handle is None:
    st.stop()
kg = handle.kg

if "entity" in st.query_params:  # a value's link on the Generate page
    st.session_state[state.ENTITY] = st.query_params["entity"]
    del st.query_params["entity"]

if st.session_state[state.REGENERATION] is not None:
    with st.expander("Last edit: the Generate page's prompts before and after", expanded=True):
        views.show_regeneration(state.regeneration())

# ------------------------------------------------------------------ search
left, right = st.columns([3, 1])
text = left.text_input("Search entities", key=state.SEARCH_TEXT, placeholder="a name, or part of one")
mode = right.radio("Match", ["prefix", "substring"], key=state.SEARCH_MODE, horizontal=True)
if text.strip():
    names: list[str] = []
    with views.reported():
        names = kg.store.search_entities(text, mode=mode, limit=50)
    if names:
        st.selectbox(
            f"{len(names)} found",
            names,
            index=None,
            placeholder="open one",
            format_func=render.short,
            key=state.SEARCH_PICK,
            on_change=_open_picked,
        )
    else:
        st.caption("No entity matches.")

if writable:
    with st.expander("Bulk import"):
        import_view.import_panel(handle, settings)

entity: str | None = st.session_state[state.ENTITY]
if not entity:
    st.stop()

# ------------------------------------------------------------------ the entity's facts
st.header(render.escape_markdown(render.short(entity, 120)))
facts, as_value, aliases = [], [], []
with views.reported():
    facts = facts_view.sorted_facts(kg.store.facts_of(entity))
    (key,) = kg.store.canonical_entity_keys([entity])
    aliases = [a.alias for a in kg.store.list_aliases(key)]
    as_value = kg.store.facts_of_entity_keys([key], as_value=True)
if aliases:
    st.caption("Also known as: " + render.escape_markdown("; ".join(aliases)))
if not facts and writable:
    st.caption("No facts yet: add one in the table.")

# While edits are pending the table shows the rows they were made on, so they apply to those facts.
editing = st.session_state.get(state.FACTS_EDITOR) or {}
pending_edits = any(editing.get(k) for k in ("edited_rows", "added_rows"))
shown = st.session_state.get(state.FACTS_SHOWN) if pending_edits else None
if shown is None or not pending_edits:
    shown = facts
    st.session_state[state.FACTS_SHOWN] = facts
if writable:
    st.data_editor(
        facts_view.editor_rows(shown),
        key=state.FACTS_EDITOR,
        num_rows="add",
        disabled=[c for c in facts_view.COLUMNS if c not in facts_view.EDITABLE],
        hide_index=True,
        column_order=facts_view.COLUMNS,
    )
else:
    st.dataframe(facts_view.editor_rows(shown), hide_index=True, column_order=facts_view.COLUMNS)
if writable and st.button("Save changes", type="primary", disabled=not pending_edits, key="save_facts"):
    with views.reported():
        edits = facts_view.edits_from_editor(entity, shown, editing)
        regenerate.apply_edit(
            settings,
            lambda kg: facts_view.apply_edits(kg, entity, edits),
            "; ".join(e.summary for e in edits),
            entity=entity,
        )
        st.session_state.pop(state.FACTS_EDITOR, None)
        st.session_state[state.NOTICE] = f"Saved {len(edits)} change(s) to {entity}."
        st.rerun()

if as_value:
    with st.expander(f"{len(as_value)} facts with this entity as their value"):
        st.dataframe(
            [{"entity": f.entity, "relation": f.relation, "fact_id": f.id} for f in as_value], hide_index=True
        )

if not writable:
    st.stop()

# ------------------------------------------------------------------ forget, alias, merge
forget_view.confirm_panel(handle, settings)
with st.expander("Forget"):
    labels = {f.id: f"{f.relation} = {f.value}" for f in shown}
    fact_id = st.selectbox(
        "A fact", list(labels), format_func=lambda i: render.short(labels[i], 100), key="forget_pick"
    )
    if st.button("Forget this fact ...", disabled=fact_id is None, key="forget_fact"):
        fact = next(f for f in shown if f.id == fact_id)
        st.session_state[state.PENDING_FORGET] = PendingForget(entity, fact.relation, fact_id)
        st.rerun()
    also_value = st.checkbox("also the facts where it is the value", key="forget_as_value")
    if st.button("Forget the whole entity ...", key="forget_entity"):
        st.session_state[state.PENDING_FORGET] = PendingForget(entity, include_as_value=also_value)
        st.rerun()

with st.expander("Add an alias or merge an entity into this one"):
    alias = st.text_input("Another name for this entity (lookups of it resolve here)", key="alias_name")
    if st.button("Add alias", disabled=not alias.strip(), key="add_alias"):
        _merge(alias, f"alias {alias} -> {entity}", f"{alias} is now an alias of {entity}.", new_name=True)
    other = st.text_input(
        "Merge an entity into this one (its facts move here; its name stays as an alias)", key="merge_name"
    )
    if st.button("Merge", disabled=not other.strip(), key="merge"):
        _merge(other, f"merge {other} into {entity}", f"Merged {other} into {entity}.", new_name=False)
