"""Decoding for the pages: the LMLM with its lookups answered by the tab's graph and resolver, the
same model with lookups off (it writes the values itself) and the Standard model."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lmlm.app import resources
from lmlm.app.state import Settings

if TYPE_CHECKING:
    from lmlm.model import GenerationOutput, LookupDecoder, RowFinished, TextDelta

Kind = Literal["lmlm", "no_lookup", "standard"]
KIND_LABELS = {
    "lmlm": "LMLM, lookups answered by the knowledge graph",
    "no_lookup": "the same model, lookups suppressed: it writes the values from its weights",
    "standard": "Standard model (same size, trained without lookups)",
}


class NoModelError(ValueError):
    """The tab has no model of the kind asked for (none given and no demo built)."""


@dataclass(frozen=True)
class Outputs:
    """The Generate page's prompts and what each kind of model wrote for them."""

    prompts: tuple[str, ...]
    settings: Settings
    lmlm: tuple[GenerationOutput, ...] = ()
    no_lookup: tuple[GenerationOutput, ...] = ()
    standard: tuple[GenerationOutput, ...] = ()
    seconds: float = 0.0

    def of(self, kind: Kind) -> tuple[GenerationOutput, ...]:
        return getattr(self, kind)


def decoder(settings: Settings, kind: Kind) -> LookupDecoder:
    """A decoder for one kind of output under ``settings`` (models load on first use)."""
    from lmlm.model import LookupDecoder

    config = settings.config
    path = config.standard_model if kind == "standard" else config.model
    if not path:
        what = "Standard model (--standard-model)" if kind == "standard" else "model (--model)"
        raise NoModelError(f"no {what} is configured: give one on Settings or to `lmlm app`")
    model = resources.load_model(path, config.tokenizer if kind != "standard" else None, config.threads)
    # Streamlit runs each script on a thread of its own, which starts on torch's default count, and
    # the fuzzy index's embedder puts that default back (2 here): decoding the demo model on two
    # threads of a busy 2-core machine was 10x slower than on one. This thread's count, every time.
    from lmlm.kg.embedding import use_threads_in_this_thread

    use_threads_in_this_thread(config.threads)
    args = settings.decoding
    lookup_fn = None
    if kind == "lmlm":
        handle = resources.open_graph(config.store)
        if handle.kg is None:
            raise NoModelError(f"the knowledge graph is not available: {handle.error}")
        lookup_fn = handle.lookup_fn(settings.resolver)
    else:  # no opener at all: a model trained with lookups never learned to close one itself
        args = dataclasses.replace(args, enable_lookup=False, max_lookups=0)
    return LookupDecoder(model, model.lmlm_tokenizer, lookup_fn, args)


def generate(settings: Settings, prompts: Sequence[str], kind: Kind = "lmlm") -> tuple[GenerationOutput, ...]:
    return tuple(decoder(settings, kind).generate(list(prompts))) if prompts else ()


def stream(
    settings: Settings, prompts: Sequence[str], kind: Kind = "lmlm"
) -> Iterator[TextDelta | RowFinished]:
    return decoder(settings, kind).stream(list(prompts))


def compare_kinds(settings: Settings, *, force: bool = False) -> list[Kind]:
    """The kinds shown beside the LMLM's output: lookups off, and the Standard model when there is
    one (``force``: even when the tab turned the comparison off)."""
    if not (settings.compare or force):
        return []
    return ["no_lookup"] + (["standard"] if settings.config.standard_model else [])


def timed_generate(settings: Settings, prompts: Sequence[str]) -> tuple[tuple[GenerationOutput, ...], float]:
    start = time.perf_counter()
    out = generate(settings, prompts)
    return out, time.perf_counter() - start
