"""``lmlm data ...``: training data from the shell.

* ``world``: write a generated world's corpus, triples, prompts and splits (``lmlm.train.world.data``).
* ``convert``: the paper's JSON, JSONL or a world directory to JSONL for pretraining, in the token
  format (``--to lmlm``), as raw text (``--to standard``) or in the annotated format.
* ``clean``: drop documents by length, ratio, lookup density and duplicates; remove redundant lookups.
"""

from __future__ import annotations

import argparse

from lmlm.cli.common import add_output_flags, print_json


def register(groups) -> None:
    data = groups.add_parser("data", help="training data: generate a world, convert and clean corpora")
    add_output_flags(data, top=True)
    commands = data.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help, description=help)
        add_output_flags(p)
        p.set_defaults(func=func)
        return p

    from lmlm.train.corpus import FORMATS, OUTPUTS, CleanConfig
    from lmlm.train.world.data import WorldDataConfig

    p = command(
        "world", cmd_world, "write a generated world: biographies with lookups, triples, prompts, splits"
    )
    p.add_argument("--out", required=True, help="directory to create")
    p.add_argument("--people", type=int, default=WorldDataConfig.people)
    p.add_argument("--seed", type=int, default=WorldDataConfig.seed)
    p.add_argument("--variants", type=int, default=WorldDataConfig.variants, help="biographies per person")
    p.add_argument(
        "--heldout",
        type=float,
        default=WorldDataConfig.heldout_fraction,
        help="share of people with facts but no biography (prompts.jsonl asks about them)",
    )
    p.add_argument("--eval-people", type=int, default=0, help="people with eval biographies (0: a tenth)")
    p.add_argument("--eval-variants", type=int, default=WorldDataConfig.eval_variants)
    p.add_argument(
        "--names",
        choices=("syllables", "given"),
        default=WorldDataConfig.names,
        help="syllables: every name different; given: given + family names from fixed lists (the demo's)",
    )
    p.add_argument("--complete", action="store_true", help="every person has an award and each relative")
    p.add_argument("--force", action="store_true", help="replace an earlier world in --out")

    def inputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("input", help="paper JSON, JSONL, or a world directory")
        p.add_argument("--out", required=True, help="JSONL file to write")
        p.add_argument("--format", choices=("auto", *FORMATS), default="auto")
        p.add_argument("--lenient", action="store_true", help="drop lookups that cannot be parsed (counted)")
        p.add_argument("--to", choices=OUTPUTS, default="lmlm", help="lmlm: token format; standard: raw text")

    inputs(command("convert", cmd_convert, "convert documents to JSONL for pretraining"))

    p = command(
        "clean", cmd_clean, "filter documents and remove redundant lookups; prints what each filter did"
    )
    inputs(p)
    defaults = CleanConfig()
    for flag in ("min_chars", "max_chars"):
        p.add_argument(f"--{flag.replace('_', '-')}", type=int, default=getattr(defaults, flag))
    for flag in ("min_ratio", "max_ratio", "max_density"):
        p.add_argument(f"--{flag.replace('_', '-')}", type=float, default=getattr(defaults, flag))
    p.add_argument("--keep-redundant", action="store_true", help="keep lookups whose value is in their key")
    p.add_argument("--keep-duplicates", action="store_true", help="keep documents whose raw text repeats")


def cmd_world(args) -> int:
    from lmlm.train.world.data import WorldDataConfig, write_world

    config = WorldDataConfig(
        people=args.people,
        seed=args.seed,
        variants=args.variants,
        heldout_fraction=args.heldout,
        eval_people=args.eval_people,
        eval_variants=args.eval_variants,
        names=args.names,
        complete=args.complete,
    )
    manifest = write_world(args.out, config, overwrite=args.force, show_progress=not args.json)
    if args.json:
        print_json(manifest.to_dict())
        return 0
    m = manifest
    print(f"wrote {m.out_dir} in {m.seconds:.1f} s")
    print(f"  people            {m.people} ({m.heldout} held out: facts, no biography)")
    print(f"  corpus/train      {m.train_documents} biographies, {m.train_lookups} lookups")
    print(f"  corpus/eval       {m.eval_documents} biographies")
    print(f"  triples           {m.triples}")
    print(f"  prompts / qa / cloze  {m.prompts} / {m.qa} / {m.cloze}")
    print(f"  forget splits     {', '.join(f'{k}: {v}' for k, v in m.forget.items())}")
    print(f"Next: lmlm kg import {m.out_dir}/triples.jsonl")
    return 0


def _load(args):
    from lmlm.kg.formats import ReadReport
    from lmlm.train.corpus import load_documents

    report = ReadReport()
    docs = load_documents(args.input, args.format, lenient=args.lenient, report=report)
    return docs, report


def _read_summary(report) -> dict:
    total = report.calls + len(report.problems)
    return {
        "documents": report.documents,
        "lookups": report.calls,
        "dropped_lookups": len(report.problems),
        "kept_share": report.calls / total if total else 1.0,
    }


def _progress(docs, args, desc: str):
    from tqdm.auto import tqdm

    return tqdm(docs, desc=desc, unit="doc", disable=args.json or len(docs) < 1000)


def cmd_convert(args) -> int:
    from lmlm.train.corpus import write_documents

    docs, report = _load(args)
    written = write_documents(_progress(docs, args, "writing"), args.out, args.to)
    result = {"input_file": args.input, "output_file": args.out, "to": args.to, "written": written}
    result.update(_read_summary(report))
    if args.json:
        print_json(result)
        return 0
    print(f"wrote {written} documents ({args.to}) to {args.out}; {report.summary()}")
    return 0


def cmd_clean(args) -> int:
    from lmlm.train.corpus import CleanConfig, clean_documents, write_documents

    config = CleanConfig(
        min_chars=args.min_chars,
        max_chars=args.max_chars,
        min_ratio=args.min_ratio,
        max_ratio=args.max_ratio,
        max_density=args.max_density,
        drop_redundant=not args.keep_redundant,
        dedupe=not args.keep_duplicates,
    )
    docs, read = _load(args)
    kept, report = clean_documents(_progress(docs, args, "cleaning"), config)
    written = write_documents(kept, args.out, args.to)
    if args.json:
        files = {"input_file": args.input, "output_file": args.out, "to": args.to, "written": written}
        print_json({**files, **report.to_dict(), "read": _read_summary(read)})
        return 0
    print(f"kept {report.kept} of {report.input} documents; wrote {written} ({args.to}) to {args.out}")
    for reason, count in report.dropped.items():
        print(f"  dropped {reason:<12} {count}")
    print(f"  redundant lookups removed {report.redundant_lookups_removed}; lookups kept {report.lookups}")
    print(f"  reading: {read.summary()}")
    return 0
