"""Session state: every key the app uses, named once here and given its first value in :func:`init`.

A browser tab is one Streamlit session; these values are that tab's own (what it typed, what it
last generated). What every tab shares (models, the store, the fuzzy index) is in
:mod:`lmlm.app.resources`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import streamlit as st

from lmlm.app.config import AppConfig
from lmlm.kg.resolver import ResolverConfig
from lmlm.model.decoding_args import DecodingArgs

if TYPE_CHECKING:
    from lmlm.app.regenerate import Regeneration

SETTINGS = "settings"  # Settings: what this tab opens and how it decodes
PROMPTS = "prompts"  # list[str]: the Generate page's prompts, re-run after every edit
OUTPUTS = "outputs"  # Outputs | None: the last outputs of those prompts
REGENERATION = "regeneration"  # Regeneration | None: before/after of the last edit
ENTITY = "entity"  # str | None: the entity open on the Facts page
PENDING_FORGET = "pending_forget"  # PendingForget | None: a forget waiting for confirmation
FACTS_SHOWN = "facts_shown"  # list[Fact] | None: the rows the table's pending edits were made on
GRAPH_CENTER = "graph_center"  # str | None: the entity the Graph page is drawn around
CYPHER_RESULT = "cypher_result"  # list[dict] | None: the last query's records
NOTICE = "notice"  # str | None: a message to show once after a rerun (what the last write did)
LEAK_AUDIT = "leak_audit"  # LeakAudit | None: the pending forget's audit, kept while nothing changes
MAX_PROMPTS = 8  # more makes "regenerate at once" slow on a CPU

# Widget keys (Streamlit keeps a widget's value under its key).
SEARCH_TEXT = "search_text"
SEARCH_MODE = "search_mode"
SEARCH_PICK = "search_pick"
FACTS_EDITOR = "facts_editor"
PROMPTS_TEXT = "prompts_text"
CYPHER_QUERY = "cypher_query"
CYPHER_PARAMS = "cypher_params"
CYPHER_RECIPE = "cypher_recipe"
CYPHER_WRITE = "cypher_write"
GRAPH_DEPTH = "graph_depth"


@dataclass(frozen=True)
class Settings:
    """One tab's settings: the paths it opens, the resolver's policy and the decoding options."""

    config: AppConfig
    resolver: ResolverConfig = field(default_factory=ResolverConfig)
    decoding: DecodingArgs = field(default_factory=lambda: DecodingArgs(max_new_tokens=48))
    compare: bool = True  # also decode with lookups off and with the Standard model

    @classmethod
    def first(cls, config: AppConfig) -> Settings:
        """A new tab's settings: the config's first value of ``entities_from_context``."""
        settings = cls(config)
        first = bool(config.entities_from_context)
        return replace(settings, decoding=replace(settings.decoding, entities_from_context=first))


@dataclass(frozen=True)
class PendingForget:
    """What the user asked to forget, before they confirm: one (entity, relation) or a whole entity."""

    entity: str
    relation: str | None = None
    fact_id: str | None = None
    include_as_value: bool = False

    @property
    def label(self) -> str:
        if self.fact_id:
            return f"the fact {self.fact_id} ({self.entity} | {self.relation})"
        if self.relation:
            return f"every value of {self.entity} | {self.relation}"
        return f"the entity {self.entity} and all its facts" + (
            " (also as value)" if self.include_as_value else ""
        )


def init(config: AppConfig) -> None:
    """First values for a new tab; later runs keep what is there."""
    defaults = {
        SETTINGS: lambda: Settings.first(config),
        PROMPTS: list,
        OUTPUTS: lambda: None,
        REGENERATION: lambda: None,
        ENTITY: lambda: None,
        PENDING_FORGET: lambda: None,
        GRAPH_CENTER: lambda: None,
        NOTICE: lambda: None,
        CYPHER_RESULT: lambda: None,
        FACTS_SHOWN: lambda: None,
        LEAK_AUDIT: lambda: None,
    }
    for key, make in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = make()


def settings() -> Settings:
    return st.session_state[SETTINGS]


def regeneration() -> Regeneration | None:
    return st.session_state[REGENERATION]
