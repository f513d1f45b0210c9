"""Generate: the LMLM's output streaming in, each looked-up value highlighted (its lookup, path,
score and fact on hover, a link to the fact), beside what the weights alone write."""

from __future__ import annotations

import dataclasses
import time

import streamlit as st

from lmlm.app import forms, outputs, regenerate, render, resources, state, views
from lmlm.app.outputs import KIND_LABELS, Outputs


def _decode(settings, prompts: list[str], kinds: list[str]) -> dict[str, tuple]:
    """Each kind's outputs, drawn as they come: the LMLM's streamed, the others beside it."""
    from lmlm.model import TextDelta  # torch loads with the first decoding, not with the page

    columns = [st.columns(len(kinds)) for _ in prompts]
    done: dict[str, tuple] = {}
    start = time.perf_counter()
    with views.reported(), st.spinner("Writing ... (a lookup that misses waits for the fuzzy index to load)"):
        for j, kind in enumerate(kinds):
            if kind != "lmlm":
                done[kind] = outputs.generate(settings, prompts, kind)
                for i, out in enumerate(done[kind]):
                    with columns[i][j]:
                        views.show_output(out, links=False)
                continue
            holders = [row[j].empty() for row in columns]
            texts, finished = [""] * len(prompts), [None] * len(prompts)
            for event in outputs.stream(settings, prompts):
                if isinstance(event, TextDelta):
                    texts[event.index] += event.text
                    holders[event.index].markdown(
                        render.escape_markdown(prompts[event.index] + texts[event.index])
                    )
                else:
                    finished[event.index] = event.output
                    with holders[event.index].container():
                        views.show_output(event.output)
            done[kind] = tuple(finished)
        return done | {"seconds": time.perf_counter() - start}
    return {}


settings = state.settings()
st.title("Generate")
views.notice()

records = []
with views.reported():
    records = regenerate.load_prompts(settings.config.prompts)

held_out = list(dict.fromkeys(r["prompt"] for r in records))
current = st.session_state[state.PROMPTS]
picked = st.multiselect(
    "Prompts from the demo: people the model never saw in training",
    held_out[:500],
    default=[p for p in current if p in held_out[:500]],
    max_selections=state.MAX_PROMPTS,
    disabled=not held_out,
)
if state.PROMPTS_TEXT not in st.session_state:
    st.session_state[state.PROMPTS_TEXT] = "\n".join(p for p in current if p not in held_out[:500])
typed = st.text_area("Your prompts, one per line", key=state.PROMPTS_TEXT, height=90)
prompts = list(dict.fromkeys([*picked, *(line.strip() for line in typed.splitlines() if line.strip())]))
if len(prompts) > state.MAX_PROMPTS:
    st.warning(f"Only the first {state.MAX_PROMPTS} prompts are used.")
    prompts = prompts[: state.MAX_PROMPTS]

with st.expander("Decoding options"):
    values = forms.dataclass_inputs(
        settings.decoding, key="decoding", exclude=("logit_bias", "enable_lookup", "ignore_eos")
    )
    bias = st.selectbox(
        "logit bias",
        ["none", "paper"],
        index=1 if settings.decoding.logit_bias == "paper" else 0,
        help="added to the lookup tokens' logits: paper is +4 on the opener, +2 on the others",
    )
    compare = st.checkbox("Also write with lookups off and with the Standard model", value=settings.compare)
new_settings = settings
with views.reported():
    decoding = forms.rebuild(settings.decoding, values | {"logit_bias": None if bias == "none" else bias})
    new_settings = dataclasses.replace(settings, decoding=decoding, compare=compare)

handle = resources.open_graph(settings.config.store)
if handle.kg is None:
    st.warning(
        "The knowledge graph is not available, so the LMLM's lookups cannot be answered; Generate "
        "shows what the weights alone write. " + render.escape_markdown(handle.error or ""),
        icon=":material/cloud_off:",
    )
if st.button("Generate", type="primary", disabled=not prompts or not settings.config.model):
    st.session_state[state.SETTINGS] = settings = new_settings
    st.session_state[state.PROMPTS] = prompts
    kinds = (["lmlm"] if handle.kg is not None else []) + outputs.compare_kinds(
        settings, force=handle.kg is None
    )
    done = _decode(settings, prompts, kinds)
    if done:
        st.session_state[state.OUTPUTS] = Outputs(tuple(prompts), settings, **done)
        st.rerun()

shown: Outputs | None = st.session_state[state.OUTPUTS]
if shown is not None:
    kinds = [k for k in KIND_LABELS if shown.of(k)]
    st.markdown(render.legend())
    for column, kind in zip(st.columns(len(kinds)), kinds):
        column.caption(KIND_LABELS[kind])
    for i in range(len(shown.prompts)):
        with st.container(border=True):
            for column, kind in zip(st.columns(len(kinds)), kinds):
                with column:
                    views.show_output(shown.of(kind)[i], links=kind == "lmlm")
    st.caption(f"{len(shown.prompts)} prompts in {shown.seconds:.2f} s")
    with st.expander("Lookups: entity, relation, path, score, fact", expanded=False):
        views.show_lookups(shown.lmlm, key="generate_lookups")

if st.session_state[state.REGENERATION] is not None:
    st.subheader("Last edit")
    views.show_regeneration(state.regeneration())
