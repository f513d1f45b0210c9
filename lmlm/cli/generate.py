"""``lmlm generate``: decode prompts with an LMLM, its lookups answered by a knowledge graph."""

from __future__ import annotations

import sys
from pathlib import Path

from lmlm.cli.common import add_output_flags, print_json


def register(groups) -> None:
    p = groups.add_parser(
        "generate",
        help="generate text with lookups answered by the knowledge graph",
        description="Decode PROMPTs with an LMLM; each lookup goes to the store (exact, then fuzzy).",
    )
    p.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts (or --prompts-file)")
    p.add_argument("--prompts-file", help="a text file with one prompt per line")
    p.add_argument("--model", default=None, help="model directory or hub name (default: the demo model)")
    p.add_argument("--store", default=None, help="store directory or bolt:// URI (default: the demo store)")
    p.add_argument(
        "--no-lookup", action="store_true", help="lookups disabled: the model writes its own values"
    )
    p.add_argument(
        "--max-new-tokens", type=int, default=128, help="text tokens per prompt (lookups not counted)"
    )
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--repetition-penalty", type=float, default=1.0)
    p.add_argument(
        "--logit-bias", choices=["none", "paper"], default="none", help="paper: +4 opener, +2 others"
    )
    p.add_argument("--max-lookups", type=int, default=None, help="lookups per prompt before plain text")
    p.add_argument("--fallback", choices=["unknown", "top1"], default="unknown", help="what a miss inserts")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--stream", action="store_true", help="print text as it is written")
    p.add_argument("--raw", action="store_true", help="also print the text with its lookups inline")
    add_output_flags(p, top=True)
    p.set_defaults(func=cmd_generate)


def _prompts(args) -> list[str]:
    prompts = list(args.prompts)
    if args.prompts_file:
        path = Path(args.prompts_file)
        lines = path.read_text(encoding="utf-8").splitlines()
        prompts.extend(line for line in lines if line.strip())
    if not prompts:
        raise ValueError("give at least one PROMPT or --prompts-file")
    return prompts


def _defaults(args) -> tuple[str, str | None]:
    from lmlm.kg.knowledge_graph import lmlm_home

    model, store = args.model, args.store
    demo = lmlm_home() / "demo"
    if model is None:
        model = demo / "models" / "lmlm"
        if not (model / "config.json").exists():
            raise ValueError(f"no --model given and no demo model at {model}: run `lmlm demo build` first")
        store = store or str(demo / "kg")
    return str(model), store


def cmd_generate(args) -> int:
    from lmlm.api import load_lmlm

    prompts = _prompts(args)
    model_path, store = _defaults(args)
    from lmlm.kg import ResolverConfig

    # the miss policy is the resolver's; "unknown" stays the decoder's unknown_value on a miss
    policy = ResolverConfig(fallback="top1") if args.fallback == "top1" else None
    model = load_lmlm(model_path, store, resolver_config=policy)
    try:
        model.to(args.device)
        options = dict(
            max_new_tokens=args.max_new_tokens,
            do_sample=args.sample,
            temperature=args.temperature,
            top_p=args.top_p,
            repetition_penalty=args.repetition_penalty,
            logit_bias="paper" if args.logit_bias == "paper" else None,
            enable_lookup=not args.no_lookup,
            max_lookups=args.max_lookups,
            fallback=args.fallback,
            seed=args.seed,
        )
        if args.stream and not args.json:
            return _stream(model, prompts, options, args.raw)
        outputs = model.generate_outputs(prompts, batch_size=args.batch_size, **options)
    finally:
        model.knowledge_graph.close()
    if args.json:
        print_json({"model": model_path, "store": store, "outputs": [o.to_dict() for o in outputs]})
        return 0
    for output in outputs:
        _print_output(output, args.raw)
    return 0


def _stream(model, prompts, options, raw: bool) -> int:
    from lmlm.model import RowFinished, TextDelta

    for i, prompt in enumerate(prompts):
        print(prompt, end="", flush=True)
        for event in model.stream_with_lookup(prompt, **options):
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, RowFinished):
                print()
                _print_lookups(event.output, raw)
        if i < len(prompts) - 1:
            print()
    return 0


def _print_output(output, raw: bool) -> None:
    print(output.prompt + output.text)
    _print_lookups(output, raw)
    print()


def _print_lookups(output, raw: bool) -> None:
    if raw:
        print("  raw: " + output.prompt + output.raw_text)
    for record in output.lookups:
        where = f"{record.path} {record.score:.2f}"
        print(f"  [{where}] {record.entity} | {record.relation} -> {record.value}", file=sys.stdout)
    if output.malformed or output.unclosed:
        print(f"  ({output.malformed} malformed lookups, unclosed: {output.unclosed})")
