"""``lmlm train ...``: tokenizers, pretraining, and the annotator.

torch and transformers are imported inside the commands, so ``lmlm --help`` stays fast. Data
paths are read with :func:`lmlm.train.corpus.load_documents` (paper JSON, JSONL, a world
directory). ``pretrain`` takes one flag per :class:`~lmlm.train.pretrain_args.PretrainArgs` field;
multi-GPU pretraining: ``accelerate launch --config_file train/configs/... -m
lmlm.train.pretrain_cli ...`` takes the same flags. ``annotator`` takes one flag per
:class:`~lmlm.train.annotator_args.AnnotatorArgs` field, on top of a settings file or preset given
with ``--config``.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from lmlm.cli.common import (
    add_command,
    add_dataclass_arguments,
    add_output_flags,
    dataclass_from_args,
    emit,
    values_from_args,
)
from lmlm.train.annotator_args import AnnotatorArgs, args_from_config
from lmlm.train.presets import PRESETS
from lmlm.train.pretrain_args import PretrainArgs


def register(groups) -> None:
    train = groups.add_parser("train", help="train tokenizers, LMLM / standard models, the annotator")
    add_output_flags(train, top=True)
    commands = train.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = add_command(
        commands,
        "tokenizer",
        cmd_tokenizer,
        help="train a byte-level BPE with the lookup tokens, or add them to an existing tokenizer",
        description="Train a byte-level BPE on --data (the four lookup tokens kept whole), or with "
        "--extend add the lookup tokens to a local tokenizer (and resize the model saved with it).",
    )
    p.add_argument("--data", default=None, help="documents: paper JSON, JSONL or a world directory")
    p.add_argument("--out", required=True, help="directory to save the tokenizer (and extended model) in")
    p.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary, lookup tokens not counted")
    p.add_argument("--min-frequency", type=int, default=2, help="least count for a merge")
    p.add_argument("--extend", default=None, help="local tokenizer or model directory to extend instead")

    p = add_command(
        commands,
        "pretrain",
        cmd_pretrain,
        help="pretrain a model on annotated documents (lmlm) or on their plain text (standard)",
        description="Pretrain from a preset or --init-from. Checkpoints, final/, log.json and "
        "loss.png go to --out; --resume continues from the latest checkpoint there.",
    )
    add_dataclass_arguments(p, PretrainArgs)
    add_command(commands, "presets", cmd_presets, help="list the model presets")

    p = add_command(
        commands,
        "annotator",
        cmd_annotator,
        help="fine-tune an annotator LLM (LoRA) on raw -> annotated text",
        description="Fine-tune an instruct model with LoRA to annotate raw text with lookup calls. "
        "Settings come from --config (a JSON file or a preset name, e.g. annotator_llama31_8b); "
        "flags given on the command line override it.",
    )
    p.add_argument("--config", default=None, help="JSON settings file or packaged preset name")
    add_dataclass_arguments(p, AnnotatorArgs, only_given=True)


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
    emit(args, summary)
    return 0


def _model_beside(path: str):
    """The causal LM saved in ``path`` with its tokenizer, if there is one."""
    if not (Path(path) / "config.json").is_file():
        return None
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def cmd_pretrain(args) -> int:
    from lmlm.train.pretrain import pretrain

    settings = dataclass_from_args(PretrainArgs, args)
    result = pretrain(settings, show_progress=not getattr(args, "json", False))
    emit(args, result.to_dict())
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
    text = "\n".join(
        f"{r['name']:<12} {r['arch']:<6} {r['hidden']}x{r['layers']}  {r['description']}" for r in rows
    )
    emit(args, rows, text)
    return 0


def annotator_settings(args) -> AnnotatorArgs:
    """The ``--config`` file or preset, with the flags given on top."""
    return args_from_config(args.config, **values_from_args(AnnotatorArgs, args))


def cmd_annotator(args) -> int:
    settings = annotator_settings(args)  # bad settings fail before torch is imported
    from lmlm.train.annotator import train_annotator

    with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its log lines: keep stdout for the result
        result = train_annotator(settings, show_progress=True)
    summary = {
        "model_dir": str(result.model_dir),
        "adapter_dir": str(result.adapter_dir) if result.adapter_dir else None,
        "merged_dir": str(result.merged_dir) if result.merged_dir else None,
        "train_loss": result.train_loss,
        "eval_loss": result.eval_loss,
        "log": str(result.log_path),
        "plot": str(result.plot_path),
    }
    emit(args, summary)
    return 0
