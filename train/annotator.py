"""Annotator fine-tuning: teach an instruct model to rewrite raw text with lookup calls.

The pairs are (raw text -> annotated text), e.g. the paper's GPT-4o annotations. Training is TRL's
``SFTTrainer`` with a LoRA adapter (PEFT) on conversational prompt-completion rows::

    prompt     = [system: ANNOTATOR_SYSTEM_PROMPT, user: raw text]
    completion = [assistant: annotated text]

rendered with the base model's own chat template. TRL tokenizes ``prompt`` (with the generation
prompt) and ``prompt + completion``, and with ``completion_only_loss`` sets the labels of the prompt
tokens to -100: only the assistant's answer (and the template's end-of-turn token) is trained.
``tests/train/test_annotator.py`` checks this on a collated batch. ``finetune="full"`` trains every
weight instead (no PEFT): for the small bases built on this machine, whose embeddings need training
too and whose whole weights cost no more than an adapter of a large model.

Data come through :func:`lmlm.train.corpus.load_documents` (paper JSON, JSONL, a world directory),
which parses every call; the completion is written back with
:func:`lmlm.kg.syntax.from_pretraining_text`, so the annotator learns one canonical, escaped
spelling that our parser reads back exactly, whatever quoting the source file used.

Outputs under ``out_dir``: ``adapter/`` (LoRA weights + tokenizer) or ``model/`` (full fine-tuning:
the whole model + tokenizer), ``merged/`` with ``merge``,
``losses.json`` and ``losses.png``. torch, TRL and PEFT are imported when training starts. The
settings and their JSON presets live in :mod:`lmlm.train.annotator_args` (re-exported here), the
command ``lmlm train annotator`` in :mod:`lmlm.cli.train`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from lmlm.kg.syntax import format_annotated_call, from_pretraining_text
from lmlm.train.annotator_args import AnnotatorArgs, args_from_config, load_config
from lmlm.train.corpus import Document, load_documents, split_documents

if TYPE_CHECKING:
    import torch
    from trl import SFTTrainer

logger = logging.getLogger(__name__)

__all__ = [
    "ANNOTATOR_SYSTEM_PROMPT",
    "AnnotationPair",
    "AnnotatorArgs",
    "AnnotatorResult",
    "args_from_config",
    "build_annotator_messages",
    "build_trainer",
    "load_annotation_pairs",
    "load_config",
    "train_annotator",
]

ADAPTER_DIR, MODEL_DIR, MERGED_DIR = "adapter", "model", "merged"
LOSS_LOG, LOSS_PLOT = "losses.json", "losses.png"


def _build_system_prompt() -> str:
    call = format_annotated_call("Ko Itakura", "Birthplace", "Yokohama")
    club = format_annotated_call("Ko Itakura", "Club", "Borussia Mönchengladbach")
    return (
        "You annotate text for a language model that looks its facts up in a knowledge graph.\n"
        "Copy the user's text exactly. Before each factual value in it (a name, date, place, number "
        "or other specific fact about an entity), insert a lookup call\n"
        f"{format_annotated_call('Entity', 'Relation', 'Value')} followed by a space and the value as "
        "written in the text.\n"
        "Entity is the subject the fact is about, Relation a short name for the relation, Value the "
        "canonical form of the value. Only annotate facts stated in the text; do not annotate the first "
        "mention of the subject itself. Output only the annotated text.\n\n"
        "Example\n"
        "Text: Ko Itakura was born in Yokohama and plays for Borussia Mönchengladbach.\n"
        f"Annotated: Ko Itakura was born in {call} Yokohama and plays for {club} Borussia Mönchengladbach."
    )


ANNOTATOR_SYSTEM_PROMPT = _build_system_prompt()


def build_annotator_messages(text: str) -> list[dict[str, str]]:
    """The chat prompt for annotating ``text``: the same at training and inference time."""
    return [{"role": "system", "content": ANNOTATOR_SYSTEM_PROMPT}, {"role": "user", "content": text}]


@dataclass(frozen=True)
class AnnotatorResult:
    """What a run wrote. ``train_loss``: mean over the run (Trainer's figure); ``eval_loss``: at the end.

    ``model_dir`` is what ``lmlm annotate --model`` takes: the adapter (LoRA) or the whole fine-tuned
    model (full); ``adapter_dir`` is None after full fine-tuning."""

    out_dir: Path
    model_dir: Path
    adapter_dir: Path | None
    merged_dir: Path | None
    train_loss: float
    eval_loss: float | None
    log_path: Path
    plot_path: Path


@dataclass(frozen=True)
class AnnotationPair:
    """One training example: the raw text and its annotation in the paper's dblookup format."""

    id: str
    text: str
    annotated: str
    source: str = ""


# ---------------------------------------------------------------------------------------------
# Data


def load_annotation_pairs(paths) -> list[AnnotationPair]:
    """The (raw, annotated) pairs of every file; a document without raw text is an error naming it."""
    pairs: list[AnnotationPair] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        docs = load_documents(path, lenient=True)
        if not docs:
            raise ValueError(f"{path}: no documents")
        pairs.extend(_to_pair(doc, path) for doc in docs)
    return pairs


def _to_pair(doc: Document, path) -> AnnotationPair:
    if not doc.text.strip():
        raise ValueError(f"{path}: record {doc.id!r}: empty 'text' (the annotator needs the raw text)")
    return AnnotationPair(doc.id, doc.text, from_pretraining_text(doc.annotated), doc.source)


def to_conversation(pair: AnnotationPair) -> dict[str, list[dict[str, str]]]:
    """A conversational prompt-completion row for TRL."""
    return {
        "prompt": build_annotator_messages(pair.text),
        "completion": [{"role": "assistant", "content": pair.annotated}],
    }


def split_pairs(pairs: list[AnnotationPair], eval_fraction: float, seed: int):
    """Held-out pairs for eval loss, chosen by :func:`lmlm.train.corpus.split_documents`."""
    if eval_fraction == 0 or len(pairs) < 2:
        return pairs, []
    docs = [
        Document(id=str(i), text=p.text, annotated=p.annotated, source=p.source) for i, p in enumerate(pairs)
    ]
    train_docs, eval_docs = split_documents(docs, eval_fraction=eval_fraction, seed=seed)
    return [pairs[int(d.id)] for d in train_docs], [pairs[int(d.id)] for d in eval_docs]


# ---------------------------------------------------------------------------------------------
# Training


def resolve_dtype(precision: str) -> torch.dtype:
    """``auto``: bf16 on a GPU that has it, fp32 otherwise (CPU runs, tests)."""
    import torch

    if precision == "auto":
        cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    return torch.bfloat16 if precision == "bf16" else torch.float32


def load_base(args: AnnotatorArgs):
    """The base model and its tokenizer; the tokenizer must carry a chat template."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    if not tokenizer.chat_template:
        raise ValueError(
            f"--base-model {args.base_model}: the tokenizer has no chat template (use an instruct model)"
        )
    model = AutoModelForCausalLM.from_pretrained(args.base_model, dtype=resolve_dtype(args.precision))
    return model, tokenizer


def build_trainer(
    args: AnnotatorArgs,
    train_pairs: list[AnnotationPair],
    eval_pairs: list[AnnotationPair],
    show_progress=True,
) -> SFTTrainer:
    """TRL's SFTTrainer on the base model (a fresh LoRA adapter, or every weight), completion-only loss."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not train_pairs:
        raise ValueError("--data: no training documents left after the eval split")
    model, tokenizer = load_base(args)
    bf16 = resolve_dtype(args.precision) == torch.bfloat16
    steps = _planned_steps(args, len(train_pairs))
    eval_every = args.eval_every or max(1, steps // 10)
    config = SFTConfig(
        output_dir=str(Path(args.out_dir) / "trainer"),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        warmup_steps=math.ceil(0.03 * steps),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        activation_checkpointing=args.gradient_checkpointing,  # transformers 5 name of gradient checkpointing
        max_length=args.max_length,
        completion_only_loss=True,
        bf16=bf16,
        fp16=False,
        logging_steps=max(1, min(10, eval_every)),
        eval_strategy="steps" if eval_pairs else "no",
        eval_steps=eval_every,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        data_seed=args.seed,
        disable_tqdm=not show_progress,
        use_cpu=not torch.cuda.is_available(),
    )
    return SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list([to_conversation(p) for p in train_pairs]),
        eval_dataset=Dataset.from_list([to_conversation(p) for p in eval_pairs]) if eval_pairs else None,
        processing_class=tokenizer,
        peft_config=_lora_config(args) if args.finetune == "lora" else None,
    )


def _lora_config(args: AnnotatorArgs):
    from peft import LoraConfig

    return LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=_target_modules(args.target_modules),
        task_type="CAUSAL_LM",
    )


