"""What every ``lmlm`` command shares: the ``--json`` flag and printing results."""

from __future__ import annotations

import argparse
import json


def add_output_flags(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--json`` on the group and on each command (either place works)."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print machine-readable JSON instead of text",
    )


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None, default=str))
