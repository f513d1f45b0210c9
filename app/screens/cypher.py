"""Cypher: the user's own query against a Neo4j store (read-only unless writes are allowed),
parameters as JSON, results as a table and, when they hold nodes and relationships, as a graph;
and a cookbook of saved queries."""

from __future__ import annotations

import json

import streamlit as st

from lmlm.app import cookbook, graph_view, render, state, views

settings = state.settings()
st.title("Cypher")
handle = views.graph_or_message(settings)
if handle is None:
    st.stop()
if handle.backend != "neo4j":
    st.info(
        "Cypher runs on a Neo4j store, and this app is on the embedded store (SQLite), which has no "
        "Cypher engine. Start the app on Neo4j (`lmlm app --store bolt://HOST:7687`, credentials in "
        "NEO4J_USER / NEO4J_PASSWORD) to query the graph here; the cookbook below shows the saved queries.",
        icon=":material/info:",
    )

recipes = {r.name: r for r in cookbook.recipes()}


def _cell(value):
    """A table cell: numbers and text as they are, maps and lists as JSON text."""
    if isinstance(value, (int, float, str, type(None))):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def _use_recipe() -> None:
    recipe = recipes.get(st.session_state[state.CYPHER_RECIPE])
    if recipe is not None:
        st.session_state[state.CYPHER_QUERY] = recipe.query
        st.session_state[state.CYPHER_PARAMS] = json.dumps(recipe.params, indent=1)


st.selectbox(
    "Cookbook",
    ["", *recipes],
    format_func=lambda name: recipes[name].title if name else "your own query",
    key=state.CYPHER_RECIPE,
    on_change=_use_recipe,
)
query = st.text_area(
    "Query", key=state.CYPHER_QUERY, height=180, placeholder="MATCH (e:Entity) RETURN e LIMIT 10"
)
params_text = st.text_area("Parameters (JSON object)", key=state.CYPHER_PARAMS, height=90, placeholder="{}")
params = None
try:
    params = json.loads(params_text) if params_text.strip() else {}
    if not isinstance(params, dict):
        raise ValueError("the parameters must be a JSON object, {...}")
except ValueError as e:  # json.JSONDecodeError is a ValueError
    st.error(f"Parameters: {render.escape_markdown(str(e))}")
    params = None
write = False
if not settings.config.read_only:
    write = st.checkbox(
        "Allow writes (they bypass the change log: no undo, and the fuzzy index does not see them)",
        key=state.CYPHER_WRITE,
    )

if st.button(
    "Run", type="primary", disabled=handle.backend != "neo4j" or params is None or not query.strip()
):
    st.session_state[state.CYPHER_RESULT] = None
    with views.reported():
        if write:
            records = handle.write_cypher(query, params)
        else:
            records = handle.kg.store.run_cypher(query, params)
        st.session_state[state.CYPHER_RESULT] = records

records = st.session_state[state.CYPHER_RESULT]
if records is not None:
    st.caption(f"{len(records)} records")
    st.dataframe([{k: _cell(v) for k, v in r.items()} for r in records], hide_index=True)
    drawn = graph_view.from_records(records)
    if drawn.edges or len(drawn.names) > 1:
        clicked = graph_view.draw(drawn)
        if clicked:
            views.open_entity(clicked)
