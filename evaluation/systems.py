"""What the evaluations compare: an LMLM with its store, a Standard model, the world they know.

:class:`ModelsArgs` names them (by default the demo's, under ``$LMLM_HOME/demo``);
:func:`load_causal_lm` and :func:`open_lmlm` load them (the only place the evaluations load
models), and :func:`generate_texts` decodes prompts with or without lookups.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelsArgs:
    """The models, store and world of an evaluation (each defaults to the demo's)."""

    demo: str = field(default="", metadata={"help": "demo directory (default: $LMLM_HOME/demo)"})
    lmlm: str = field(default="", metadata={"help": "LMLM model directory (default: the demo's)"})
    standard: str = field(default="", metadata={"help": "Standard model directory (default: the demo's)"})
    store: str = field(default="", metadata={"help": "the LMLM's store: a directory or bolt:// URI"})
    world: str = field(default="", metadata={"help": "generated world directory (default: the demo's)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda, cuda:1, ..."})
    batch_size: int = field(default=32, metadata={"help": "sequences per forward pass"})

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")

    def resolved(self) -> ModelsArgs:
        """Empty paths filled from the demo directory."""
        from lmlm.kg.knowledge_graph import lmlm_home

        root = Path(self.demo).expanduser() if self.demo else lmlm_home() / "demo"
        return replace(
            self,
            demo=str(root),
            lmlm=self.lmlm or str(root / "models" / "lmlm"),
            standard=self.standard or str(root / "models" / "standard"),
            store=self.store or str(root / "kg"),
            world=self.world or str(root / "world"),
        )

    def require(self, *names: str) -> ModelsArgs:
        """Resolved, with each named path checked (a clear error naming the flag)."""
        done = self.resolved()
        for name in names:
            path = getattr(done, name)
            if "://" in path:
                continue
            marker = {"lmlm": "config.json", "standard": "config.json", "world": "world.json"}.get(name)
            if not Path(path).exists() or (marker and not (Path(path) / marker).exists()):
                hint = " (run `lmlm demo build`)" if path.startswith(done.demo) else ""
                raise ValueError(f"--{name}: nothing usable at {path}{hint}")
        return done


def load_causal_lm(path: str, device: str = "cpu"):
    """(model, tokenizer) of a Hugging Face causal LM directory or hub name, float32, eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


@contextmanager
def open_lmlm(path: str, store: str, device: str = "cpu", **resolver_options):
    """The LMLM at ``path`` with lookups answered by ``store`` (closed on exit); yields
    ``(model, knowledge_graph)``. ``resolver_options`` go to ``ResolverConfig``."""
    import torch

    from lmlm.api import load_lmlm
    from lmlm.kg import ResolverConfig

    config = ResolverConfig(**resolver_options)
    model = load_lmlm(path, store, resolver_config=config, device=device, dtype=torch.float32)
    try:
        yield model, model.knowledge_graph
    finally:
        model.knowledge_graph.close()


def generate_texts(
    model, tokenizer, prompts: list[str], *, lookup: bool, max_new_tokens: int, batch_size: int = 32
) -> list:
    """Greedy continuations of ``prompts``: ``GenerationOutput`` s. With ``lookup`` the model's
    lookups go to its ``lookup_fn``; without, an LMLM's opener is suppressed (it writes from its
    weights, as ``lmlm demo`` shows) and a model whose tokenizer lacks the lookup tokens decodes
    plainly."""
    from lmlm.api import load_lmlm
    from lmlm.model import LookupTokenIds

    try:
        LookupTokenIds.from_tokenizer(tokenizer)  # checked first: load_lmlm changes the model's class
    except ValueError:
        if lookup:
            raise
        return _plain_outputs(model, tokenizer, prompts, max_new_tokens, batch_size)
    lmlm = load_lmlm(model, tokenizer=tokenizer)  # in place; an attached lookup_fn stays
    options = {} if lookup else {"max_lookups": 0}
    return lmlm.generate_outputs(
        prompts,
        tokenizer,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        enable_lookup=lookup,
        **options,
    )


def _plain_outputs(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int) -> list:
    import torch

    from lmlm.model import GenerationOutput

    outputs = []
    device = next(model.parameters()).device
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, padding_side="left").to(device)
        with torch.no_grad():
            ids = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        for prompt, row in zip(chunk, ids[:, enc["input_ids"].shape[1] :]):
            text = tokenizer.decode(row, skip_special_tokens=True)
            outputs.append(GenerationOutput(prompt, text, text, (), len(row), "length"))
    return outputs
