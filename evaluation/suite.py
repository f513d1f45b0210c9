"""``lmlm eval suite``: every evaluation on the demo models, then the report.

Perplexity, knowledge completion, grounded factual precision and the unlearning experiment, each
in its own sub-directory of ``out_dir``; FActScore on the precision generations when asked (it
calls a paid API); NLU when task files are given; ``report.md`` last. ``quick`` shrinks every part
(few documents, items and prompts; one forget split, one epoch, briefly trained references) so that
CI runs it on the test suite's mini demo.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .completion import CompletionArgs
from .entry_point import write_json
from .perplexity import PerplexityArgs
from .precision import PrecisionArgs
from .systems import ModelsArgs
from .unlearning.config import UnlearnConfig

PARTS = ("perplexity", "completion", "precision", "unlearning")


@dataclass(frozen=True)
class SuiteArgs:
    """What ``lmlm eval suite`` runs."""

    out_dir: str = field(
        metadata={"help": "results directory (one sub-directory per evaluation)", "flags": ("--out",)}
    )
    quick: bool = field(default=False, metadata={"help": "a small setting for CI (minutes on a mini demo)"})
    skip: tuple[str, ...] = field(default=(), metadata={"help": f"parts to leave out: {', '.join(PARTS)}"})
    factscore: bool = field(
        default=False,
        metadata={"help": "also FActScore the precision generations (paid API: $OPENAI_API_KEY)"},
    )
    factscore_model: str = field(default="gpt-4o-mini", metadata={"help": "the FActScore judge"})
    nlu_tasks: tuple[str, ...] = field(
        default=(), metadata={"help": "TASK=FILE pairs for the NLU part (both models)"}
    )

    def __post_init__(self) -> None:
        bad = [p for p in self.skip if p not in PARTS]
        if bad:
            raise ValueError(f"--skip must be among {', '.join(PARTS)}; got {bad}")


def suite_settings(quick: bool) -> tuple[PerplexityArgs, CompletionArgs, PrecisionArgs]:
    if not quick:
        return PerplexityArgs(), CompletionArgs(), PrecisionArgs()
    return (
        PerplexityArgs(limit=6),
        CompletionArgs(limit=30, max_new_tokens=6),
        PrecisionArgs(limit=20, max_new_tokens=16),
    )


def _unlearning_needs_the_demo(models: ModelsArgs) -> None:
    """The unlearning part reads the demo's directory (its models, store, world and training logs,
    whose recipe the retain references repeat): refuse models given apart from it, before any work."""
    own = ModelsArgs(demo=models.demo).resolved()
    other = [
        name
        for name in ("lmlm", "standard", "store", "world")
        if Path(getattr(models, name)).expanduser().resolve()
        != Path(getattr(own, name)).expanduser().resolve()
    ]
    if other:
        flags = ", ".join(f"--{name}" for name in other)
        raise ValueError(
            f"{flags}: the unlearning part runs on a demo directory's own models, store and world "
            f"({own.demo}); give --demo DIR instead, or --skip unlearning"
        )


def run_suite(models: ModelsArgs, args: SuiteArgs, *, show_progress: bool = True) -> dict:
    from .completion import run_completion
    from .perplexity import run_perplexity
    from .precision import run_precision
    from .report import build_report
    from .unlearning import run_unlearning

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = models.require("lmlm", "standard", "store", "world")
    if "unlearning" not in args.skip:
        _unlearning_needs_the_demo(models)
    perplexity, completion, precision = suite_settings(args.quick)
    seconds: dict[str, float] = {}

    def part(name: str, run) -> None:
        if name in args.skip:
            return
        start = time.perf_counter()
        run(out / name)
        seconds[name] = round(time.perf_counter() - start, 1)

    part("perplexity", lambda d: run_perplexity(models, perplexity, d, show_progress=show_progress))
    part("completion", lambda d: run_completion(models, completion, d, show_progress=show_progress))
    part("precision", lambda d: run_precision(models, precision, d, show_progress=show_progress))
    if args.factscore and "precision" not in args.skip:
        from .factscore import FactScoreArgs, run_factscore

        part(
            "factscore",
            lambda d: run_factscore(
                FactScoreArgs(model=args.factscore_model),
                out / "precision" / "precision_outputs.jsonl",
                d,
                world_dir=models.world,
                limit=20 if args.quick else 0,
                show_progress=show_progress,
            ),
        )
    if args.nlu_tasks:
        from .nlu import NluArgs, run_nlu

        for kind in ("lmlm", "standard"):
            nlu = NluArgs(model=getattr(models, kind), tasks=args.nlu_tasks, limit=50 if args.quick else 0)
            part(f"nlu-{kind}", lambda d, nlu=nlu: run_nlu(nlu, d, show_progress=show_progress))
    unlearn = (
        UnlearnConfig.quick(str(out / "unlearning"), models.demo)
        if args.quick
        else UnlearnConfig(out_dir=str(out / "unlearning"), demo=models.demo)
    )
    part(
        "unlearning", lambda d: run_unlearning(replace(unlearn, out_dir=str(d)), show_progress=show_progress)
    )
    summary = {
        "settings": asdict(args),
        "models": asdict(models),
        "seconds": seconds,
        "total_seconds": round(sum(seconds.values()), 1),
    }
    write_json(out / "suite.json", summary)
    build_report([out], out / "report.md")
    return summary
