"""The vLLM path: same results as the HF decoder under greedy decoding. Needs a CUDA GPU and the
``vllm`` extra; this suite runs it where both exist (marker ``gpu``)."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = pytest.mark.gpu


def _gpu_with_vllm() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _gpu_with_vllm(), reason="needs a CUDA GPU and the vllm extra")
def test_vllm_decoding_matches_the_hf_decoder(mini_demo):
    from lmlm import load_lmlm
    from lmlm.kg import KnowledgeGraph
    from lmlm.model import DecodingArgs
    from lmlm.model.vllm_backend import VLLMLookupDecoder

    records = [json.loads(line) for line in (mini_demo.world / "prompts.jsonl").read_text().splitlines()]
    prompts = [r["prompt"] for r in records[:8]]
    args = DecodingArgs(max_new_tokens=24, constrain=False)
    with KnowledgeGraph.open(mini_demo.kg) as kg:
        resolver = kg.resolver(fuzzy=False)
        hf = load_lmlm(mini_demo.model("lmlm"), lookup_fn=resolver)
        expected = hf.generate_outputs(prompts, constrain=False, max_new_tokens=24)
        got = VLLMLookupDecoder(mini_demo.model("lmlm"), resolver, args, dtype="float32").generate(prompts)
    assert sum(len(o.lookups) for o in got) > 0
    assert [o.raw_text for o in got] == [o.raw_text for o in expected]
