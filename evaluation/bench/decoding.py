"""Lookup decoding throughput: the paper's loop vs the KV-cached batched decoder vs plain generate.

    python -m lmlm.evaluation.bench.decoding [--model DEMO_LMLM] [--store DEMO_KG] [--out DIR]

For each model (the demo LMLM, and a ~50M-parameter random-weight Llama with the same tokenizer)
it decodes the same prompts, greedy, ``--tokens`` text tokens each (EOS ignored), and reports
text tokens/s (the clean text) and output tokens/s (every token of the output: text, lookup
queries and injected values) of:

* ``reference b1``: the paper's loop (``lmlm.model.reference``), one prompt at a time;
* ``ours b1`` and ``ours bN``: ``LookupDecoder``;
* ``plain b1`` and ``plain bN``: ``model.generate`` of as many new tokens as ours wrote per row
  (output tokens), no lookups: the ceiling, since a lookup costs at least a forward over its
  value tokens.

A random-weight model writes no lookups, so the 50M model is *scripted*: at every step the
token the demo LMLM chose for that prompt is forced (a logits hook on top of the full forward
pass), so it does the demo model's lookups at the demo model's places. The resolver is the real
one over the demo store; the share of time spent in it is reported. The resolver keeps no answers
and the embedder no query vectors between lookups (both caches off), so each run pays for its own
lookups rather than reusing those of the run before it. It also checks that ours and the reference
wrote the same text. Writes ``decoding.json`` under ``--out``.

``--model``, ``--store`` and ``--prompts`` default to the demo's (``lmlm demo`` builds it under
``$LMLM_HOME/demo``); a path that does not exist is an error naming its flag.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessor

from lmlm.api import load_lmlm
from lmlm.kg import KnowledgeGraph
from lmlm.kg.embedding import Embedder
from lmlm.kg.knowledge_graph import lmlm_home
from lmlm.model import DecodingArgs, LookupDecoder
from lmlm.model.reference import reference_generate

from ..entry_point import parse_script_args, write_json


@dataclass(frozen=True)
class DecodingBenchArgs:
    model: str = field(metadata={"help": "the LMLM: a model directory or hub name"})
    store: str = field(metadata={"help": "the knowledge store: a directory or bolt:// URI"})
    prompts: str = field(metadata={"help": "prompts JSONL (a world's prompts.jsonl)"})
    tokens: int = field(default=256, metadata={"help": "text tokens per output"})
    batch: int = field(default=16, metadata={"help": "prompts decoded together"})
    big_hidden: int = field(default=512, metadata={"help": "hidden size of the random-weight Llama"})
    big_layers: int = field(default=12, metadata={"help": "layers of the random-weight Llama"})
    skip_big: bool = field(default=False, metadata={"help": "leave out the random-weight Llama"})
    out: str = field(default="bench-results", metadata={"help": "output directory"})

    def __post_init__(self) -> None:
        for name in ("tokens", "batch", "big_hidden", "big_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.big_hidden % 64:
            raise ValueError(f"--big-hidden must be a multiple of 64 (heads of 64), got {self.big_hidden}")
        if not Path(self.prompts).is_file():
            raise ValueError(f"--prompts {self.prompts}: no such file")
        if "://" not in self.store and not Path(self.store).is_dir():
            raise ValueError(f"--store {self.store}: no such directory")
        local = Path(self.model).is_absolute() or self.model.startswith((".", "~"))
        if local and not Path(self.model).expanduser().is_dir():
            raise ValueError(f"--model {self.model}: no such directory")


class TimedResolver:
    """The real resolver, with the time spent in it counted."""

    def __init__(self, resolver):
        self.resolver, self.seconds, self.calls, self.queries = resolver, 0.0, 0, 0

    def __call__(self, lookups):
        start = time.perf_counter()
        try:
            return self.resolver(lookups)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1
            self.queries += len(lookups)


class Script(LogitsProcessor):
    """Forces, for each row, the token the demo model wrote at that position (EOS past the end)."""

    def __init__(self, scripts: dict[tuple[int, ...], list[int]], eos: int):
        self.scripts, self.eos = scripts, eos
        self._by_len = sorted({len(k) for k in scripts})

    def _next(self, tokens: list[int]) -> int:
        for n in self._by_len:
            script = self.scripts.get(tuple(tokens[:n]))
            if script is not None:
                return script[len(tokens)] if len(tokens) < len(script) else self.eos
        return self.eos

    def _force(self, rows: list[list[int]], scores: torch.Tensor) -> torch.Tensor:
        forced = torch.full_like(scores, -1e4)
        for b, tokens in enumerate(rows):
            forced[b, self._next(tokens)] = 1e4
        return forced

    def __call__(self, input_ids, scores):  # Hugging Face processor (the reference loop)
        return self._force([row.tolist() for row in input_ids], scores)

    def hook(self, prompt_ids, generated, scores):  # LookupDecoder
        return self._force([p + g for p, g in zip(prompt_ids, generated)], scores)


def _time(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _measure(name, model, tok, resolver, prompts, args, batch, script=None) -> dict:
    rows: dict[str, dict] = {}
    timed = TimedResolver(resolver)
    hook = script.hook if script else None
    few = prompts[: max(2, len(prompts) // 4)]  # batch-1 runs on a quarter of the prompts

    def run(label, fn):
        timed.seconds = timed.queries = timed.calls = 0
        seconds, outputs = _time(fn)
        rows[label] = _row(seconds, outputs, timed, tok)
        return outputs

    ref = run(
        "reference b1",
        lambda: [reference_generate(model, tok, timed, p, args, logits_processor=script) for p in few],
    )
    decoder = LookupDecoder(model, tok, timed, args, logits_hook=hook)
    ours1 = run("ours b1", lambda: [decoder.generate([p])[0] for p in few])
    run(f"ours b{batch}", lambda: decoder.generate(prompts[:batch]))
    for label, group, like in (
        ("plain b1", [[p] for p in few], "ours b1"),
        (f"plain b{batch}", [prompts[:batch]], f"ours b{batch}"),
    ):
        # the same number of output tokens per row as ours wrote (lookups and values included)
        n = round(rows[like]["output_tokens"] / (len(few) if like == "ours b1" else batch))
        seconds, produced = _time(lambda group=group, n=n: sum(_plain(model, tok, g, n) for g in group))
        rows[label] = {
            "seconds": round(seconds, 3),
            "output_tokens": produced,
            "output_per_s": round(produced / seconds, 1),
        }
    same = sum(a.raw_text == b.raw_text for a, b in zip(ref, ours1))
    ours_n = rows[f"ours b{batch}"]
    return {
        "model": name,
        "parameters": sum(p.numel() for p in model.parameters()),
        "rows": rows,
        "ours_equals_reference": f"{same}/{len(few)}",
        "lookups_per_output": round(ours_n["lookups"] / batch, 2),
        "ratios": {
            "ours b1 / plain b1 (output tokens/s)": _ratio(rows, "ours b1", "plain b1", "output_per_s"),
            f"ours b{batch} / plain b{batch} (output tokens/s)": _ratio(
                rows, f"ours b{batch}", f"plain b{batch}", "output_per_s"
            ),
            f"ours b{batch} / reference b1 (text tokens/s)": _ratio(
                rows, f"ours b{batch}", "reference b1", "text_per_s"
            ),
            "ours b1 / reference b1 (text tokens/s)": _ratio(rows, "ours b1", "reference b1", "text_per_s"),
        },
    }


def _row(seconds: float, outputs, timed: TimedResolver, tok) -> dict:
    text = sum(o.text_tokens for o in outputs)
    output = sum(len(tok(o.raw_text, add_special_tokens=False)["input_ids"]) for o in outputs)
    return {
        "seconds": round(seconds, 3),
        "text_tokens": text,
        "output_tokens": output,
        "text_per_s": round(text / seconds, 1),
        "output_per_s": round(output / seconds, 1),
        "lookups": sum(len(o.lookups) for o in outputs),
        "resolver_share": round(timed.seconds / seconds, 4),
    }


def _ratio(rows, a, b, key) -> float:
    return round(rows[a][key] / rows[b][key], 3)


@torch.inference_mode()
def _plain(model, tok, prompts, n: int) -> int:
    enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left")
    model.generate(**enc, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=tok.eos_token_id)
    return n * len(prompts)


def _scripts(tok, outputs) -> dict:
    scripts = {}
    for out in outputs:
        prompt_ids = tok(out.prompt)["input_ids"]
        scripts[tuple(prompt_ids)] = prompt_ids + tok(out.raw_text, add_special_tokens=False)["input_ids"]
    return scripts


def _big_model(vocab: int, hidden: int, layers: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 64,
        max_position_embeddings=4096,
    )
    return LlamaForCausalLM(config).eval()


def run(args: DecodingBenchArgs) -> dict:
    """The measurements of each model, as written to JSON."""
    records = [json.loads(line) for line in Path(args.prompts).read_text().splitlines()]
    prompts = [r["prompt"] for r in records if not r.get("relation")][: args.batch]
    prompts += [r["prompt"] for r in records if r.get("relation")][: args.batch - len(prompts)]
    decoding = DecodingArgs(max_new_tokens=args.tokens, ignore_eos=True)
    results = []
    # Both caches off: each run resolves (and encodes) its own lookups.
    with KnowledgeGraph.open(args.store, embedder=Embedder(recent_queries=0)) as kg:
        resolver = kg.resolver(cache_size=0)
        # Warm-up outside the timings: the fuzzy index and the embedding model load on the first
        # exact miss (seconds, once per process), and the first forward passes allocate.
        resolver.resolve("no such entity", "no such relation")
        model = load_lmlm(args.model, lookup_fn=resolver)
        LookupDecoder(model, model.lmlm_tokenizer, resolver, DecodingArgs(max_new_tokens=8)).generate(
            prompts[:2]
        )
        tok = model.lmlm_tokenizer
        demo_result = _measure("demo LMLM", model, tok, resolver, prompts, decoding, args.batch)
        results.append(demo_result)
        if not args.skip_big:
            outputs = LookupDecoder(model, tok, resolver, decoding).generate(prompts[: args.batch])
            script = Script(_scripts(tok, outputs), tok.eos_token_id)
            big = _big_model(len(tok), args.big_hidden, args.big_layers)
            results.append(
                _measure(
                    "random-weight Llama (scripted)",
                    big,
                    tok,
                    resolver,
                    prompts,
                    decoding,
                    args.batch,
                    script,
                )
            )
        caches = {
            "resolver_cache": resolver.config.cache_size,
            "recent_query_cache": kg.embedder.recent_queries,
        }
    return {"tokens": args.tokens, **caches, "results": results}


def main(argv=None) -> int:
    demo = lmlm_home() / "demo"
    defaults = {
        "model": str(demo / "models" / "lmlm"),
        "store": str(demo / "kg"),
        "prompts": str(demo / "world" / "prompts.jsonl"),
    }
    args = parse_script_args(DecodingBenchArgs, argv, __doc__, defaults=defaults)
    report = run(args)
    _print(report["results"], args.tokens)
    print(f"\nwrote {write_json(Path(args.out) / 'decoding.json', report)}")
    return 0


def _print(results, tokens: int) -> None:
    print("resolver answer cache and embedder query cache off: every run resolves its own lookups")
    for r in results:
        print(
            f"\n{r['model']} ({r['parameters'] / 1e6:.1f}M parameters), {tokens} text tokens per output, "
            f"{r['lookups_per_output']} lookups per output, ours == reference: {r['ours_equals_reference']}"
        )
        print(
            f"  {'run':<16} {'text tok/s':>11} {'output tok/s':>13} {'seconds':>9} {'lookups':>8} {'resolver':>9}"
        )
        for name, row in r["rows"].items():
            share = f"{row['resolver_share']:.1%}" if "resolver_share" in row else "-"
            text = f"{row['text_per_s']:.1f}" if "text_per_s" in row else "-"
            print(
                f"  {name:<16} {text:>11} {row['output_per_s']:>13.1f} {row['seconds']:>9.2f} "
                f"{row.get('lookups', 0):>8} {share:>9}"
            )
        for name, value in r["ratios"].items():
            print(f"  {name:<48} {value:.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
