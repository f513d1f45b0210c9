"""The LMLM model: any Hugging Face causal LM whose tokenizer has the four lookup tokens.

``lmlm.load_lmlm`` loads a checkpoint with ``AutoModelForCausalLM`` (a paper checkpoint is a plain
``LlamaForCausalLM``; GPT-2-style models work the same way) and turns it into an instance of a
subclass of its own class that also derives from :class:`LMLM`, which adds lookup decoding.
Everything of the base class keeps working: ``generate`` for plain decoding, ``to``,
``save_pretrained`` (which writes a checkpoint of the base architecture, so plain ``transformers``
and vLLM load it too). ``isinstance(model, LMLM)`` holds for every loaded model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from .answers import LookupFn
from .decoding_args import DecodingArgs
from .generation import LookupDecoder, RowFinished, TextDelta
from .lookup_state import LookupTokenIds
from .results import GenerationOutput, post_process

_CLASSES: dict[type, type] = {}


class LMLM:
    """Lookup decoding on top of a causal LM class (see :func:`lmlm.load_lmlm`).

    ``lookup_fn`` answers the lookups; ``lmlm_tokenizer`` is the tokenizer loaded with the model;
    ``knowledge_graph`` is the graph ``load_lmlm`` opened for it, if any (close it when done).
    Decoding options are :class:`DecodingArgs`, as ``args=`` or as keywords.
    """

    _lmlm_base: type  # the causal LM class this LMLM class extends (set by lmlm_class)
    lookup_fn: LookupFn | None = None
    lmlm_tokenizer = None
    knowledge_graph = None

    def _decoder(self, tokenizer, args: DecodingArgs | None, options: dict) -> LookupDecoder:
        tokenizer = tokenizer or self.lmlm_tokenizer
        if tokenizer is None:
            raise ValueError("pass a tokenizer (none was loaded with the model)")
        args = dataclasses.replace(args, **options) if args is not None else DecodingArgs(**options)
        return LookupDecoder(self, tokenizer, self.lookup_fn if args.enable_lookup else None, args)

    def generate_outputs(
        self,
        prompts: str | Sequence[str],
        tokenizer=None,
        *,
        args: DecodingArgs | None = None,
        batch_size: int = 16,
        **options,
    ) -> list[GenerationOutput]:
        """Structured results: raw and clean text, each lookup with its path, score, fact id and span."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        decoder = self._decoder(tokenizer, args, options)
        out: list[GenerationOutput] = []
        for start in range(0, len(prompts), batch_size):
            out.extend(decoder.generate(prompts[start : start + batch_size]))
        return out

    def generate_with_lookup(
        self,
        prompt: str | Sequence[str],
        tokenizer=None,
        enable_dblookup: bool = True,
        max_new_tokens: int = 256,
        **options,
    ) -> str | list[str]:
        """The paper's API: the prompt followed by the generated text with its lookups inline.

        Pass the result to :meth:`post_process` for clean prose, or use :meth:`generate_outputs`.
        """
        outputs = self.generate_outputs(
            prompt, tokenizer, enable_lookup=enable_dblookup, max_new_tokens=max_new_tokens, **options
        )
        texts = [o.prompt + o.raw_text for o in outputs]
        return texts[0] if isinstance(prompt, str) else texts

    def stream_with_lookup(
        self, prompts: str | Sequence[str], tokenizer=None, *, args: DecodingArgs | None = None, **options
    ) -> Iterator[TextDelta | RowFinished]:
        """Clean text pieces as they are written, then each row's :class:`GenerationOutput`."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        return self._decoder(tokenizer, args, options).stream(prompts)

    def post_process(self, text: str, tokenizer=None) -> str:
        """Lookups removed, clean prose."""
        tokenizer = tokenizer or self.lmlm_tokenizer
        return post_process(text, getattr(tokenizer, "eos_token", None))

    def save_pretrained(self, save_directory, *args, **kwargs):
        """A checkpoint of the base architecture (plus the tokenizer, when one is attached)."""
        super().save_pretrained(save_directory, *args, **kwargs)
        config_path = Path(save_directory) / "config.json"
        if config_path.exists():  # transformers writes this class's name; readers want the base's
            config = json.loads(config_path.read_text(encoding="utf-8"))
            config["architectures"] = [self._lmlm_base.__name__]
            config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if self.lmlm_tokenizer is not None:
            self.lmlm_tokenizer.save_pretrained(save_directory)


def lmlm_class(base: type) -> type:
    """The subclass of ``base`` (a causal LM class) and :class:`LMLM`, made once per base."""
    if issubclass(base, LMLM):
        return base
    cls = _CLASSES.get(base)
    if cls is None:
        cls = type(f"LMLM{base.__name__}", (LMLM, base), {"__module__": __name__, "_lmlm_base": base})
        _CLASSES[base] = cls
    return cls


def _attach(model, tokenizer=None, lookup_fn: LookupFn | None = None) -> LMLM:
    """Makes a loaded causal LM an :class:`LMLM` in place (its class gains the lookup methods) and
    attaches ``tokenizer`` and ``lookup_fn``. The building block of :func:`lmlm.load_lmlm`."""
    model.__class__ = lmlm_class(type(model))
    if tokenizer is not None:
        LookupTokenIds.from_tokenizer(tokenizer)  # fails early on a tokenizer without the tokens
        embeddings = model.get_input_embeddings().weight.shape[0]
        if len(tokenizer) > embeddings:
            raise ValueError(
                f"the tokenizer has {len(tokenizer)} tokens but the model only {embeddings} embeddings; "
                "resize with `lmlm train tokenizer --extend`"
            )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # the paper's checkpoints: pad = eos
        model.lmlm_tokenizer = tokenizer
    if lookup_fn is not None:
        model.lookup_fn = lookup_fn
    return model


def _load_pretrained(path, tokenizer=None, **model_kwargs):
    """``(model, tokenizer)`` from a model directory or a hub name; ``OSError`` naming a local path
    that does not exist (before anything else is opened)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = str(path)
    local = Path(path).expanduser()
    if local.exists():
        path = str(local)
    elif path.startswith(("/", ".", "~")) or path.count("/") > 1:
        raise OSError(f"no model at {path}: give a model directory or a hub name such as org/model")
    model = AutoModelForCausalLM.from_pretrained(path, **model_kwargs)
    model.eval()
    if tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer
