"""Pieces several pages show: an output with its lookups, the before/after of the last edit, the
store's status, and errors as messages (never a traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import streamlit as st

from lmlm.app import render, resources, state
from lmlm.app.regenerate import ReadOnlyError, Regeneration
from lmlm.kg.errors import KnowledgeGraphError

if TYPE_CHECKING:
    from lmlm.app.resources import GraphHandle
    from lmlm.model import GenerationOutput

USER_ERRORS = (KnowledgeGraphError, ValueError, OSError, ReadOnlyError)


@contextlib.contextmanager
def reported(where=None) -> Iterator[None]:
    """Errors of the store, of validation and of files become one message in ``where`` (default: here)."""
    try:
        yield
    except USER_ERRORS as e:
        (where or st).error(render.escape_markdown(str(e) or type(e).__name__), icon=":material/error:")


def graph_or_message(settings: state.Settings) -> GraphHandle | None:
    """The tab's graph, or None after saying why it is not available (with a button to retry)."""
    handle = resources.open_graph(settings.config.store)
    if handle.kg is not None:
        return handle
    st.error(
        "The knowledge graph is not available: " + render.escape_markdown(handle.error or "unknown error"),
        icon=":material/cloud_off:",
    )
    if st.button("Retry", key="retry_store"):
        resources.open_graph.clear(settings.config.store)
        st.rerun()
    return None


def show_output(output: GenerationOutput, marks=(), *, links: bool = True) -> None:
    st.markdown(render.output_markdown(output, marks, links=links))


def show_lookups(outputs: tuple[GenerationOutput, ...], *, key: str) -> None:
    """The lookups of ``outputs`` as a table; picking a row opens its entity on the Facts page."""
    rows = render.lookup_rows(outputs)
    if not rows:
        st.caption("No lookups.")
        return
    event = st.dataframe(rows, hide_index=True, on_select="rerun", selection_mode="single-row", key=key)
    picked = event.selection.rows if event is not None else []
    if picked:
        row = rows[picked[0]]
        if st.button(
            f"Open {render.escape_markdown(render.short(row['entity']))} on Facts", key=f"{key}_open"
        ):
            open_entity(row["entity"])


def open_entity(entity: str) -> None:
    st.session_state[state.ENTITY] = entity
    st.switch_page(PAGE_FILES["facts"])


def show_regeneration(regen: Regeneration | None) -> None:
    """The last edit, and each prompt's output before and after it with the changed words marked."""
    if regen is None:
        return
    with st.container(border=True):
        st.markdown(
            f"**Regenerated after:** {render.escape_markdown(regen.summary)} "
            f"(store write {regen.write_seconds * 1000:.0f} ms, decoding {regen.decode_seconds * 1000:.0f} ms)"
        )
        if not regen.after:
            st.caption("No prompts to regenerate: add some on the Generate page.")
        for i, after in enumerate(regen.after):
            removed, added = regen.marks(i) if i < len(regen.before) else ((), ())
            left, right = st.columns(2)
            with left:
                st.caption("before")
                if i < len(regen.before):
                    show_output(regen.before[i], removed, links=False)
            with right:
                st.caption("after" + ("" if added or removed else " (unchanged)"))
                show_output(after, added)


def notice() -> None:
    """The message a write left for the next run (st.rerun clears the page)."""
    message = st.session_state[state.NOTICE]
    if message:
        st.success(render.escape_markdown(message), icon=":material/check_circle:")
        st.session_state[state.NOTICE] = None


PAGE_FILES = {
    "generate": "screens/generate.py",
    "facts": "screens/facts.py",
    "graph": "screens/graph.py",
    "cypher": "screens/cypher.py",
    "history": "screens/history.py",
    "settings": "screens/settings.py",
}
