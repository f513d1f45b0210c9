"""One interface over the annotation backends; :func:`make_backend` builds the one a config names.

* ``openai``: any OpenAI-compatible chat-completions endpoint (OpenAI, a vLLM or llama.cpp
  server ...) through the official ``openai`` package (:mod:`.openai_backend`);
* ``local``: a Hugging Face model on this machine, CPU or GPU, with the LoRA adapter that
  ``lmlm train annotator`` writes (:mod:`.local_backend`);
* ``vllm``: vLLM's offline engine on a GPU, batched, with the same adapter (:mod:`.vllm_backend`).

A backend answers :class:`Request` s with :class:`Completion` s. ``concurrency`` requests (or
batches of up to ``batch_size``) are in flight at once; the pipeline feeds it. A request that fails
for good (after the retries of the openai client) comes back as a Completion with ``error`` set:
the pipeline records it and a later ``--resume`` tries it again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

logger = logging.getLogger(__name__)

BACKENDS = ("openai", "local", "vllm")

# USD per million input / output tokens, as listed by OpenAI (2025); --price-input/--price-output
# override them, and any other model costs 0 unless priced.
PRICES_PER_MILLION = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True)
class BackendConfig:
    """Which model annotates and how it is called; every field is a flag of ``lmlm annotate``."""

    backend: Literal["openai", "local", "vllm"] = field(
        default="openai", metadata={"help": "openai (any compatible endpoint), local (Hugging Face), vllm"}
    )
    model: str = field(
        default="",
        metadata={
            "help": "model name (openai) or directory/hub name (local, vllm): a base model, or an "
            "adapter directory written by `lmlm train annotator`"
        },
    )
    adapter: str = field(default="", metadata={"help": "LoRA adapter directory (local, vllm)"})
    base_url: str = field(
        default="", metadata={"help": "API base URL (openai; default: $OPENAI_BASE_URL, else OpenAI's)"}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={
            "help": "environment variable that holds the API key (openai; keys never on the command line)"
        },
    )
    concurrency: int = field(default=8, metadata={"help": "requests in flight at once (openai)"})
    batch_size: int = field(default=8, metadata={"help": "texts generated together (local, vllm)"})
    max_retries: int = field(
        default=5, metadata={"help": "retries of a request on 429, 5xx, timeouts (openai client's backoff)"}
    )
    timeout: float = field(default=120.0, metadata={"help": "seconds before a request times out (openai)"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature (0: greedy)"})
    max_new_tokens: int = field(
        default=0,
        metadata={
            "help": "tokens a response may have (0: local and vllm twice the text's tokens + 64, openai the server's limit)"
        },
    )
    price_input: float = field(
        default=-1.0,
        metadata={"help": "USD per million prompt tokens for the cost estimate (-1: known price or 0)"},
    )
    price_output: float = field(
        default=-1.0, metadata={"help": "USD per million completion tokens (-1: known price or 0)"}
    )
    device: str = field(default="auto", metadata={"help": "local: auto, cpu, cuda ..."})

    def __post_init__(self) -> None:
        _require(self.backend in BACKENDS, "--backend", self.backend, f"must be one of {', '.join(BACKENDS)}")
        _require(bool(self.model.strip()), "--model", self.model, "is required")
        for flag, value in (("--concurrency", self.concurrency), ("--batch-size", self.batch_size)):
            _require(value >= 1, flag, value, "must be >= 1")
        _require(self.max_retries >= 0, "--max-retries", self.max_retries, "must be >= 0")
        _require(self.timeout > 0, "--timeout", self.timeout, "must be > 0")
        _require(self.temperature >= 0, "--temperature", self.temperature, "must be >= 0")
        _require(self.max_new_tokens >= 0, "--max-new-tokens", self.max_new_tokens, "must be >= 0")
        _require(bool(self.api_key_env.strip()), "--api-key-env", self.api_key_env, "is empty")
        if self.adapter and self.backend == "openai":
            raise ValueError("--adapter is for --backend local or vllm (a server loads its own adapters)")

    def prices(self) -> tuple[float, float]:
        """(input, output) USD per million tokens."""
        known = PRICES_PER_MILLION.get(self.model, (0.0, 0.0))
        return (
            self.price_input if self.price_input >= 0 else known[0],
            self.price_output if self.price_output >= 0 else known[1],
        )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        price_in, price_out = self.prices()
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6


def _require(ok: bool, flag: str, value, problem: str) -> None:
    if not ok:
        raise ValueError(f"{flag} {problem}, got {value!r}")


@dataclass(frozen=True)
class Request:
    """One text to annotate: ``id`` names it in the output; ``messages`` is the rendered prompt."""

    id: str
    text: str
    messages: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Completion:
    """A backend's answer to one request; ``error`` set (and ``text`` empty) when it failed for good."""

    id: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    error: str = ""
    attempts: int = 1


class Backend(Protocol):
    """What the pipeline calls; see the module docstring."""

    model_id: str  # stored as the annotator of every output
    concurrency: int  # calls of complete() in flight at once
    batch_size: int  # requests per call of complete()

    async def complete(self, requests: Sequence[Request]) -> list[Completion]: ...

    def stats(self) -> dict: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ResolvedModel:
    """Where a local model's parts are: the base weights, the adapter (if any) and the tokenizer."""

    base: str
    adapter: str
    tokenizer: str

    @property
    def model_id(self) -> str:
        return f"{self.base}+{Path(self.adapter).name}" if self.adapter else self.base


def resolve_model(model: str, adapter: str = "") -> ResolvedModel:
    """``model`` may be a base, a merged model or an adapter directory (its base is then read from
    ``adapter_config.json``). The tokenizer comes from the adapter directory when it holds one:
    ``lmlm train annotator`` saves it there, chat template included."""
    if not adapter and (Path(model) / "adapter_config.json").is_file():
        adapter, model = model, ""
    if adapter:
        config_path = Path(adapter) / "adapter_config.json"
        if not config_path.is_file():
            raise ValueError(f"--adapter {adapter}: no adapter_config.json (not a LoRA adapter directory)")
        base = model or json.loads(config_path.read_text()).get("base_model_name_or_path") or ""
        if not base:
            raise ValueError(f"--adapter {adapter}: adapter_config.json names no base model; pass --model")
        has_tokenizer = (Path(adapter) / "tokenizer_config.json").is_file()
        return ResolvedModel(str(base), str(adapter), str(adapter) if has_tokenizer else str(base))
    return ResolvedModel(model, "", model)


def max_new_tokens_for(config: BackendConfig, text_tokens: int) -> int:
    """The response budget: an annotation is the text plus its calls, rarely more than twice it."""
    return config.max_new_tokens or 2 * text_tokens + 64


def make_backend(config: BackendConfig) -> Backend:
    """The backend ``config.backend`` names (imports its packages only now)."""
    if config.backend == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(config, api_key=os.environ.get(config.api_key_env))
    if config.backend == "local":
        from .local_backend import LocalBackend

        return LocalBackend(config)
    from .vllm_backend import VLLMBackend

    return VLLMBackend(config)
