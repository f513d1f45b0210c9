"""The LMLM model: any Hugging Face causal LM whose tokenizer has the four lookup tokens.

``LMLM.from_pretrained(path)`` loads the checkpoint with ``AutoModelForCausalLM`` (a paper
checkpoint is a plain ``LlamaForCausalLM``; GPT-2-style models work the same way) and returns it as
an instance of a subclass of its own class that adds lookup decoding. Everything of the base
class keeps working: ``generate`` for plain decoding, ``to``, ``save_pretrained`` (which writes a
checkpoint of the base architecture, so plain ``transformers`` and vLLM load it too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from .generation import DecodingArgs, LookupDecoder, LookupFn, RowFinished, TextDelta
from .lookup_state import LookupTokenIds
from .results import GenerationOutput, post_process

_CLASSES: dict[type, type] = {}


class LMLMMixin:
    """Lookup decoding on top of a causal LM class. Set ``lookup_fn`` and ``lmlm_tokenizer``."""

    lookup_fn: LookupFn | None = None
    lmlm_tokenizer = None

    def _decoder(self, tokenizer, args: DecodingArgs) -> LookupDecoder:
        tokenizer = tokenizer or self.lmlm_tokenizer
        if tokenizer is None:
            raise ValueError("pass a tokenizer (none was loaded with the model)")
        return LookupDecoder(self, tokenizer, self.lookup_fn if args.enable_lookup else None, args)

    def generate_outputs(
        self, prompts: str | Sequence[str], tokenizer=None, *, batch_size: int = 16, **options
    ) -> list[GenerationOutput]:
        """Structured results: raw and clean text, each lookup with its path, score, fact id and span."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        decoder = self._decoder(tokenizer, DecodingArgs(**options))
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
        self, prompts: str | Sequence[str], tokenizer=None, **options
    ) -> Iterator[TextDelta | RowFinished]:
        """Clean text pieces as they are written, then each row's :class:`GenerationOutput`."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        return self._decoder(tokenizer, DecodingArgs(**options)).stream(prompts)

    def post_process(self, text: str, tokenizer=None) -> str:
        """Lookups removed, clean prose."""
        tokenizer = tokenizer or self.lmlm_tokenizer
        return post_process(text, getattr(tokenizer, "eos_token", None))

    def save_pretrained(self, save_directory, *args, **kwargs):
        """A checkpoint of the base architecture (plus the tokenizer, when one is attached)."""
        super().save_pretrained(save_directory, *args, **kwargs)
        config_path = Path(save_directory) / "config.json"
        if config_path.exists():
            config = json.loads(config_path.read_text(encoding="utf-8"))
            config["architectures"] = [type(self).__mro__[2].__name__]
            config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if self.lmlm_tokenizer is not None:
            self.lmlm_tokenizer.save_pretrained(save_directory)


def as_lmlm(model, tokenizer=None, lookup_fn: LookupFn | None = None):
    """Turns a loaded causal LM into an LMLM in place (its class gains the lookup methods)."""
    base = type(model)
    if not isinstance(model, LMLMMixin):
        cls = _CLASSES.get(base)
        if cls is None:
            cls = type(f"LMLM{base.__name__}", (LMLMMixin, base), {"__module__": __name__})
            _CLASSES[base] = cls
        model.__class__ = cls
    if tokenizer is not None:
        LookupTokenIds.from_tokenizer(tokenizer)  # fails early on a tokenizer without the tokens
        embeddings = model.get_input_embeddings().weight.shape[0]
        if len(tokenizer) > embeddings:
            raise ValueError(
                f"the tokenizer has {len(tokenizer)} tokens but the model only {embeddings} embeddings; "
                "resize with `lmlm train tokenizer --extend`"
            )
        model.lmlm_tokenizer = tokenizer
    if lookup_fn is not None:
        model.lookup_fn = lookup_fn
    return model


class LMLM:
    """Loaders. ``LMLM.from_pretrained(path_or_hub_name, lookup_fn=resolver)``."""

    @staticmethod
    def from_pretrained(path, *, lookup_fn: LookupFn | None = None, tokenizer=None, **kwargs):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = str(path)
        local = Path(path).expanduser()
        if local.exists():
            path = str(local)
        elif path.startswith(("/", ".", "~")) or path.count("/") > 1:
            raise OSError(f"no model at {path}: give a model directory or a hub name such as org/model")
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        model.eval()
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(path)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # the paper's checkpoints: pad = eos
        return as_lmlm(model, tokenizer, lookup_fn)

    @staticmethod
    def from_pretrained_with_db(path, db, **kwargs):
        """The paper's loader: ``db`` is a lookup function or anything with ``.resolver()``
        (a ``KnowledgeGraph``); to open a store by path or URI use ``lmlm.load_lmlm``."""
        lookup_fn = db.resolver() if hasattr(db, "resolver") else db
        if not callable(lookup_fn):
            raise TypeError(f"db must be a resolver or have .resolver(), got {type(db).__name__}")
        return LMLM.from_pretrained(path, lookup_fn=lookup_fn, **kwargs)