def _target_modules(spec: str) -> str | list[str]:
    spec = spec.strip()
    return spec if spec == "all-linear" else [name.strip() for name in spec.split(",") if name.strip()]


def _planned_steps(args: AnnotatorArgs, n_train: int) -> int:
    if args.max_steps > 0:
        return args.max_steps
    per_epoch = math.ceil(n_train / (args.batch_size * args.grad_accum))
    return max(1, math.ceil(per_epoch * args.epochs))


def train_annotator(args: AnnotatorArgs, show_progress: bool = True) -> AnnotatorResult:
    """Fine-tune the annotator; writes the adapter, optionally the merged model, the loss log and plot."""
    pairs = load_annotation_pairs(args.data)
    train_pairs, eval_pairs = split_pairs(pairs, args.eval_fraction, args.seed)
    logger.info("annotator: %d training and %d eval documents", len(train_pairs), len(eval_pairs))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _progress_bars(show_progress):
        trainer = build_trainer(args, train_pairs, eval_pairs, show_progress)
        output = trainer.train()
        eval_loss = trainer.evaluate()["eval_loss"] if eval_pairs else None
        model_dir = out_dir / (ADAPTER_DIR if args.finetune == "lora" else MODEL_DIR)
        trainer.model.save_pretrained(model_dir)
        trainer.processing_class.save_pretrained(model_dir)
        merged_dir = _save_merged(trainer, out_dir / MERGED_DIR) if args.merge else None
    history = _loss_history(trainer.state.log_history)
    log_path = out_dir / LOSS_LOG
    log = {"args": _args_dict(args), "train": history["train"], "eval": history["eval"]}
    log |= {"train_loss": output.training_loss, "eval_loss": eval_loss, "steps": trainer.state.global_step}
    log_path.write_text(json.dumps(log, indent=2))
    plot_path = plot_losses(history, out_dir / LOSS_PLOT)
    adapter_dir = model_dir if args.finetune == "lora" else None
    return AnnotatorResult(
        out_dir, model_dir, adapter_dir, merged_dir, output.training_loss, eval_loss, log_path, plot_path
    )


