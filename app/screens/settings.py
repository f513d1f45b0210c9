"""Settings: this tab's store, model and tokenizer paths, and the resolver's mode, thresholds and
fallback. Credentials come from the environment only (NEO4J_USER, NEO4J_PASSWORD), never from here."""

from __future__ import annotations

import dataclasses

import streamlit as st

from lmlm.app import forms, render, resources, state, views

settings = state.settings()
config = settings.config
st.title("Settings")
views.notice()

st.subheader("Where")
locked = config.read_only  # a shared, read-only app does not let visitors open other paths
if locked:
    st.caption("Read-only app: the paths are fixed by `lmlm app`.")
paths = {}
for name, label in (
    ("store", "Store: a directory or bolt://HOST:PORT"),
    ("model", "LMLM model directory"),
    ("tokenizer", "Tokenizer directory (empty: the model's)"),
    ("standard_model", "Standard model directory (empty: none)"),
    ("prompts", "Prompts file, JSONL (empty: none)"),
):
    paths[name] = (
        st.text_input(label, value=getattr(config, name) or "", disabled=locked, key=f"path_{name}").strip()
        or None
    )

st.subheader("Resolver")
resolver_values = forms.dataclass_inputs(settings.resolver, key="resolver", exclude=("cache_size",))

if st.button("Apply", type="primary"):
    with views.reported():
        new = dataclasses.replace(
            settings,
            config=dataclasses.replace(config, **paths) if not locked else config,
            resolver=forms.rebuild(settings.resolver, resolver_values),
        )
        if new.config.store is None:
            raise ValueError("Store: give a directory or a bolt:// URI")
        st.session_state[state.SETTINGS] = new
        st.session_state[state.OUTPUTS] = None  # outputs of other settings
        st.session_state[state.NOTICE] = "Settings applied to this tab."
        st.rerun()

handle = resources.open_graph(config.store)
st.subheader("Status")
if handle.kg is not None:
    st.caption(
        f"{render.escape_markdown(handle.backend or '')} store at {render.escape_markdown(config.store or '')}; "
        f"fuzzy index {handle.index_state}"
        + (f": {render.escape_markdown(handle.index_error)}" if handle.index_error else "")
    )
    with views.reported():
        st.json(handle.kg.store.stats().to_dict())
else:
    views.graph_or_message(settings)
