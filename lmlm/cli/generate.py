"""``lmlm generate``: decode prompts with an LMLM, its lookups answered by a knowledge graph.

The decoding flags are :class:`lmlm.model.decoding_args.DecodingArgs`' fields (``--max-new-tokens``,
``--sample``/``--do-sample``, ``--no-lookup``/``--no-enable-lookup``, ...; imported without torch);
the resolver flags are :class:`lmlm.kg.resolver.ResolverConfig`'s (``--fallback``, the miss policy;
``--relation-threshold``, ``--reference-cosine`` ...: what ``lmlm kg lookup`` takes and ``lmlm kg
calibrate`` prints).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from lmlm.cli.common import add_dataclass_arguments, add_output_flags, dataclass_from_args, print_json
from lmlm.kg.resolver import ResolverConfig
from lmlm.model.decoding_args import DecodingArgs


def register(groups) -> None:
    p = groups.add_parser(
        "generate",
        help="generate text with lookups answered by the knowledge graph",
        description="Decode PROMPTs with an LMLM; each lookup goes to the store (exact, then fuzzy).",
    )
    p.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts (or --prompts-file)")
    p.add_argument("--prompts-file", help="a text file with one prompt per line")
    p.add_argument("--model", default=None, help="model directory or hub name (default: the demo model)")
    p.add_argument(
        "--store",
        default=None,
        help="store directory or bolt:// URI (default: the demo store with the demo model, else "
        "$LMLM_STORE or $LMLM_HOME/kg)",
    )
    decoding = p.add_argument_group("decoding")
    # logit_bias is a mapping or "paper": one flag that parses both (add_dataclass_arguments takes one type)
    add_dataclass_arguments(decoding, DecodingArgs, exclude=("logit_bias", "entities_from_context"))
    decoding.add_argument("--logit-bias", type=_logit_bias, default=None, help=_field_help("logit_bias"))
    decoding.add_argument(  # not given: the demo's choice with the demo model (see _decoding)
        "--entities-from-context",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_field_help("entities_from_context")
        + " (default: on with the demo model, as the demo's report decodes it; off with --model)",
    )
    # the miss policy is the resolver's, not the decoder's; the thresholds as `lmlm kg lookup` takes them
    add_dataclass_arguments(p.add_argument_group("resolver"), ResolverConfig, exclude=("cache_size",))
    p.add_argument("--batch-size", type=int, default=16, help="prompts decoded together")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--stream", action="store_true", help="print text as it is written")
    p.add_argument("--raw", action="store_true", help="also print the text with its lookups inline")
    add_output_flags(p, top=True)
    p.set_defaults(func=cmd_generate)


def _field_help(name: str) -> str:
    """A ``DecodingArgs`` field's help, as argparse reads it (a "%" is a format there)."""
    text = next(f for f in dataclasses.fields(DecodingArgs) if f.name == name).metadata["help"]
    return text.replace("%", "%%")


def _logit_bias(text: str):
    """``--logit-bias``: ``paper``, ``none`` or a JSON map."""
    if text in ("paper", "none"):
        return None if text == "none" else text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'"paper", "none" or a JSON map {{token: bias}}, got {text!r}')
    return value


def _prompts(args) -> list[str]:
    prompts = list(args.prompts)
    if args.prompts_file:
        path = Path(args.prompts_file)
        lines = path.read_text(encoding="utf-8").splitlines()
        prompts.extend(line for line in lines if line.strip())
    if not prompts:
        raise ValueError("give at least one PROMPT or --prompts-file")
    return prompts


def _decoding(args) -> DecodingArgs:
    """The decoding flags; ``--entities-from-context`` not given is on with the demo model (as the
    demo's report decodes it) and off with a model of one's own."""
    entities = args.entities_from_context
    if entities is None:
        from lmlm.demo_build import DemoPaths
        from lmlm.kg.knowledge_graph import lmlm_home

        entities = args.model is None and DemoPaths(lmlm_home() / "demo").entities_from_context()
    return dataclass_from_args(DecodingArgs, args, entities_from_context=entities)


def _locations(args) -> tuple[str, str | None]:
    """The model and the store (None with lookups off: no store is opened)."""
    from lmlm.kg.knowledge_graph import default_store_location, lmlm_home

    model, store = args.model, args.store
    demo = lmlm_home() / "demo"
    if model is None:
        model = demo / "models" / "lmlm"
        if not (model / "config.json").exists():
            raise ValueError(f"no --model given and no demo model at {model}: run `lmlm demo build` first")
        store = store or str(demo / "kg")
    if not args.enable_lookup:
        return str(model), None
    return str(model), store or default_store_location()


def cmd_generate(args) -> int:
    from lmlm.api import load_lmlm

    prompts = _prompts(args)
    decoding = _decoding(args)
    model_path, store = _locations(args)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    resolver_config = dataclass_from_args(ResolverConfig, args) if store else None
    model = load_lmlm(model_path, store, resolver_config=resolver_config, device=args.device)
    try:
        if args.stream and not args.json:
            return _stream(model, prompts, decoding, args.raw)
        outputs = model.generate_outputs(prompts, args=decoding, batch_size=args.batch_size)
    finally:
        if model.knowledge_graph is not None:
            model.knowledge_graph.close()
    if args.json:
        outputs_json = [o.to_dict() for o in outputs]
        print_json(
            {
                "model": model_path,
                "store": store,
                "decoding": dataclasses.asdict(decoding),
                "resolver": dataclasses.asdict(resolver_config) if resolver_config else None,
                "outputs": outputs_json,
            }
        )
        return 0
    for output in outputs:
        _print_output(output, args.raw)
    return 0


def _stream(model, prompts, decoding: DecodingArgs, raw: bool) -> int:
    from lmlm.model import RowFinished, TextDelta

    for i, prompt in enumerate(prompts):
        print(prompt, end="", flush=True)
        for event in model.stream_with_lookup(prompt, args=decoding):
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
