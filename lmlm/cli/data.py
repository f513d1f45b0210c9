"""``lmlm data ...``: training data from the shell.

* ``world``: write a generated world's corpus, triples, prompts and splits (``lmlm.train.world.data``).
* ``convert``: the paper's JSON, JSONL or a world directory to JSONL for pretraining, in the token
  format (``--to lmlm``), as raw text (``--to standard``) or in the annotated format.
* ``clean``: drop documents by length, ratio, lookup density and duplicates; remove redundant lookups.
"""

from __future__ import annotations

import argparse

from lmlm.cli.common import add_command, add_dataclass_arguments, add_output_flags, dataclass_from_args, emit


def register(groups) -> None:
    data = groups.add_parser("data", help="training data: generate a world, convert and clean corpora")
    add_output_flags(data, top=True)
    commands = data.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        return add_command(commands, name, func, help)

    from lmlm.train.corpus import FORMATS, OUTPUTS, CleanConfig
    from lmlm.train.world.data import WorldDataConfig

    p = command(
        "world", cmd_world, "write a generated world: biographies with lookups, triples, prompts, splits"
    )
    p.add_argument("--out", required=True, help="directory to create")
    p.add_argument("--force", action="store_true", help="replace an earlier world in --out")
    add_dataclass_arguments(p, WorldDataConfig)

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
    add_dataclass_arguments(p, CleanConfig)


def cmd_world(args) -> int:
    from lmlm.train.world.data import WorldDataConfig, write_world

    config = dataclass_from_args(WorldDataConfig, args)
    m = write_world(args.out, config, overwrite=args.force, show_progress=not args.json)
    text = f"""wrote {m.out_dir} in {m.seconds:.1f} s
  people            {m.people} ({m.heldout} held out: facts, no biography)
  corpus/train      {m.train_documents} biographies, {m.train_lookups} lookups
  corpus/eval       {m.eval_documents} biographies
  triples           {m.triples}
  prompts / qa / cloze  {m.prompts} / {m.qa} / {m.cloze}
  forget splits     {", ".join(f"{k}: {v}" for k, v in m.forget.items())}
Next: lmlm kg import {m.out_dir}/triples.jsonl"""
    emit(args, m.to_dict(), text)
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
    emit(args, result, f"wrote {written} documents ({args.to}) to {args.out}; {report.summary()}")
    return 0


def cmd_clean(args) -> int:
    from lmlm.train.corpus import CleanConfig, clean_documents, write_documents

    config = dataclass_from_args(CleanConfig, args)
    docs, read = _load(args)
    kept, report = clean_documents(_progress(docs, args, "cleaning"), config)
    written = write_documents(kept, args.out, args.to)
    files = {"input_file": args.input, "output_file": args.out, "to": args.to, "written": written}
    lines = [f"kept {report.kept} of {report.input} documents; wrote {written} ({args.to}) to {args.out}"]
    lines += [f"  dropped {reason:<12} {count}" for reason, count in report.dropped.items()]
    lines += [
        f"  redundant lookups removed {report.redundant_lookups_removed}; lookups kept {report.lookups}",
        f"  reading: {read.summary()}",
    ]
    emit(args, {**files, **report.to_dict(), "read": _read_summary(read)}, "\n".join(lines))
    return 0
