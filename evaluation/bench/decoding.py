"""Lookup decoding throughput: the paper's loop vs the KV-cached batched decoder vs plain generate.

    python -m lmlm.evaluation.bench.decoding [--model DEMO_LMLM] [--store DEMO_KG] [--out DIR] \
        [--tokens 256] [--batch 16] [--repeats 3] [--threads 1,default] [--settings ours,paper]

For each model (the demo LMLM, and a ~50M-parameter random-weight Llama with the same tokenizer)
it decodes the same prompts, ``--tokens`` text tokens each (EOS ignored), and reports text tokens/s
(the clean text) and output tokens/s (every token of the output: text, lookup queries and injected
values) of:

* ``reference b1``: the paper's loop (``lmlm.model.reference``), one prompt at a time;
* ``ours b1`` and ``ours bN``: ``LookupDecoder``, one prompt at a time and ``--batch`` together;
* ``plain b1`` and ``plain bN``: ``model.generate`` of exactly as many new tokens per prompt as
  ours wrote (output tokens), no lookups: the ceiling, since a lookup costs at least a forward over
  its value tokens.

Each variant runs under each decoding setting of ``--settings``, greedy:

* ``ours``: this project's defaults (no repetition penalty, no logit bias, grammar constraint on);
* ``paper``: the paper's (repetition penalty 1.2, +4 on ``<|db_entity|>`` and +2 on the other
  lookup tokens, no grammar constraint). ``plain`` runs take the same repetition penalty.

and at each torch intra-op thread count of ``--threads`` (``default`` is the count torch starts
with, reported). All variants of a model take turns, one call each per repetition, the order
rotated every repetition, so load from other processes on a shared machine falls on all alike;
each figure is the median over ``--repeats`` repetitions with its min, max and spread
(``(max - min) / median``), and each ratio is taken within a repetition, then summarized. One
untimed pass per setting comes first (allocations, and the token counts plain ``generate`` must
match); the fuzzy index and embedding model are loaded before any timing and the seconds that took
are reported apart.

A random-weight model writes no lookups, so the 50M model is *scripted*: at every step the token
the demo LMLM chose for that prompt under that setting is forced (a logits hook on top of the full
forward pass), so it does the demo model's lookups at the demo model's places. The resolver is the
real one over the demo store; the share of time spent in it is reported. The resolver keeps no
answers and the embedder no query vectors between lookups (both caches off), so each run pays for
its own lookups. The demo model's first ``--check-prompts`` prompts are decoded (untimed) by the
paper's loop, ours at batch 1 and ours batched, under each setting, and the raw texts compared.

Writes ``decoding.json`` under ``--out`` with the machine (CPU, bf16 flags, cores, torch threads,
load average before and after), every setting and every repetition's seconds.

``--model``, ``--store`` and ``--prompts`` default to the demo's (``lmlm demo`` builds it under
``$LMLM_HOME/demo``); a path that does not exist is an error naming its flag.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
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
from ..world_sets import read_jsonl
from .decoding_report import print_report, summarize_model
from .timing import check_thread_spec, describe_machine, load_average, run_interleaved, thread_counts

# The decoding settings a run can be timed under (on top of greedy, --tokens, EOS ignored).
SETTINGS: dict[str, dict] = {
    "ours": {},  # this project's defaults: no penalty, no bias, grammar constraint on
    "paper": {"repetition_penalty": 1.2, "logit_bias": "paper", "constrain": False},
}


@dataclass(frozen=True)
class DecodingBenchArgs:
    model: str = field(metadata={"help": "the LMLM: a model directory or hub name"})
    store: str = field(metadata={"help": "the knowledge store: a directory or bolt:// URI"})
    prompts: str = field(metadata={"help": "prompts JSONL (a world's prompts.jsonl)"})
    tokens: int = field(default=256, metadata={"help": "text tokens per output"})
    batch: int = field(default=16, metadata={"help": "prompts decoded together"})
    b1_prompts: int = field(default=4, metadata={"help": "prompts decoded one at a time in the b1 runs"})
    check_prompts: int = field(
        default=16, metadata={"help": "demo prompts decoded untimed by every decoder to compare their texts"}
    )
    repeats: int = field(default=3, metadata={"help": "timed repetitions of every variant (interleaved)"})
    threads: str = field(
        default="1,default",
        metadata={"help": "torch intra-op thread counts to time, comma-separated (default: torch's own)"},
    )
    settings: str = field(
        default="ours,paper",
        metadata={"help": f"decoding settings to time, comma-separated: {', '.join(SETTINGS)}"},
    )
    big_hidden: int = field(default=512, metadata={"help": "hidden size of the random-weight Llama"})
    big_layers: int = field(default=12, metadata={"help": "layers of the random-weight Llama"})
    skip_big: bool = field(default=False, metadata={"help": "leave out the random-weight Llama"})
    out: str = field(default="bench-results", metadata={"help": "output directory"})

    def __post_init__(self) -> None:
        for name in ("tokens", "batch", "b1_prompts", "repeats", "big_hidden", "big_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.b1_prompts > self.batch or not 0 <= self.check_prompts <= self.batch:
            raise ValueError(
                f"--b1-prompts must be <= --batch and --check-prompts in [0, --batch] ({self.batch}), "
                f"got {self.b1_prompts} and {self.check_prompts}"
            )
        if self.big_hidden % 64:
            raise ValueError(f"--big-hidden must be a multiple of 64 (heads of 64), got {self.big_hidden}")
        check_thread_spec(self.threads)
        unknown = [s for s in self.settings.split(",") if s not in SETTINGS]
        if unknown:
            raise ValueError(f"--settings takes {', '.join(SETTINGS)}, got {unknown}")
        if not Path(self.prompts).is_file():
            raise ValueError(f"--prompts {self.prompts}: no such file")
        if "://" not in self.store and not Path(self.store).is_dir():
            raise ValueError(f"--store {self.store}: no such directory")
        local = Path(self.model).is_absolute() or self.model.startswith((".", "~"))
        if local and not Path(self.model).expanduser().is_dir():
            raise ValueError(f"--model {self.model}: no such directory")

    @property
    def settings_list(self) -> list[str]:
        return _items(self.settings)


def _items(text: str) -> list[str]:
    """The comma-separated items of a flag, each once, in order."""
    return list(dict.fromkeys(text.split(",")))


class TimedResolver:
    """The real resolver, with the time spent in it counted."""

    def __init__(self, resolver):
        self.resolver, self.seconds = resolver, 0.0

    def __call__(self, lookups):
        start = time.perf_counter()
        try:
            return self.resolver(lookups)
        finally:
            self.seconds += time.perf_counter() - start


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

    @classmethod
    def from_outputs(cls, tok, outputs) -> Script:
        scripts = {}
        for out in outputs:
            prompt_ids = tok(out.prompt)["input_ids"]
            scripts[tuple(prompt_ids)] = prompt_ids + tok(out.raw_text, add_special_tokens=False)["input_ids"]
        return cls(scripts, tok.eos_token_id)


@dataclass
class Subject:
    """A model under test, with what drives it: its tokenizer, resolver and (scripted) hook."""

    name: str
    model: object
    tok: object
    resolver: TimedResolver
    scripts: dict[str, Script | None]  # per setting; None: the model decides its own tokens


def output_tokens(tok, outputs) -> list[int]:
    return [len(tok(o.raw_text, add_special_tokens=False)["input_ids"]) for o in outputs]


@torch.inference_mode()
def plain_generate(model, tok, prompts: list[str], n: int, repetition_penalty: float) -> int:
    """``model.generate`` of exactly ``n`` new tokens per prompt (greedy); returns the tokens made."""
    enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left")
    model.generate(
        **enc,
        max_new_tokens=n,
        min_new_tokens=n,
        do_sample=False,
        repetition_penalty=repetition_penalty,
        pad_token_id=tok.eos_token_id,
    )
    return n * len(prompts)


def variant_calls(subject: Subject, setting: str, decoding: DecodingArgs, prompts, b1, counts) -> dict:
    """The five variants of one setting as zero-argument calls returning ``(outputs, tokens)``.

    ``counts``: output tokens per b1 prompt and per row of the batch, from the untimed pass.
    """
    model, tok, script = subject.model, subject.tok, subject.scripts[setting]
    hook = script.hook if script is not None else None
    decoder = LookupDecoder(model, tok, subject.resolver, decoding, logits_hook=hook)
    penalty = decoding.repetition_penalty
    return {
        "reference b1": lambda: [
            reference_generate(model, tok, subject.resolver, p, decoding, logits_processor=script) for p in b1
        ],
        "ours b1": lambda: [decoder.generate([p])[0] for p in b1],
        "ours bN": lambda: decoder.generate(prompts),
        "plain b1": lambda: sum(
            plain_generate(model, tok, [p], n, penalty) for p, n in zip(b1, counts["b1"])
        ),
        "plain bN": lambda: plain_generate(model, tok, prompts, counts["bN"], penalty),
    }


def bench_subject(subject: Subject, args: DecodingBenchArgs, prompts, threads: dict[str, int], say) -> dict:
    """Untimed pass then interleaved timed repetitions of every (setting, threads, variant)."""
    b1 = prompts[: args.b1_prompts]
    default_threads = torch.get_num_threads()
    calls, facts = {}, {}
    for setting in args.settings_list:
        decoding = DecodingArgs(max_new_tokens=args.tokens, ignore_eos=True, **SETTINGS[setting])
        torch.set_num_threads(next(iter(threads.values())))
        say(f"{subject.name}, {setting}: untimed pass")
        hook = subject.scripts[setting].hook if subject.scripts[setting] is not None else None
        decoder = LookupDecoder(subject.model, subject.tok, subject.resolver, decoding, logits_hook=hook)
        batched, single = decoder.generate(prompts), [decoder.generate([p])[0] for p in b1]
        per_row = output_tokens(subject.tok, batched)
        counts = {"b1": output_tokens(subject.tok, single), "bN": round(sum(per_row) / len(per_row))}
        facts[setting] = {"untimed_b1": single, "untimed_bN": batched, "decoding": asdict(decoding)}
        for name, call in variant_calls(subject, setting, decoding, prompts, b1, counts).items():
            for label in threads:
                calls[(setting, label, name)] = call
    keys = list(calls)
    resolver_seconds: dict[tuple, list[float]] = {k: [] for k in keys}

    def timed(key):
        def call():
            subject.resolver.seconds = 0.0
            result = calls[key]()
            resolver_seconds[key].append(subject.resolver.seconds)
            return result

        return call

    variants = {"|".join(k): timed(k) for k in keys}
    seconds, results = run_interleaved(
        variants,
        args.repeats,
        before_each=lambda name: torch.set_num_threads(threads[name.split("|")[1]]),
        progress=lambda line: say(f"{subject.name}: {line}"),
    )
    torch.set_num_threads(default_threads)
    measured = {k: (seconds["|".join(k)], results["|".join(k)], resolver_seconds[k]) for k in keys}
    return summarize_model(subject, args, measured, facts, threads)


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


def check_agreement(model, tok, resolver, prompts, args: DecodingBenchArgs) -> dict:
    """Per setting: do the paper's loop, ours at b1 and ours batched write the same raw text?"""
    out = {}
    for setting in args.settings_list:
        decoding = DecodingArgs(max_new_tokens=args.tokens, ignore_eos=True, **SETTINGS[setting])
        decoder = LookupDecoder(model, tok, resolver, decoding)
        ref = [reference_generate(model, tok, resolver, p, decoding).raw_text for p in prompts]
        single = [decoder.generate([p])[0].raw_text for p in prompts]
        batched = [o.raw_text for o in decoder.generate(prompts)]
        n = len(prompts)
        out[setting] = {
            "ours_b1_equals_reference": f"{sum(a == b for a, b in zip(single, ref))}/{n}",
            "ours_batched_equals_ours_b1": f"{sum(a == b for a, b in zip(batched, single))}/{n}",
        }
    return out


