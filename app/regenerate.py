"""Regenerate at once: every write goes through :func:`apply_edit`, which makes the change in the
store (one transaction, the fuzzy index synced in the same call), re-runs the Generate page's
prompts and keeps both outputs for the before/after view, with the spans that changed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from lmlm.app import outputs, resources, state
from lmlm.app.state import Settings
from lmlm.model.text_diff import diff_texts

if TYPE_CHECKING:
    from lmlm.kg import Change, KnowledgeGraph
    from lmlm.model import GenerationOutput


class ReadOnlyError(PermissionError):
    """A write in an app started with ``--read-only``."""


@dataclass(frozen=True)
class Regeneration:
    """One edit and the outputs of the Generate page's prompts before and after it."""

    summary: str
    changes: tuple[Change, ...]
    before: tuple[GenerationOutput, ...]
    after: tuple[GenerationOutput, ...]
    write_seconds: float
    decode_seconds: float

    def marks(self, i: int) -> tuple[tuple, tuple]:
        """Spans of output ``i`` that the edit changed: (removed in before, added in after)."""
        diff = diff_texts(self.before[i].text, self.after[i].text)
        return diff.removed, diff.added


def apply_edit(
    settings: Settings,
    work: Callable[[KnowledgeGraph], Change | Sequence[Change]],
    summary: str,
    *,
    entity: str | None = None,
) -> Regeneration:
    """Make a change (``work(kg)`` under the graph's lock) and regenerate the tab's prompts.

    Prompts come from the Generate page; when it has none, prompts about ``entity`` are added so
    the edit shows in text. Raises :class:`ReadOnlyError` in a read-only app and the store's
    errors as they are (pages show them beside the form).
    """
    if settings.config.read_only:
        raise ReadOnlyError("this app is read-only (started with --read-only): nothing was changed")
    handle = resources.open_graph(settings.config.store)
    if handle.kg is None:
        raise ReadOnlyError(f"the knowledge graph is not available: {handle.error}")
    prompts = st.session_state[state.PROMPTS]
    if not prompts and entity and settings.config.model:
        prompts = st.session_state[state.PROMPTS] = prompts_about(settings, entity)
    before = _current_outputs(settings, prompts)
    start = time.perf_counter()
    done = handle.locked(work)
    write_seconds = time.perf_counter() - start
    changes = tuple(done) if isinstance(done, (list, tuple)) else (done,)
    after, decode_seconds = outputs.timed_generate(settings, prompts) if settings.config.model else ((), 0.0)
    _keep_outputs(settings, prompts, after, decode_seconds)
    regen = Regeneration(summary, changes, before, after, write_seconds, decode_seconds)
    st.session_state[state.REGENERATION] = regen
    return regen


def _keep_outputs(settings: Settings, prompts: Sequence[str], after: tuple, seconds: float) -> None:
    """The new outputs become the Generate page's; what the weights alone wrote does not change."""
    last = st.session_state[state.OUTPUTS]
    same = last is not None and last.prompts == tuple(prompts) and last.settings == settings
    kept = {"no_lookup": last.no_lookup, "standard": last.standard} if same else {}
    st.session_state[state.OUTPUTS] = (
        outputs.Outputs(tuple(prompts), settings, after, seconds=seconds, **kept) if after else None
    )


def _current_outputs(settings: Settings, prompts: Sequence[str]) -> tuple[GenerationOutput, ...]:
    """The outputs on screen if they are of these prompts and settings, else decoded now."""
    if not prompts or not settings.config.model:
        return ()
    last = st.session_state[state.OUTPUTS]
    if last is not None and last.prompts == tuple(prompts) and last.settings == settings:
        return last.lmlm
    return outputs.generate(settings, prompts)


def prompts_about(settings: Settings, entity: str, limit: int = 2) -> list[str]:
    """Prompts from the prompts file about ``entity``; the entity's name alone when there are none."""
    found = [p for p in load_prompts(settings.config.prompts) if p.get("person") == entity]
    return [p["prompt"] for p in found[:limit]] or [entity]


@st.cache_data(show_spinner=False)
def load_prompts(path: str | None) -> list[dict]:
    """The prompts file's records (``{"prompt": ..., "person": ...}``); empty without one."""
    if not path:
        return []
    from lmlm.kg.formats import read_json_objects

    records = []
    for n, record in read_json_objects(path):
        if not isinstance(record.get("prompt"), str):
            raise ValueError(f"{path}: line {n}: a record needs a string 'prompt'")
        records.append(record)
    return records
