"""``python -m lmlm.train.pretrain_cli``: pretraining as a module, for ``accelerate launch``.

Same flags as ``lmlm train pretrain`` (one per :class:`~lmlm.train.pretrain_args.PretrainArgs`
field)::

    accelerate launch --config_file train/configs/accelerate_multi_gpu.yaml \\
        -m lmlm.train.pretrain_cli --data DATA --tokenizer TOK --out runs/lmlm-176m \\
        --preset paper-176m --mode lmlm --block-size 1024 --batch-size 32 --grad-accum 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lmlm.cli.common import (
    add_dataclass_arguments,
    add_log_level_flag,
    add_output_flags,
    configure_logging,
    dataclass_from_args,
    emit,
)
from lmlm.train.pretrain_args import PretrainArgs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lmlm.train.pretrain_cli", description="Pretrain an LMLM or a standard baseline."
    )
    add_dataclass_arguments(parser, PretrainArgs)
    add_output_flags(parser, top=True)
    add_log_level_flag(parser, default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    configure_logging(ns.log_level)
    try:
        args = dataclass_from_args(PretrainArgs, ns)
    except ValueError as e:
        parser.error(str(e))
    from accelerate import PartialState

    from lmlm.train.pretrain import pretrain

    result = pretrain(args, show_progress=not ns.json)
    if PartialState().is_main_process:
        emit(ns, result.to_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
