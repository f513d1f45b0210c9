"""``lmlm annotate``: raw text -> annotated corpus -> knowledge graph (``lmlm.annotation``).

lmlm annotate docs.jsonl --out runs/ann --backend openai --model gpt-4o-mini --concurrency 16
lmlm annotate texts/ --out runs/ann --backend local --model runs/annotator/adapter --store ./my-kg
lmlm annotate docs.jsonl --out runs/ann --backend openai --model gpt-4o-mini --resume
"""

from __future__ import annotations

import argparse
import sys

from lmlm.cli.common import add_dataclass_arguments, add_output_flags, dataclass_from_args, emit

_DESCRIPTION = (
    "Annotate raw text with lookup calls through an OpenAI-compatible API, a local Hugging Face model "
    "or vLLM; validate every response; write the annotated corpus (the paper's format), the cleaned "
    "corpus and the extracted triples, and import them into --store. Outputs are written as they come: "
    "--resume continues an interrupted run."
)


def register(groups) -> None:
    from lmlm.annotation import BackendConfig, InputConfig, RunConfig, ValidationConfig
    from lmlm.train.corpus import CleanConfig

    p = groups.add_parser(
        "annotate", help="annotate raw text into a corpus and a knowledge graph", description=_DESCRIPTION
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="JSONL, JSON (the paper's format too), .txt, or a folder of .txt",
    )
    add_output_flags(p, top=True)
    add_dataclass_arguments(p.add_argument_group("run"), RunConfig)
    add_dataclass_arguments(p.add_argument_group("backend"), BackendConfig)
    add_dataclass_arguments(p.add_argument_group("inputs and chunking"), InputConfig)
    add_dataclass_arguments(p.add_argument_group("validation"), ValidationConfig)
    add_dataclass_arguments(p.add_argument_group("cleaning (as `lmlm data clean`)"), CleanConfig)
    p.set_defaults(func=cmd_annotate)


def cmd_annotate(args: argparse.Namespace) -> int:
    from lmlm.annotation import BackendConfig, InputConfig, RunConfig, ValidationConfig, annotate
    from lmlm.train.corpus import CleanConfig

    report = annotate(
        args.inputs,
        dataclass_from_args(RunConfig, args),
        dataclass_from_args(BackendConfig, args),
        inputs_config=dataclass_from_args(InputConfig, args),
        validation=dataclass_from_args(ValidationConfig, args),
        clean=dataclass_from_args(CleanConfig, args),
        show_progress=True,
    )
    emit(args, report, _summary(report))
    failed = report["this_run"]["failed"]
    if failed:
        print(f"{failed} requests failed for good; --resume sends them again", file=sys.stderr)
        return 1
    return 0


def _summary(report: dict) -> str:
    run, totals = report["this_run"], report["directory"]
    lines = [
        f"annotator: {report['annotator']}",
        f"this run: {run['completed']} of {run['requests']} requests in {run['seconds']:.1f} s "
        f"({run['requests_per_second']:.2f}/s), {run['failed']} failed, "
        f"{run['prompt_tokens'] + run['completion_tokens']} tokens, ${run['cost_usd']:.4f}",
        f"in {report['out']}: {totals['accepted']} accepted ({totals['exact']} exact, {totals['repaired']} repaired), "
        f"{totals['rejected']} rejected {totals['rejected_reasons'] or ''}".rstrip(),
        f"corpus: {report['corpus_chunks']} chunks after cleaning, {report['triples']} triples",
    ]
    if report["store"]:
        store = report["store"]
        lines.append(
            f"store {store['location']}: {store['added']} facts added, {store['duplicates']} already there"
        )
    lines.append(f"report: {report['files']['report.json']}")
    return "\n".join(lines)
