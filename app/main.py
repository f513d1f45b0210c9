"""The app's entry script (``streamlit run``; ``lmlm app`` starts it): the tab's state, the sidebar
and the pages. Each page is a thin script in ``screens/`` over library calls (not ``pages/``:
Streamlit would run a page of that folder alone when its URL is opened first, without this script)."""

from __future__ import annotations

import streamlit as st

from lmlm.app import render, resources, state, views
from lmlm.app.config import AppConfig

st.set_page_config(page_title="LMLM-KG", page_icon=":material/hub:", layout="wide")

try:
    config = AppConfig.from_env().with_defaults()
except ValueError as e:
    st.error(render.escape_markdown(str(e)))
    st.stop()
state.init(config)
settings = state.settings()

pages = [
    st.Page(views.PAGE_FILES["generate"], title="Generate", icon=":material/edit_note:", default=True),
    st.Page(views.PAGE_FILES["facts"], title="Facts", icon=":material/table_view:", url_path="facts"),
    st.Page(views.PAGE_FILES["graph"], title="Graph", icon=":material/hub:", url_path="graph"),
    st.Page(views.PAGE_FILES["cypher"], title="Cypher", icon=":material/terminal:", url_path="cypher"),
    st.Page(views.PAGE_FILES["history"], title="History", icon=":material/history:", url_path="history"),
    st.Page(views.PAGE_FILES["settings"], title="Settings", icon=":material/settings:", url_path="settings"),
]
page = st.navigation(pages)

with st.sidebar:
    handle = resources.open_graph(settings.config.store)
    if handle.kg is not None:
        handle.load_index_in_background()  # exact lookups work meanwhile; a miss waits for it
        st.caption(
            f"store: {render.escape_markdown(handle.backend or '')} · fuzzy index: {handle.index_state}"
        )
    else:
        st.caption(":red[store unavailable]")
    st.caption(f"model: {render.escape_markdown(render.short(settings.config.model or 'none', 40))}")
    if settings.config.read_only:
        st.info("Read-only: edits are off.", icon=":material/lock:")

page.run()
