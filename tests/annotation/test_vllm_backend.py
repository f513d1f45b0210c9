"""The vLLM backend: the same prompts and, greedy, the same outputs as the local backend, with the
LoRA adapter of ``lmlm train annotator``. Needs a CUDA GPU and the ``vllm`` extra (marker ``gpu``)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from lmlm.annotation import BackendConfig, Request, get_prompt
from tests.annotation.conftest import world_biographies

pytestmark = pytest.mark.gpu


def _gpu_with_vllm() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(
    not _gpu_with_vllm(), reason="needs a CUDA GPU and the vllm extra (pip install 'lmlm-kg[vllm]')"
)
def test_vllm_annotates_like_the_local_backend(quality):
    from lmlm.annotation.local_backend import LocalBackend
    from lmlm.annotation.vllm_backend import VLLMBackend

    _, result = quality
    prompt = get_prompt("lmlm-sft-v1")
    requests = [
        Request(d["id"], d["text"], tuple(prompt.messages(d["text"]))) for d in world_biographies(6, seed=5)
    ]
    config = BackendConfig(
        backend="vllm", model=result["annotator"]["adapter"], max_new_tokens=48, batch_size=6
    )
    vllm = VLLMBackend(config, dtype="float32", gpu_memory_utilization=0.3, enforce_eager=True)
    local = LocalBackend(BackendConfig(**(config.__dict__ | {"backend": "local", "device": "cuda"})))
    got = asyncio.run(vllm.complete(requests))
    expected = local.generate(requests)
    assert [c.id for c in got] == [r.id for r in requests]
    assert [c.text for c in got] == [c.text for c in expected]
    assert all(c.completion_tokens > 0 and c.prompt_tokens > 0 for c in got)
