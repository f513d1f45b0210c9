"""The ``lmlm`` command: ``lmlm kg ...`` (the knowledge graph) and ``lmlm demo``.

Later groups (generate, train, annotate, eval, app) register here the same way. Errors of the
project's own family print as one line on stderr (exit 1), never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lmlm.kg.errors import KnowledgeGraphError

logger = logging.getLogger("lmlm")


def build_parser() -> argparse.ArgumentParser:
    from lmlm.cli import data, demo, eval, generate, kg, train

    parser = argparse.ArgumentParser(
        prog="lmlm",
        description="LMLM-KG: language models that look their facts up in a knowledge graph.",
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG, INFO, WARNING, ...)")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    kg.register(groups)
    data.register(groups)
    demo.register(groups)
    train.register(groups)
    generate.register(groups)
    eval.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args) or 0
    except KnowledgeGraphError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
