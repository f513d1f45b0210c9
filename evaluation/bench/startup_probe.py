"""The steps of ``lmlm generate``, timed one by one in a fresh interpreter (run by
``lmlm.evaluation.bench.startup``, which also times the real command).

    python -m lmlm.evaluation.bench.startup_probe MODEL STORE PROMPT TOKENS

Makes the calls ``lmlm.cli.generate.cmd_generate`` makes, in its order, with a timestamp after each:
the command's parser, ``import torch``, ``import transformers`` and its auto classes, the model's
modeling module, ``load_lmlm`` (weights, tokenizer, store), the first decode and a second one (the
difference is first-call warm-up). Prints one JSON object: the phases, which watched modules were
imported by the end, whether the fuzzy index was loaded, and each lookup's path.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import json  # noqa: E402 (after the first timestamp)
import sys  # noqa: E402

# Modules an exact-hit `lmlm generate` has no use for (or that transformers itself imports: the
# benchmark compares with a plain transformers load).
WATCHED = (
    "sentence_transformers",
    "faiss",
    "accelerate",
    "scipy",
    "sympy",
    "trl",
    "peft",
    "datasets",
    "matplotlib",
    "neo4j",
    "openai",
    "streamlit",
    "sklearn",
    "pandas",
    "lmlm.train.pretrain",
    "lmlm.train.annotator",
)


def probe(model_path: str, store: str, prompt: str, tokens: int) -> dict:
    phases: list[tuple[str, float]] = []
    last = _START

    def mark(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases.append((name, round(now - last, 3)))
        last = now

    from lmlm.cli import build_parser
    from lmlm.cli.common import dataclass_from_args

    argv = ["generate", prompt, "--model", model_path, "--store", store, "--max-new-tokens", str(tokens)]
    args = build_parser().parse_args(argv)
    mark("lmlm command: imports and flags")
    import torch

    mark("import torch")
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: F401 (lazy names)

    mark("import transformers (auto classes)")
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    MODEL_FOR_CAUSAL_LM_MAPPING[type(AutoConfig.from_pretrained(model_path))]
    mark("the model's modeling module (transformers)")
    from lmlm.api import load_lmlm
    from lmlm.kg.resolver import ResolverConfig
    from lmlm.model.decoding_args import DecodingArgs

    model = load_lmlm(
        model_path, store, resolver_config=ResolverConfig(fallback=args.fallback), device=args.device
    )
    mark("load_lmlm: weights, tokenizer, store")
    decoding = dataclass_from_args(DecodingArgs, args)
    outputs = model.generate_outputs([prompt], args=decoding, batch_size=args.batch_size)
    mark(f"first decode ({tokens} text tokens)")
    model.generate_outputs([prompt], args=decoding, batch_size=args.batch_size)
    mark("second decode (the same)")
    loaded = bool(model.knowledge_graph.fuzzy_index_loaded)
    model.knowledge_graph.close()
    return {
        "phases": dict(phases),
        "total_s": round(time.perf_counter() - _START, 3),
        "torch_threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
        "modules_loaded": [m for m in WATCHED if m in sys.modules],
        "fuzzy_index_loaded": loaded,
        "lookup_paths": [r.path for o in outputs for r in o.lookups],
    }


if __name__ == "__main__":
    model_path, store, prompt, tokens = sys.argv[1:5]
    print(json.dumps(probe(model_path, store, prompt, int(tokens))))
