"""Forgetting, with confirmation: what will go, and the leak audit (facts still stored whose keys lie
near the forgotten ones, through which the fuzzy path could still answer), offered for forgetting too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from lmlm.app import regenerate, render, state, views
from lmlm.app.state import PendingForget

if TYPE_CHECKING:
    from lmlm.app.resources import GraphHandle
    from lmlm.kg import Change, Fact, KnowledgeGraph, LeakCandidate

AUDIT_KEY = "leak_audit_pick"


def facts_to_forget(kg: KnowledgeGraph, pending: PendingForget) -> list[Fact]:
    if pending.fact_id:
        return list(kg.store.get_facts([pending.fact_id]).values())
    if pending.relation:
        return kg.store.lookup(pending.entity, pending.relation)
    return kg.store.facts_of(pending.entity, as_value=pending.include_as_value)


@dataclass(frozen=True)
class LeakAudit:
    """The audit of a forget that has not happened yet, and the store state it was made on."""

    pending: PendingForget
    change_id: int
    candidates: list[LeakCandidate]


def leak_audit(handle: GraphHandle, pending: PendingForget, facts: list[Fact]) -> list[LeakCandidate]:
    """The facts near those ``pending`` would remove, searched once per pending forget and store
    state: picking candidates reruns the page, not the search."""
    change_id = handle.locked(lambda kg: kg.store.last_change_id())
    kept: LeakAudit | None = st.session_state[state.LEAK_AUDIT]
    if kept is not None and (kept.pending, kept.change_id) == (pending, change_id):
        return kept.candidates
    handle.fuzzy_index()  # waits for the background load, if any
    candidates = handle.locked(lambda kg: kg.near_keys(facts)) if facts else []
    st.session_state[state.LEAK_AUDIT] = LeakAudit(pending, change_id, candidates)
    return candidates


def forget(kg: KnowledgeGraph, pending: PendingForget, also: list[LeakCandidate]) -> list[Change]:
    if pending.fact_id:
        changes = [kg.forget_fact(pending.fact_id)]
    elif pending.relation:
        changes = [kg.forget(pending.entity, pending.relation)]
    else:
        changes = [kg.forget(pending.entity, include_as_value=pending.include_as_value)]
    return changes + [kg.forget(c.entity, c.relation) for c in also]


def confirm_panel(handle: GraphHandle, settings: state.Settings) -> None:
    """The pending forget, its leak audit and the buttons to confirm or cancel it."""
    pending: PendingForget | None = st.session_state[state.PENDING_FORGET]
    if pending is None:
        return
    with st.container(border=True):
        st.warning(
            f"Forget {render.escape_markdown(render.short(pending.label, 300))}?", icon=":material/delete:"
        )
        facts = []
        with views.reported():
            facts = facts_to_forget(handle.kg, pending)
        st.dataframe(
            [{"entity": f.entity, "relation": f.relation, "value": f.value, "fact_id": f.id} for f in facts],
            hide_index=True,
        )
        candidates: list[LeakCandidate] = []
        with views.reported(), st.spinner("Leak audit: searching the fuzzy index for near keys ..."):
            candidates = leak_audit(handle, pending, facts)
        if candidates:
            picked = st.multiselect(
                "Leak audit: these facts stay, and lie near what you forget (the fuzzy path could answer "
                "with them). Pick any to forget too.",
                range(len(candidates)),
                format_func=lambda i: render.short(
                    f"{candidates[i].entity} | {candidates[i].relation} (similarity {candidates[i].score:.2f})",
                    120,
                ),
                key=AUDIT_KEY,
            )
            also = [candidates[i] for i in picked]
        else:
            st.caption("Leak audit: no other stored key lies near these.")
            also = []
        yes, no = st.columns(2)
        if yes.button("Confirm forget", type="primary", key="confirm_forget", disabled=not facts):
            with views.reported():
                regenerate.apply_edit(
                    settings,
                    lambda kg: forget(kg, pending, also),
                    f"forget {pending.label}" + (f" and {len(also)} near keys" if also else ""),
                    entity=pending.entity,
                )
                st.session_state[state.PENDING_FORGET] = None
                st.session_state[state.NOTICE] = f"Forgot {pending.label}."
                st.rerun()
        if no.button("Cancel", key="cancel_forget"):
            st.session_state[state.PENDING_FORGET] = None
            st.rerun()
