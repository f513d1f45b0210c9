"""``lmlm eval ...``: perplexities, knowledge completion, factual precision, FActScore, NLU,
unlearning, the whole suite, and the report that gathers them.

Each command builds its settings dataclass from its flags and calls the library function in
:mod:`lmlm.evaluation`; results go to ``--out`` as JSON (and PNG), a summary to stdout.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from lmlm.cli.common import add_command, add_dataclass_arguments, add_output_flags, dataclass_from_args, emit


def _models_flags(p) -> None:
    from lmlm.evaluation.systems import ModelsArgs

    add_dataclass_arguments(p.add_argument_group("models (default: the demo's)"), ModelsArgs)


def _command(
    commands, name: str, help_text: str, func, settings=None, *, models: bool = True, out: bool = True
):
    p = add_command(commands, name, func, help_text)
    if out:
        p.add_argument("--out", dest="out", required=True, help="results directory")
    if models:
        _models_flags(p)
    if settings is not None:
        add_dataclass_arguments(p, settings)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return p


def register(groups) -> None:
    from lmlm.evaluation.completion import CompletionArgs
    from lmlm.evaluation.factscore import FactScoreArgs
    from lmlm.evaluation.nlu import NluArgs
    from lmlm.evaluation.perplexity import PerplexityArgs
    from lmlm.evaluation.precision import PrecisionArgs
    from lmlm.evaluation.suite import SuiteArgs
    from lmlm.evaluation.unlearning.config import UnlearnConfig

    group = groups.add_parser("eval", help="evaluate LMLM against Standard; unlearning; reports")
    add_output_flags(group, top=True)
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _command(
        commands,
        "perplexity",
        "static, dynamic and normalized perplexity, per category",
        cmd_perplexity,
        PerplexityArgs,
    )
    _command(
        commands,
        "completion",
        "knowledge completion: LAMA/T-REx files, the world's cloze and QA",
        cmd_completion,
        CompletionArgs,
    )
    _command(
        commands,
        "precision",
        "factual precision on held-out people, grounded in the world",
        cmd_precision,
        PrecisionArgs,
    )
    p = _command(
        commands,
        "factscore",
        "FActScore through an OpenAI-compatible API ($OPENAI_API_KEY)",
        cmd_factscore,
        FactScoreArgs,
        models=False,
    )
    p.add_argument(
        "--generations", required=True, help="JSONL with topic and output (precision_outputs.jsonl)"
    )
    p.add_argument("--world", default="", help="world directory: passages for records without them")
    p.add_argument("--limit", type=int, default=0, help="generations per system (0: all)")
    _command(
        commands, "nlu", "zero-shot multiple-choice NLU from local task files", cmd_nlu, NluArgs, models=False
    )
    p = add_command(
        commands,
        "unlearn",
        cmd_unlearn,
        help="TOFU-style unlearning: deletion from the store against GA/GD/NPO",
        description="Runs the unlearning experiment; flags override the --config file's settings.",
    )
    p.add_argument("--config", default=None, help="JSON file of settings (the flags' names, with _)")
    p.add_argument("--quick", action="store_true", help="start from the small CI setting")
    # Flags not given stay out of the namespace: only flags given override the file.
    add_dataclass_arguments(p, UnlearnConfig, only_given=True)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    _command(
        commands,
        "suite",
        "every evaluation on the demo models, then the report",
        cmd_suite,
        SuiteArgs,
        out=False,
    )
    p = add_command(commands, "report", cmd_report, help="gather results into one markdown page")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="directories holding results")
    p.add_argument("--output", default="report.md", help="the markdown file to write")


def _models(args):
    from lmlm.evaluation.systems import ModelsArgs

    return dataclass_from_args(ModelsArgs, args)


def _done(args, report: dict, out: str | Path, summary: str) -> int:
    emit(args, report, f"{summary}\nwrote {out}")
    return 0


def _perplexity_lines(report: dict) -> list[str]:
    return [
        f"{name:<10}{model:<14} normalized ppl {r['normalized_ppl']}  ppl {r['ppl']}  lookups {r['lookups']}"
        for name, models in report["sets"].items()
        for model, r in models.items()
    ]


def _completion_lines(report: dict) -> list[str]:
    return [
        f"{name:<16}{system:<16} first words {r['first_words']}  contains {r['contains']}  (n={r['n']})"
        for name, systems in report["sets"].items()
        for system, r in systems.items()
    ]


def _precision_lines(report: dict) -> list[str]:
    return [
        f"{s:<16} precision {r['precision']}  ({r['true']}/{r['stated']})"
        for s, r in report["systems"].items()
    ]


def _on_models(module: str, settings: str, runner: str, lines: Callable[[dict], list[str]]):
    """A command that runs ``lmlm.evaluation.MODULE.RUNNER(models, SETTINGS, out)``."""

    def command(args) -> int:
        mod = importlib.import_module(f"lmlm.evaluation.{module}")
        config = dataclass_from_args(getattr(mod, settings), args)
        report = getattr(mod, runner)(_models(args), config, args.out, show_progress=args.progress)
        return _done(args, report, args.out, "\n".join(lines(report)))

    return command


cmd_perplexity = _on_models("perplexity", "PerplexityArgs", "run_perplexity", _perplexity_lines)
cmd_completion = _on_models("completion", "CompletionArgs", "run_completion", _completion_lines)
cmd_precision = _on_models("precision", "PrecisionArgs", "run_precision", _precision_lines)


def cmd_factscore(args) -> int:
    from lmlm.evaluation.factscore import FactScoreArgs, run_factscore

    report = run_factscore(
        dataclass_from_args(FactScoreArgs, args),
        args.generations,
        args.out,
        world_dir=args.world,
        limit=args.limit,
        show_progress=args.progress,
    )
    lines = [
        f"{s:<16} FActScore {r['factscore']}  (no penalty {r['factscore_no_penalty']})"
        for s, r in report["systems"].items()
    ]
    return _done(args, report, args.out, "\n".join(lines))


def cmd_nlu(args) -> int:
    from lmlm.evaluation.nlu import NluArgs, run_nlu

    report = run_nlu(dataclass_from_args(NluArgs, args), args.out, show_progress=args.progress)
    lines = [
        f"{t:<16} acc {r['acc']}  acc_norm {r['acc_norm']}  (n={r['examples']})"
        for t, r in report["tasks"].items()
    ]
    return _done(args, report, args.out, "\n".join(lines))


def unlearn_config(args):
    """The ``UnlearnConfig`` of ``lmlm eval unlearn``: the --config file (or --quick, or the
    defaults) with the flags given on top."""
    from lmlm.evaluation.unlearning import UnlearnConfig

    given = {f.name: getattr(args, f.name) for f in fields(UnlearnConfig) if hasattr(args, f.name)}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    if args.config:
        return UnlearnConfig.from_file(args.config, **given)
    if args.quick:
        base = UnlearnConfig.quick(given.pop("out_dir", ""), given.pop("demo", ""))
        return replace(base, **given)
    return UnlearnConfig(**given)


def cmd_unlearn(args) -> int:
    from lmlm.evaluation.unlearning import run_unlearning
    from lmlm.evaluation.unlearning.report import markdown_table

    config = unlearn_config(args)
    report = run_unlearning(config, show_progress=getattr(args, "progress", True))
    return _done(args, report, config.out_dir, markdown_table(report["rows"]))


def cmd_suite(args) -> int:
    from lmlm.evaluation.suite import SuiteArgs, run_suite

    suite = dataclass_from_args(SuiteArgs, args)
    summary = run_suite(_models(args), suite, show_progress=args.progress)
    return _done(args, summary, Path(suite.out_dir) / "report.md", json.dumps(summary["seconds"]))


def cmd_report(args) -> int:
    from lmlm.evaluation.report import build_report

    path = build_report(args.runs, args.output)
    emit(args, {"report": str(path)}, f"wrote {path}")
    return 0
