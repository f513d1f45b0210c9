"""Annotation with a Hugging Face model on this machine (CPU or GPU), batched greedy generation.

Loads a base model, a merged model, or the LoRA adapter that ``lmlm train annotator`` writes (the
adapter is merged into the base for speed). The prompt is rendered with the tokenizer's chat
template, as in training. Generation runs in a worker thread so the event loop (progress bar,
Ctrl-C, output writing) stays responsive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from .backends import BackendConfig, Completion, Request, max_new_tokens_for, resolve_model

logger = logging.getLogger(__name__)


class LocalBackend:
    """``await LocalBackend(config).complete(requests)``: up to ``batch_size`` texts a call."""

    concurrency = 1  # one batch at a time: the model uses every core already

    def __init__(self, config: BackendConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config
        self.batch_size = config.batch_size
        resolved = resolve_model(config.model, config.adapter)
        self.model_id = resolved.model_id
        self.adapter = resolved.adapter
        self.tokenizer = AutoTokenizer.from_pretrained(resolved.tokenizer)
        if not self.tokenizer.chat_template:
            raise ValueError(f"--model {config.model}: the tokenizer has no chat template")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # generation continues every row from its last token
        model = AutoModelForCausalLM.from_pretrained(resolved.base)
        if resolved.adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, resolved.adapter).merge_and_unload()
        device = (
            config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model = model.to(device).eval()
        self.device = device
        self._calls = 0
        logger.info("local annotator %s on %s", self.model_id, device)

    async def complete(self, requests: Sequence[Request]) -> list[Completion]:
        return await asyncio.to_thread(self.generate, requests)

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Greedy (or sampled, with a temperature) completions of ``requests``, in order."""
        import torch

        self._calls += 1
        prompts = [
            self.tokenizer.apply_chat_template(list(r.messages), add_generation_prompt=True, tokenize=False)
            for r in requests
        ]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(self.device)
        text_tokens = max(
            len(self.tokenizer(r.text, add_special_tokens=False)["input_ids"]) for r in requests
        )
        budget = max_new_tokens_for(self.config, text_tokens)
        sampling = {"do_sample": False}
        if self.config.temperature > 0:
            sampling = {"do_sample": True, "temperature": self.config.temperature}
        with torch.no_grad():
            out = self.model.generate(
                **batch, max_new_tokens=budget, pad_token_id=self.tokenizer.pad_token_id, **sampling
            )
        n_prompt = batch["input_ids"].shape[1]
        completions = []
        for row, request in enumerate(requests):
            new = out[row, n_prompt:]
            ended = (new == self.tokenizer.eos_token_id).nonzero()
            length = int(ended[0]) + 1 if len(ended) else len(new)
            text = self.tokenizer.decode(new[:length], skip_special_tokens=True).strip()
            completions.append(
                Completion(
                    request.id,
                    text,
                    prompt_tokens=int(batch["attention_mask"][row].sum()),
                    completion_tokens=length,
                    finish_reason="stop" if len(ended) else "length",
                )
            )
        return completions

    def stats(self) -> dict:
        return {"batches": self._calls}

    async def aclose(self) -> None:
        return None
