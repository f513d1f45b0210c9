"""The options of lookup decoding, shared by the KV-cached decoder, the paper's reference loop and
the vLLM backend.

This module imports no torch: ``lmlm generate`` builds its flags from :class:`DecodingArgs` (with
``lmlm.cli.common.add_dataclass_arguments``) before any model is loaded. What a lookup that finds
nothing inserts is the resolver's policy (``ResolverConfig.fallback``), not a decoding option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START, LOOKUP_TOKENS

# The paper's decoding bias: +4 on the opener, +2 on the other lookup tokens.
PAPER_LOGIT_BIAS = {DB_START: 4.0, DB_SEP: 2.0, DB_RETURN: 2.0, DB_END: 2.0}


def _help(text: str, **more) -> dict:
    return {"help": text, **more}


@dataclass(frozen=True)
class DecodingArgs:
    """Options of lookup decoding (the same for the decoder, the reference loop and vLLM)."""

    max_new_tokens: int = field(
        default=128,
        metadata=_help("text tokens to write per prompt (lookup queries and looked-up values do not count)"),
    )
    do_sample: bool = field(
        default=False, metadata=_help("sample instead of greedy decoding", flags=("--sample",))
    )
    temperature: float = field(default=1.0, metadata=_help("sampling temperature (> 0; with --sample)"))
    top_p: float = field(default=1.0, metadata=_help("nucleus sampling mass in (0, 1] (with --sample)"))
    repetition_penalty: float = field(
        default=1.0, metadata=_help("CTRL-style penalty on tokens already in the row (1: none)")
    )
    logit_bias: dict[str, float] | Literal["paper"] | None = field(
        default=None,
        metadata=_help(
            'added to the lookup tokens\' logits: "paper" (+4 opener, +2 others), "none", or a JSON '
            "map {token: bias}"
        ),
    )
    enable_lookup: bool = field(
        default=True,
        metadata=_help(
            "answer lookups from the knowledge graph; --no-lookup: the model writes its own values",
            flags=("--lookup",),
        ),
    )
    max_lookups: int | None = field(
        default=None,
        metadata=_help("lookups per prompt; once reached the opener is suppressed and the model writes on"),
    )
    unknown_value: str = field(
        default="unknown",
        metadata=_help("inserted when a lookup has no value (a miss under fallback none, an error)"),
    )
    max_query_tokens: int = field(
        default=64,
        metadata=_help("a query (or model-written value) longer than this counts against max-new-tokens"),
    )
    seed: int | None = field(default=None, metadata=_help("random seed for sampling"))
    ignore_eos: bool = field(
        default=False,
        metadata=_help("never stop on EOS (benchmarks: outputs of exactly max-new-tokens text tokens)"),
    )
    entities_from_context: bool = field(
        default=False,
        metadata=_help(
            "a lookup's entity must already be written, in the prompt or the text before the lookup "
            "(case and punctuation ignored); any other gets unknown-value without asking the store "
            "(path 'unwritten'): a model that drifts to another person's name does not state that "
            "person's facts"
        ),
    )
    constrain: bool = field(
        default=True,
        metadata=_help(
            "lookup tokens only where the lookup grammar allows them (no stray separator or return "
            "in text, no nested opener); --no-constrain lets the model write anything"
        ),
    )

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.max_lookups is not None and self.max_lookups < 0:
            raise ValueError(f"max_lookups must be >= 0, got {self.max_lookups}")
        if self.max_query_tokens < 1:
            raise ValueError(f"max_query_tokens must be >= 1, got {self.max_query_tokens}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if isinstance(self.logit_bias, str) and self.logit_bias != "paper":
            raise ValueError(f"logit_bias must be a mapping or 'paper', got {self.logit_bias!r}")
        if isinstance(self.logit_bias, Mapping):
            unknown = sorted(set(self.logit_bias) - set(LOOKUP_TOKENS))
            if unknown:
                raise ValueError(f"logit_bias applies to the lookup tokens {LOOKUP_TOKENS}, got {unknown}")
            if not all(isinstance(v, (int, float)) for v in self.logit_bias.values()):
                raise ValueError(f"logit_bias values must be numbers, got {dict(self.logit_bias)}")

    @property
    def bias(self) -> dict[str, float]:
        """``{lookup token: bias}`` (empty without a bias)."""
        if self.logit_bias == "paper":
            return dict(PAPER_LOGIT_BIAS)
        return {token: float(value) for token, value in (self.logit_bias or {}).items()}
