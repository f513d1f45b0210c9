"""Start-up of ``lmlm generate``: one short prompt, cold (a new process), against the floors no change
to this project can beat, measured in the same run.

    python -m lmlm.evaluation.bench.startup [--model DIR --store DIR] [--prompt TEXT] [--tokens 32] \
        [--repeats 3] [--threads 1,default] [--out results/bench/startup.json]

Each case is a new Python process, timed from start to exit, the cases taking turns (the order
rotated every repetition) so that load from other processes falls on all alike; one untimed round
comes first and is reported apart ("first run": the OS file cache may still be cold then, as on a
fresh machine). The cases:

* ``python``: the interpreter alone (``python -c pass``);
* ``import torch, transformers``: the import floor;
* ``transformers load + generate``: ``AutoModelForCausalLM``/``AutoTokenizer.from_pretrained`` of
  the same model and ``generate`` of ``--tokens`` new tokens, no lookups: what any program using
  this model through transformers pays;
* ``lmlm --help``;
* ``lmlm generate PROMPT --model --store --max-new-tokens TOKENS`` (as ``python -m lmlm.cli``).

The last two that load a model run at each thread count of ``--threads`` (``OMP_NUM_THREADS`` set in
the child; ``default`` leaves it unset). Then, once per thread count, ``startup_probe`` makes
``lmlm generate``'s calls in a fresh process with a timestamp after each (parser, torch,
transformers, the modeling module, ``load_lmlm``, first and second decode), and records which
heavy modules were imported by the end and whether the fuzzy index loaded (it must not on an exact
hit); one ``python -X importtime`` run of ``lmlm generate`` gives the import time by package.
Prints the tables and writes JSON (with the machine: CPU, cores, threads, load average).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmlm.kg.knowledge_graph import lmlm_home

from ..entry_point import parse_script_args, write_json
from ..world_sets import read_jsonl
from .timing import (
    check_thread_spec,
    describe_machine,
    load_average,
    paired_ratios,
    run_interleaved,
    summarize,
)

HF_GENERATE = """
import sys
from transformers import AutoModelForCausalLM, AutoTokenizer
path, prompt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path).eval()
enc = tok([prompt], return_tensors="pt")
model.generate(**enc, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=tok.eos_token_id)
"""


@dataclass(frozen=True)
class StartupBenchArgs:
    model: str = field(metadata={"help": "the LMLM model directory"})
    store: str = field(metadata={"help": "the knowledge store directory or bolt:// URI"})
    prompt: str = field(metadata={"help": "the prompt (default: the demo world's first prompt)"})
    tokens: int = field(default=32, metadata={"help": "--max-new-tokens of lmlm generate"})
    repeats: int = field(default=3, metadata={"help": "timed rounds of every case (interleaved)"})
    threads: str = field(
        default="1,default",
        metadata={"help": "OMP_NUM_THREADS of the model-loading cases, comma-separated ('default': unset)"},
    )
    out: str = field(default="results/bench/startup.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        for name in ("tokens", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, got {getattr(self, name)}")
        check_thread_spec(self.threads)
        if not Path(self.model).expanduser().is_dir():
            raise ValueError(f"--model {self.model}: no such directory")
        if "://" not in self.store and not Path(self.store).is_dir():
            raise ValueError(f"--store {self.store}: no such directory")
        if not self.prompt.strip():
            raise ValueError("--prompt must not be empty")

    @property
    def thread_settings(self) -> list[str]:
        return list(dict.fromkeys(self.threads.split(",")))


def _env(threads: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads != "default":
        env["OMP_NUM_THREADS"] = threads
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    return env


def _label(threads: str) -> str:
    return "" if threads == "default" else f" [OMP_NUM_THREADS={threads}]"


def cases(args: StartupBenchArgs) -> dict[str, tuple[list[str], dict[str, str]]]:
    """``{name: (argv, env)}``: each case a command line run in a new process."""
    py = sys.executable
    generate = ["-m", "lmlm.cli", "generate", args.prompt, "--model", args.model, "--store", args.store]
    generate += ["--max-new-tokens", str(args.tokens)]
    out = {
        "python": ([py, "-c", "pass"], _env("default")),
        "import torch, transformers": ([py, "-c", "import torch, transformers"], _env("default")),
        "lmlm --help": ([py, "-m", "lmlm.cli", "--help"], _env("default")),
    }
    for t in args.thread_settings:
        label = _label(t)
        out[f"transformers load + generate{label}"] = (
            [py, "-c", HF_GENERATE, args.model, args.prompt, str(args.tokens)],
            _env(t),
        )
        out[f"lmlm generate{label}"] = ([py, *generate], _env(t))
    return out


def run_case(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from start to exit of one process; a failure is an error with its stderr."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def import_time_by_package(args: StartupBenchArgs) -> dict:
    """One ``python -X importtime`` run of ``lmlm generate``: self time summed per package (lmlm's
    by subpackage), seconds, largest first. importtime itself slows imports: read the shares."""
    argv, env = cases(args)["lmlm generate" + _label(args.thread_settings[0])]
    proc = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True)
    totals: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|", 2)
        parts = name.strip().split(".")
        package = ".".join(parts[:2]) if parts[0] == "lmlm" else parts[0]
        totals[package] += int(self_us) / 1e6
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return {
        "total_s": round(total, 2),
        "packages": {name: {"s": round(s, 3), "share": round(s / total, 4)} for name, s in ranked[:15]},
    }


def probe(args: StartupBenchArgs, threads: str) -> dict:
    argv = [sys.executable, "-m", "lmlm.evaluation.bench.startup_probe", args.model, args.store, args.prompt]
    proc = subprocess.run([*argv, str(args.tokens)], env=_env(threads), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"startup probe exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args: StartupBenchArgs, say=lambda line: print(line, file=sys.stderr, flush=True)) -> dict:
    machine = describe_machine()
    todo = cases(args)
    say("first round (untimed in the figures, reported apart)")
    first = {name: round(run_case(*todo[name]), 3) for name in todo}
    # each call is one process from start to exit; run_interleaved times it
    seconds, _ = run_interleaved(
        {name: (lambda name=name: run_case(*todo[name])) for name in todo}, args.repeats, progress=say
    )
    floor = seconds["import torch, transformers"]
    ratios = {}
    for t in args.thread_settings:
        label = _label(t)
        ours, hf = seconds[f"lmlm generate{label}"], seconds[f"transformers load + generate{label}"]
        ratios[f"lmlm generate{label} / import torch, transformers"] = paired_ratios(ours, floor)
        ratios[f"lmlm generate{label} / transformers load + generate{label}"] = paired_ratios(ours, hf)
        ratios[f"lmlm generate{label} - transformers load + generate{label} (s)"] = summarize(
            [a - b for a, b in zip(ours, hf)], 3
        )
    say("probes and import times")
    machine["load_average_after"] = load_average()
    return {
        "args": asdict(args),
        "machine": machine,
        "first_run_s": first,
        "seconds": {
            name: {**summarize(s, 3), "each": [round(x, 3) for x in s]} for name, s in seconds.items()
        },
        "ratios": ratios,
        "probe": {t: probe(args, t) for t in args.thread_settings},
        "import_time": import_time_by_package(args),
    }


def print_report(report: dict) -> None:
    m = report["machine"]
    print(
        f"machine: {m['cpu']}, {m['usable_cores']} usable cores, torch default {m.get('torch', {}).get('threads')} "
        f"threads; load average {m['load_average']} before, {m['load_average_after']} after"
    )
    print(f"\n{'case (new process each)':<52} {'median s':>9} {'min-max':>14} {'first run':>10}")
    for name, s in report["seconds"].items():
        print(
            f"{name:<52} {s['median']:>9.2f} {s['min']:>6.2f}-{s['max']:<7.2f} {report['first_run_s'][name]:>10.2f}"
        )
    print()
    for name, r in report["ratios"].items():
        unit = "" if name.endswith("(s)") else "x"
        print(f"{name:<86} {r['median']:.2f}{unit} ({r['min']:.2f}-{r['max']:.2f})")
    for threads, p in report["probe"].items():
        print(
            f"\nlmlm generate, step by step (OMP_NUM_THREADS={threads}, torch threads {p['torch_threads']}):"
        )
        for phase, s in p["phases"].items():
            print(f"  {phase:<46} {s:>7.2f} s")
        print(
            f"  {'total in the process (interpreter start excluded)':<46} {p['total_s']:>7.2f} s; lookups "
            f"{p['lookup_paths']}; fuzzy index loaded: {p['fuzzy_index_loaded']}; watched modules "
            f"imported: {p['modules_loaded'] or 'none'}"
        )
    it = report["import_time"]
    print(
        f"\nimport time of lmlm generate by package (-X importtime, {it['total_s']} s in all; read the shares):"
    )
    for name, v in it["packages"].items():
        print(f"  {name:<28} {v['s']:>7.2f} s {v['share']:>7.1%}")


def main(argv=None) -> int:
    demo = lmlm_home() / "demo"
    prompts = demo / "world" / "prompts.jsonl"
    first = ""
    if prompts.is_file():
        first = next((record["prompt"] for record in read_jsonl(prompts)), "")
    defaults = {"model": str(demo / "models" / "lmlm"), "store": str(demo / "kg"), "prompt": first}
    args = parse_script_args(StartupBenchArgs, argv, __doc__, defaults=defaults)
    report = run(args)
    print_report(report)
    print(f"\nwrote {write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
