"""Annotation with vLLM's offline engine on a GPU (``pip install 'lmlm-kg[vllm]'``).

The same prompts as the other backends, rendered by vLLM with the model's chat template
(``LLM.chat``), greedy by default, a batch of ``batch_size`` texts per call, the LoRA adapter of
``lmlm train annotator`` applied per request (``LoRARequest``) without merging. vLLM schedules the
batch itself (continuous batching), so large batches (256 and more) keep the GPU busy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from .backends import BackendConfig, Completion, Request, max_new_tokens_for, resolve_model

logger = logging.getLogger(__name__)


class VLLMBackend:
    """``await VLLMBackend(config).complete(requests)``: one vLLM batch a call."""

    concurrency = 1

    def __init__(self, config: BackendConfig, **llm_kwargs):
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as e:  # the extra is optional
            raise ImportError(
                "the vllm backend needs the vllm extra and a GPU: pip install 'lmlm-kg[vllm]'"
            ) from e
        self.config = config
        self.batch_size = config.batch_size
        resolved = resolve_model(config.model, config.adapter)
        self.model_id = resolved.model_id
        self.adapter = resolved.adapter
        lora = {}
        self.lora_request = None
        if resolved.adapter:
            rank = json.loads((Path(resolved.adapter) / "adapter_config.json").read_text()).get("r", 16)
            lora = {"enable_lora": True, "max_lora_rank": max(8, int(rank))}
            self.lora_request = LoRARequest("annotator", 1, resolved.adapter)
        self.llm = LLM(model=resolved.base, tokenizer=resolved.tokenizer, **lora, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self._calls = 0

    async def complete(self, requests: Sequence[Request]) -> list[Completion]:
        return await asyncio.to_thread(self.generate, requests)

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        from vllm import SamplingParams

        self._calls += 1
        text_tokens = max(
            len(self.tokenizer(r.text, add_special_tokens=False)["input_ids"]) for r in requests
        )
        params = SamplingParams(
            temperature=self.config.temperature, max_tokens=max_new_tokens_for(self.config, text_tokens)
        )
        outputs = self.llm.chat(
            [list(r.messages) for r in requests], params, lora_request=self.lora_request, use_tqdm=False
        )
        return [
            Completion(
                request.id,
                out.outputs[0].text.strip(),
                prompt_tokens=len(out.prompt_token_ids or ()),
                completion_tokens=len(out.outputs[0].token_ids),
                finish_reason=out.outputs[0].finish_reason or "",
            )
            for request, out in zip(requests, outputs)
        ]

    def stats(self) -> dict:
        return {"batches": self._calls}

    async def aclose(self) -> None:
        return None
