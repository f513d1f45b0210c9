"""The app's settings: what ``lmlm app`` was started on, handed to the Streamlit process as JSON in
one environment variable (Streamlit runs the app in its own process and passes no arguments)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmlm.demo_build import DemoPaths

CONFIG_ENV = "LMLM_APP_CONFIG"


@dataclass(frozen=True)
class AppConfig:
    """What the app opens. Paths left out fall back to the demo's (``$LMLM_HOME/demo``) when it is built."""

    store: str | None = field(
        default=None,
        metadata={
            "help": "embedded-store directory or bolt:// URI (credentials from NEO4J_USER/NEO4J_PASSWORD); "
            "default: the demo's store when built, else $LMLM_STORE or $LMLM_HOME/kg"
        },
    )
    model: str | None = field(
        default=None, metadata={"help": "LMLM model directory or hub name (default: the demo's LMLM)"}
    )
    standard_model: str | None = field(
        default=None,
        metadata={"help": "a Standard model to compare with, written from its weights (default: the demo's)"},
    )
    tokenizer: str | None = field(
        default=None, metadata={"help": "tokenizer directory (default: the one saved with the model)"}
    )
    prompts: str | None = field(
        default=None,
        metadata={"help": "JSONL of prompts to pick from ({'prompt': ...} per line; default: the demo's)"},
    )
    threads: int = field(
        default=1,
        metadata={
            "help": "CPU threads for decoding; 1 suits small models and shared machines (more threads "
            "make a 1M-parameter model slower, not faster), raise it for large models"
        },
    )
    read_only: bool = field(
        default=False,
        metadata={"help": "hide and refuse every write (for sharing with people who only look)"},
    )
    entities_from_context: bool | None = field(
        default=None,
        metadata={
            "help": "first value of the decoding option of that name (a lookup of a name not yet written "
            "is answered unknown, not asked); default: on with the demo's models, as its report decodes "
            "them, else off"
        },
    )

    def __post_init__(self) -> None:
        if self.entities_from_context not in (None, True, False):
            raise ValueError(
                f"entities_from_context must be true, false or null, got {self.entities_from_context!r}"
            )
        if not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {self.threads!r}")
        for name in ("store", "model", "standard_model", "tokenizer", "prompts"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a path or URI, got {value!r}")
            if value is not None and not value.strip():
                raise ValueError(f"{name} is empty")

    def to_env(self) -> dict[str, str]:
        return {CONFIG_ENV: json.dumps(dataclasses.asdict(self))}

    @classmethod
    def from_env(cls, environ=os.environ) -> AppConfig:
        text = environ.get(CONFIG_ENV)
        if not text:
            return cls()
        try:
            return cls(**json.loads(text))
        except (TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"{CONFIG_ENV} is not a valid app configuration: {e}") from e

    @classmethod
    def of_demo(cls, demo: DemoPaths, *, entities_from_context: bool | None = None) -> AppConfig:
        """The demo's store, models and prompts (``lmlm demo`` opens the app on them), decoded as the
        demo's report decoded them (:meth:`DemoPaths.entities_from_context`) unless given."""
        if entities_from_context is None:
            entities_from_context = demo.entities_from_context()
        return cls(
            store=str(demo.kg),
            model=str(demo.model("lmlm")),
            standard_model=str(demo.model("standard")),
            prompts=str(demo.world / "prompts.jsonl"),
            entities_from_context=entities_from_context,
        )

    def with_defaults(self) -> AppConfig:
        """Paths not given: the demo's when it is built, else the default store and no model."""
        from lmlm.demo_build import DemoPaths
        from lmlm.kg.knowledge_graph import default_store_location, lmlm_home

        demo = DemoPaths(lmlm_home() / "demo")
        # the demo's files go together: only when no model of one's own is given
        on_demo = self.model is None and demo.model("lmlm").exists()
        theirs = AppConfig.of_demo(demo) if on_demo else AppConfig()

        def given_or_demo(name: str) -> str | None:
            path = getattr(theirs, name)
            return getattr(self, name) or (path if path and Path(path).exists() else None)

        given = self.entities_from_context
        return dataclasses.replace(
            self,
            store=given_or_demo("store") or default_store_location(),
            **{name: given_or_demo(name) for name in ("model", "standard_model", "prompts")},
            entities_from_context=theirs.entities_from_context if given is None else given,
        )


@dataclass(frozen=True)
class ServerArgs:
    """Where ``lmlm app`` serves (Streamlit's server)."""

    host: str = field(
        default="127.0.0.1", metadata={"help": "address to bind; loopback unless you mean to share it"}
    )
    port: int = field(default=8501, metadata={"help": "port to serve on"})
    browser: bool = field(
        default=True, metadata={"help": "open a browser at the address when a display is available"}
    )

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"--port must be in 1..65535, got {self.port}")
        if not self.host.strip():
            raise ValueError("--host is empty")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