@contextlib.contextmanager
def _progress_bars(show: bool):
    """Silence the bars of datasets' map and transformers' saving too when ``show`` is False."""
    from datasets.utils import logging as datasets_logging
    from transformers.utils import logging as transformers_logging

    was_on = datasets_logging.is_progress_bar_enabled(), transformers_logging.is_progress_bar_enabled()
    if not show:
        datasets_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on[0]:
            datasets_logging.enable_progress_bar()
        if was_on[1]:
            transformers_logging.enable_progress_bar()


def _save_merged(trainer: SFTTrainer, merged_dir: Path) -> Path:
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(merged_dir)
    trainer.processing_class.save_pretrained(merged_dir)
    return merged_dir


def _loss_history(log_history: list[dict]) -> dict[str, list[dict[str, float]]]:
    train = [{"step": e["step"], "loss": e["loss"]} for e in log_history if "loss" in e]
    evals = [{"step": e["step"], "loss": e["eval_loss"]} for e in log_history if "eval_loss" in e]
    return {"train": train, "eval": evals}


def _args_dict(args: AnnotatorArgs) -> dict:
    return {f.name: getattr(args, f.name) for f in fields(args)}


def plot_losses(history: dict[str, list[dict[str, float]]], path: Path) -> Path:
    """Train and eval loss against the optimizer step, as a PNG (Agg canvas: no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, points in history.items():
        if points:
            ax.plot([p["step"] for p in points], [p["loss"] for p in points], marker=".", label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (completion tokens)")
    ax.set_title("annotator fine-tuning")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
