"""History: the change log, newest first (what, when, summary, facts added and removed), with undo
of any change; an undo regenerates the Generate page's prompts like any other edit."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from lmlm.app import regenerate, render, state, views

settings = state.settings()
st.title("History")
views.notice()
handle = views.graph_or_message(settings)
if handle is None:
    st.stop()

limit = st.number_input("Changes to show", 10, 1000, 50, step=10)
changes = []
with views.reported():
    changes = handle.kg.store.history(limit=int(limit))
if not changes:
    st.caption("No changes yet.")
    st.stop()

rows = [
    {
        "id": c.id,
        "when": dt.datetime.fromtimestamp(c.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "op": c.op,
        "summary": c.summary,
        "added": c.added_count or len(c.added),
        "removed": len(c.removed),
        "undone by": c.undone_by,
        "undoes": c.undoes,
    }
    for c in changes
]
st.dataframe(rows, hide_index=True)
by_id = {c.id: c for c in changes}
picked = st.selectbox(
    "Change",
    list(by_id),
    index=None,
    placeholder="pick one to see its facts and undo it",
    format_func=lambda i: render.short(f"{i} · {by_id[i].op} · {by_id[i].summary}", 120),
    key="history_pick",
)
if st.session_state[state.REGENERATION] is not None:
    with st.expander("Last edit: the Generate page's prompts before and after", expanded=True):
        views.show_regeneration(state.regeneration())
if picked is None:
    st.stop()

change = by_id[picked]
st.subheader(f"Change {change.id}: {render.escape_markdown(render.short(change.summary, 200))}")
for label, facts in (("added", change.added), ("removed", change.removed)):
    if facts:
        st.caption(f"facts {label}")
        st.dataframe(
            [{"entity": f.entity, "relation": f.relation, "value": f.value, "fact_id": f.id} for f in facts],
            hide_index=True,
        )
aliases = [*(("added", a) for a in change.aliases_added), *(("removed", a) for a in change.aliases_removed)]
if aliases:
    st.dataframe([{"alias": a.alias, "entity": a.entity, "": what} for what, a in aliases], hide_index=True)
if change.op == "import" and change.added_count:
    st.caption(f"{change.added_count} facts imported (listed in the store, not in the log).")

if settings.config.read_only:
    st.stop()
if change.undone_by is not None:
    st.caption(f"Undone by change {change.undone_by}.")
elif st.button(f"Undo change {change.id}", type="primary", key="undo"):
    with views.reported():
        regenerate.apply_edit(
            settings, lambda kg: kg.undo(change.id), f"undo change {change.id} ({change.op})"
        )
        st.session_state[state.NOTICE] = f"Undid change {change.id}."
        st.rerun()
