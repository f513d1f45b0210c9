"""``lmlm train ...``: tokenizers, pretraining, and (from its own module) the annotator.

torch and transformers are imported inside the commands, so ``lmlm --help`` stays fast. Data
paths are read with :func:`lmlm.train.corpus.load_documents` (paper JSON, JSONL, a world
directory). Multi-GPU pretraining: ``accelerate launch --config_file train/configs/... -m
lmlm.train.pretrain_cli ...`` takes the same flags as ``lmlm train pretrain``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lmlm.cli.common import add_output_flags, print_json
from lmlm.train.presets import PRESETS
from lmlm.train.pretrain_args import add_pretrain_arguments, args_from_namespace

logger = logging.getLogger(__name__)


def register(groups) -> None:
    train = groups.add_parser("train", help="train tokenizers, LMLM / standard models, the annotator")
    add_output_flags(train, top=True)
    commands = train.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "tokenizer",
        help="train a byte-level BPE with the lookup tokens, or add them to an existing tokenizer",
        description="Train a byte-level BPE on --data (the four lookup tokens kept whole), or with "
        "--extend add the lookup tokens to a local tokenizer (and resize the model saved with it).",
    )
    p.add_argument("--data", default=None, help="documents: paper JSON, JSONL or a world directory")
    p.add_argument("--out", required=True, help="directory to save the tokenizer (and extended model) in")
    p.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary, lookup tokens not counted")
    p.add_argument("--min-frequency", type=int, default=2, help="least count for a merge")
    p.add_argument("--extend", default=None, help="local tokenizer or model directory to extend instead")
    add_output_flags(p)
    p.set_defaults(func=cmd_tokenizer)

    p = commands.add_parser(
        "pretrain",
        help="pretrain a model on annotated documents (lmlm) or on their plain text (standard)",
        description="Pretrain from a preset or --init-from. Checkpoints, final/, log.json and "
        "loss.png go to --out; --resume continues from the latest checkpoint there.",
    )
    add_pretrain_arguments(p)
    add_output_flags(p)
    p.set_defaults(func=cmd_pretrain)

    p = commands.add_parser("presets", help="list the model presets")
    add_output_flags(p)
    p.set_defaults(func=cmd_presets)

    _register_annotator(commands)


def _register_annotator(commands) -> None:
    """``lmlm train annotator`` is defined by lmlm.train.annotator (its flags, its command)."""
    try:
        from lmlm.train import annotator
    except ModuleNotFoundError as e:  # a module it needs is not installed
        logger.debug("lmlm train annotator unavailable: %s", e)
        return
    annotator.register_cli(commands)


def cmd_tokenizer(args) -> int:
    from lmlm.train.tokenizer import extend_tokenizer, lookup_token_ids, train_tokenizer

    if args.extend:
        tokenizer, model = extend_tokenizer(args.extend, args.out, model=_model_beside(args.extend))
        summary = {"out": args.out, "extended": args.extend, "model_resized": model is not None}
    else:
        if not args.data:
            raise ValueError("--data is required (or --extend BASE to extend a tokenizer)")
        from lmlm.train.corpus import lmlm_text, load_documents

        docs = load_documents(args.data)
        tokenizer = train_tokenizer(
            (lmlm_text(d) for d in docs),
            args.out,
            vocab_size=args.vocab_size,
            min_frequency=args.min_frequency,
        )
        summary = {"out": args.out, "documents": len(docs)}
    summary |= {"tokens": len(tokenizer), "lookup_token_ids": lookup_token_ids(tokenizer)}
    _print(args, summary)
    return 0


def _model_beside(path: str):
    """The causal LM saved in ``path`` with its tokenizer, if there is one."""
    if not (Path(path) / "config.json").is_file():
        return None
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def cmd_pretrain(args) -> int:
    from lmlm.train.pretrain import pretrain

    result = pretrain(args_from_namespace(args), show_progress=not getattr(args, "json", False))
    _print(args, result.to_dict())
    return 0


def cmd_presets(args) -> int:
    rows = [
        {
            "name": p.name,
            "arch": p.arch,
            "hidden": p.hidden,
            "layers": p.layers,
            "heads": p.heads,
            "intermediate": p.intermediate,
            "description": p.description,
        }
        for p in PRESETS.values()
    ]
    if getattr(args, "json", False):
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<12} {r['arch']:<6} {r['hidden']}x{r['layers']}  {r['description']}")
    return 0


def _print(args, summary: dict) -> None:
    if getattr(args, "json", False):
        print_json(summary)
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
