"""Graph: an entity's neighbourhood (depth 1-3, capped), drawn interactively; clicking a node
re-centres the graph on it, and its facts open on the Facts page."""

from __future__ import annotations

import streamlit as st

from lmlm.app import graph_view, render, state, views

settings = state.settings()
st.title("Graph")
handle = views.graph_or_message(settings)
if handle is None:
    st.stop()

center = st.session_state[state.GRAPH_CENTER] or st.session_state[state.ENTITY]
left, right = st.columns([3, 1])
typed = left.text_input("Entity", value=center or "")  # unkeyed: a click re-centres it
depth = right.slider("Depth", 1, 3, 1, key=state.GRAPH_DEPTH)
if typed.strip() and typed != center:
    center = st.session_state[state.GRAPH_CENTER] = typed.strip()
if not center:
    st.caption("Name an entity, or open one on the Facts page.")
    st.stop()

with views.reported():
    graph = handle.kg.neighbourhood(center, depth, limit=graph_view.MAX_NODES)
    (key,) = handle.kg.store.canonical_entity_keys([center])
    drawn = graph_view.from_neighbourhood(graph, key)
    if not drawn.names:
        st.info(f"No facts around {render.escape_markdown(render.short(center, 80))}.")
        st.stop()
    st.caption(
        f"{len(drawn.names)} nodes, {len(drawn.edges)} facts"
        + (" (capped)" if len(drawn.names) >= graph_view.MAX_NODES else "")
        + ". Click a node to centre the graph on it."
    )
    clicked = graph_view.draw(drawn)
    if clicked and clicked != center:
        st.session_state[state.GRAPH_CENTER] = clicked
        st.rerun()
    if st.button(f"Open {render.escape_markdown(render.short(center, 60))} on Facts", key="graph_open"):
        views.open_entity(center)
