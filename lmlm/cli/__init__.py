"""The ``lmlm`` command. Each group of commands is a module of this package:

* ``lmlm kg ...``: the knowledge graph: import, look up, edit, forget, export (:mod:`lmlm.cli.kg`)
* ``lmlm data ...``: training data: generate a world, convert and clean corpora (:mod:`lmlm.cli.data`)
* ``lmlm demo``: build (first run) and open the demo in the app (:mod:`lmlm.cli.demo`)
* ``lmlm app``: the Streamlit app on a store and a model (:mod:`lmlm.cli.app`)
* ``lmlm train ...``: tokenizers, pretraining, the annotator (:mod:`lmlm.cli.train`)
* ``lmlm generate``: decode prompts with lookups answered by a store (:mod:`lmlm.cli.generate`)
* ``lmlm annotate``: raw text to annotated corpus, triples and a store (:mod:`lmlm.cli.annotate`)
* ``lmlm eval ...``: perplexities, completion, factual precision, NLU, unlearning, reports (:mod:`lmlm.cli.eval`)

A group's module has ``register(groups)``, which adds its parser (flags made from its settings'
dataclasses with :mod:`lmlm.cli.common`) and sets ``func`` on each command; adding a group is one
entry in :data:`GROUPS`. Modules import torch only inside their commands, so ``lmlm --help`` stays
fast. Errors of the project's own family, ``ValueError`` and ``OSError`` print as one line on stderr
(exit 1), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from lmlm.cli.common import add_log_level_flag, configure_logging, model_loading_bars
from lmlm.kg.errors import KnowledgeGraphError

logger = logging.getLogger("lmlm")

GROUPS = ("kg", "data", "demo", "app", "train", "generate", "annotate", "eval")
"""The modules of :mod:`lmlm.cli` that make a command group, in the order ``lmlm --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lmlm",
        description="LMLM-KG: language models that look their facts up in a knowledge graph.",
    )
    add_log_level_flag(parser)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for name in GROUPS:
        importlib.import_module(f"lmlm.cli.{name}").register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        with model_loading_bars(getattr(args, "progress", True)):  # --no-progress: theirs too
            return args.func(args) or 0
    except (KnowledgeGraphError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
