"""Regenerate at once: from saving an edit to the new outputs of the Generate page's prompts.

    python -m lmlm.evaluation.bench.app_regenerate [--model DEMO_LMLM] [--store DEMO_KG] [--prompts N]

On a copy of the store (the original is never changed), with the model loaded and the fuzzy index
built beforehand as in the running app, each repeat sets one fact that the first prompt's output
looks up (a new value each time) and measures the parts of what the app does after "Save":

* ``store write``: ``store.set_fact`` (one transaction);
* ``index update``: the fuzzy index synced with the store (``KnowledgeGraph.set_fact`` does both);
* ``decode``: the prompts decoded again, lookups answered by the same resolver as before the edit;
* ``app click -> output``: the same edit made through the app's Facts page with Streamlit's
  ``AppTest`` (the page's script runs, writes, regenerates and draws the before/after; no browser).

Baselines measured in the same run: ``decode only`` (the prompts decoded with no edit) and
``cold regenerate`` (what regenerating costs without the app's cached loaders: open the store,
load the model, decode). Writes ``app_regenerate.json`` under ``--out``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lmlm.api import load_lmlm
from lmlm.kg import KnowledgeGraph
from lmlm.kg.knowledge_graph import lmlm_home
from lmlm.model import DecodingArgs, LookupDecoder

from ..entry_point import parse_script_args, write_json
from ..world_sets import read_jsonl


@dataclass(frozen=True)
class AppRegenerateArgs:
    model: str = field(metadata={"help": "the LMLM: a model directory"})
    store: str = field(metadata={"help": "an embedded store directory (copied; the copy is edited)"})
    prompts_file: str = field(metadata={"help": "prompts JSONL (a world's prompts.jsonl)"})
    prompts: int = field(default=4, metadata={"help": "prompts regenerated after each edit"})
    max_new_tokens: int = field(default=48, metadata={"help": "text tokens per output (the app's default)"})
    repeats: int = field(default=5, metadata={"help": "edits timed (the median is reported)"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (the app's default is 1)"})
    apptest: bool = field(
        default=True, metadata={"help": "also time the edit through the app (needs streamlit)"}
    )
    out: str = field(default="bench-results", metadata={"help": "output directory"})

    def __post_init__(self) -> None:
        for name in ("prompts", "max_new_tokens", "repeats", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not Path(self.store).is_dir():
            raise ValueError(f"--store {self.store}: no such directory (an embedded store)")
        if not Path(self.prompts_file).is_file():
            raise ValueError(f"--prompts-file {self.prompts_file}: no such file")
        if not Path(self.model).expanduser().is_dir():
            raise ValueError(f"--model {self.model}: no such directory")


def pick_prompts(path: str, n: int) -> list[dict]:
    """``n`` prompts about different people, 'born in' openings first (they look a place up)."""
    records = read_jsonl(Path(path))
    chosen, people = [], set()
    for r in sorted(records, key=lambda r: r.get("relation") != "Place of birth"):
        if r.get("person") not in people:
            chosen.append(r)
            people.add(r.get("person"))
        if len(chosen) == n:
            break
    return chosen


def _median_ms(values: list[float]) -> float:
    return round(1000 * statistics.median(values), 1)


def run(args: AppRegenerateArgs) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    chosen = pick_prompts(args.prompts_file, args.prompts)
    prompts = [r["prompt"] for r in chosen]
    entity, relation = chosen[0]["person"], chosen[0].get("relation") or "Place of birth"
    decoding = DecodingArgs(max_new_tokens=args.max_new_tokens)
    with tempfile.TemporaryDirectory(prefix="lmlm-bench-app-") as tmp:
        store_dir = Path(tmp) / "kg"
        shutil.copytree(args.store, store_dir)
        times: dict[str, list[float]] = {
            k: [] for k in ("store write", "index update", "decode", "decode only")
        }
        with KnowledgeGraph.open(store_dir) as kg:
            kg.build_fuzzy_index()  # as in the app, where it loads in the background at start
            # building the index leaves this thread on torch's default count (2 here), and decoding
            # a 1M-parameter model on two threads of a busy 2-core machine is 10x slower: the app's
            # count again
            torch.set_num_threads(args.threads)
            resolver = kg.resolver()
            model = load_lmlm(args.model)
            decoder = LookupDecoder(model, model.lmlm_tokenizer, resolver, decoding)
            decoder.generate(prompts)  # warm-up: first forwards allocate
            values = _other_values(kg, entity, relation, args.repeats)
            for value in values:
                start = time.perf_counter()
                decoder.generate(prompts)
                times["decode only"].append(time.perf_counter() - start)
                t0 = time.perf_counter()
                kg.store.set_fact(entity, relation, value)
                t1 = time.perf_counter()
                kg.fuzzy_index.sync(kg.store)
                t2 = time.perf_counter()
                after = decoder.generate(prompts)
                t3 = time.perf_counter()
                times["store write"].append(t1 - t0)
                times["index update"].append(t2 - t1)
                times["decode"].append(t3 - t2)
            states = [o.text for o in after]
        cold = _cold_regenerate(args.model, store_dir, prompts, decoding)
        click = _apptest_click(args, store_dir, prompts, entity, relation) if args.apptest else None
    parts = {name: _median_ms(v) for name, v in times.items()}
    total = parts["store write"] + parts["index update"] + parts["decode"]
    return {
        "prompts": prompts,
        "edited": [entity, relation],
        "max_new_tokens": args.max_new_tokens,
        "repeats": args.repeats,
        "threads": args.threads,
        "median_ms": parts | {"regenerate total": round(total, 1), "cold regenerate": round(1000 * cold, 1)},
        "app_click_to_output_ms": click,
        "total_over_decode_only": round(total / parts["decode only"], 2),
        "total_over_cold": round(total / (1000 * cold), 3),
        "last_outputs": states,
    }


def _other_values(kg: KnowledgeGraph, entity: str, relation: str, n: int) -> list[str]:
    """``n`` values for the edit, each different from the one before (values of other people)."""
    current = kg.lookup(entity, relation).value
    pool = [f.value for f in kg.store.iter_facts() if f.relation == relation and f.value != current]
    pool = list(dict.fromkeys(pool)) or [f"New {relation}"]
    return [pool[i % len(pool)] for i in range(n)]


def _cold_regenerate(model_dir: str, store_dir: Path, prompts: list[str], decoding: DecodingArgs) -> float:
    import torch

    threads = torch.get_num_threads()
    start = time.perf_counter()
    model = load_lmlm(model_dir, store_dir)
    torch.set_num_threads(threads)  # as above: opening the store's index may have changed it
    model.generate_outputs(prompts, args=decoding)
    model.knowledge_graph.close()
    return time.perf_counter() - start


def _apptest_click(args, store_dir: Path, prompts, entity: str, relation: str) -> float | None:
    """Median seconds of "Save changes" on the Facts page through AppTest, regeneration included."""
    try:
        from streamlit.testing.v1 import AppTest

        from lmlm.app import facts_view, state
        from lmlm.app.config import AppConfig
    except ImportError:
        return None
    config = AppConfig(
        store=str(store_dir), model=args.model, prompts=args.prompts_file, threads=args.threads
    )
    os.environ.update(config.to_env())
    main = Path(facts_view.__file__).with_name("main.py")
    at = AppTest.from_file(str(main), default_timeout=120).run()
    at.session_state[state.PROMPTS] = list(prompts)
    at.session_state[state.ENTITY] = entity
    at.switch_page("screens/facts.py").run()
    seconds = []
    with KnowledgeGraph.open(store_dir) as kg:
        values = _other_values(kg, entity, relation, args.repeats + 2)[1:]
    for n, value in enumerate(values):  # the first one is a warm-up (it also decodes "before")
        shown = at.session_state[state.FACTS_SHOWN]
        at.session_state[state.FACTS_EDITOR] = facts_view.typed_value(shown, relation, value)
        at.run()
        start = time.perf_counter()
        at.button(key="save_facts").click().run()
        if n:
            seconds.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"the app failed: {at.exception[0].value}")
    return _median_ms(seconds)


def main(argv=None) -> int:
    demo = lmlm_home() / "demo"
    defaults = {
        "model": str(demo / "models" / "lmlm"),
        "store": str(demo / "kg"),
        "prompts_file": str(demo / "world" / "prompts.jsonl"),
    }
    args = parse_script_args(AppRegenerateArgs, argv, __doc__, defaults=defaults)
    report = run(args)
    ms = report["median_ms"]
    print(
        f"{len(report['prompts'])} prompts, {args.max_new_tokens} text tokens each, median of {args.repeats} edits (ms)"
    )
    for name in (
        "store write",
        "index update",
        "decode",
        "regenerate total",
        "decode only",
        "cold regenerate",
    ):
        print(f"  {name:<20} {ms[name]:>9.1f}")
    if report["app_click_to_output_ms"] is not None:
        print(
            f"  {'app click -> output':<20} {report['app_click_to_output_ms']:>9.1f}  (AppTest: the page's script, no browser)"
        )
    print(f"regenerate total / decode only: {report['total_over_decode_only']:.2f}x")
    print(f"regenerate total / cold regenerate: {report['total_over_cold']:.3f}x")
    print(f"\nwrote {write_json(Path(args.out) / 'app_regenerate.json', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
