"""``python -m lmlm.train.pretrain_cli``: pretraining as a module, for ``accelerate launch``.

Same flags as ``lmlm train pretrain``::

    accelerate launch --config_file train/configs/accelerate_multi_gpu.yaml \\
        -m lmlm.train.pretrain_cli --data DATA --tokenizer TOK --out runs/lmlm-176m \\
        --preset paper-176m --mode lmlm --block-size 1024 --batch-size 32 --grad-accum 2
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from lmlm.train.pretrain_args import add_pretrain_arguments, args_from_namespace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lmlm.train.pretrain_cli", description="Pretrain an LMLM or a standard baseline."
    )
    add_pretrain_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING, ...)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    logging.basicConfig(level=ns.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        args = args_from_namespace(ns)
    except ValueError as e:
        parser.error(str(e))
    from accelerate import PartialState

    from lmlm.train.pretrain import pretrain

    result = pretrain(args, show_progress=not ns.json)
    if PartialState().is_main_process:
        summary = result.to_dict()
        print(json.dumps(summary) if ns.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