def run(args: DecodingBenchArgs, say=lambda line: print(line, file=sys.stderr, flush=True)) -> dict:
    """The measurements of each model, as written to JSON."""
    records = read_jsonl(Path(args.prompts))
    prompts = [r["prompt"] for r in records if not r.get("relation")][: args.batch]
    prompts += [r["prompt"] for r in records if r.get("relation")][: args.batch - len(prompts)]
    machine = describe_machine()
    threads = thread_counts(args.threads, torch.get_num_threads())
    results = []
    # Both caches off: each run resolves (and encodes) its own lookups.
    with KnowledgeGraph.open(args.store, embedder=Embedder(recent_queries=0)) as kg:
        resolver = kg.resolver(cache_size=0)
        # The fuzzy index and the embedding model load on the first exact miss (seconds, once per
        # process): paid here, outside the timings, and reported.
        start = time.perf_counter()
        resolver.resolve("no such entity", "no such relation")
        fuzzy_load_s = time.perf_counter() - start
        model = load_lmlm(args.model, lookup_fn=resolver)
        tok = model.lmlm_tokenizer
        say(f"checking agreement on {args.check_prompts} prompts")
        agreement = check_agreement(model, tok, resolver, prompts[: args.check_prompts], args)
        demo = Subject("demo LMLM", model, tok, TimedResolver(resolver), dict.fromkeys(args.settings_list))
        results.append(bench_subject(demo, args, prompts, threads, say))
        if not args.skip_big:
            scripts = {
                s: Script.from_outputs(tok, results[0]["untimed"][s]["untimed_bN"])
                for s in args.settings_list
            }
            big = _big_model(len(tok), args.big_hidden, args.big_layers)
            subject = Subject("random-weight Llama (scripted)", big, tok, TimedResolver(resolver), scripts)
            results.append(bench_subject(subject, args, prompts, threads, say))
        caches = {
            "resolver_cache": resolver.config.cache_size,
            "recent_query_cache": kg.embedder.recent_queries,
        }
        embedder = kg.embedder.describe()
    for r in results:
        r.pop("untimed")
    machine["load_average_after"] = load_average()
    return {
        "args": asdict(args),
        "tokens": args.tokens,
        "settings": {s: SETTINGS[s] for s in args.settings_list},
        "threads": threads,
        "machine": machine,
        "embedder": embedder,
        "fuzzy_load_s": round(fuzzy_load_s, 2),
        **caches,
        "agreement_demo": agreement,
        "results": results,
    }


def main(argv=None) -> int:
    demo = lmlm_home() / "demo"
    defaults = {
        "model": str(demo / "models" / "lmlm"),
        "store": str(demo / "kg"),
        "prompts": str(demo / "world" / "prompts.jsonl"),
    }
    args = parse_script_args(DecodingBenchArgs, argv, __doc__, defaults=defaults)
    report = run(args)
    print_report(report)
    print(f"\nwrote {write_json(Path(args.out) / 'decoding.json', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
