"""Pretraining a causal LM, LMLM style (lookups in the text, values masked) or standard.

Why a custom loop on ``accelerate`` rather than ``transformers.Trainer``/TRL's ``SFTTrainer``:

* the loss is exactly (sum of token cross-entropy) / (number of trained tokens) over the whole
  optimizer step, across gradient-accumulation micro-batches and processes. The count is known
  before the forward pass (the masks live on the host), so each micro-batch's summed loss is
  divided by the step's global count and nothing is averaged twice;
* masking is ours (:mod:`lmlm.train.masking`): computed per document before packing, handed over
  as labels; no collator guessing at special tokens;
* ``accelerate`` still gives what a loop should not reimplement: one code path for CPU, one GPU,
  DDP across GPUs and nodes (``accelerate launch``, configs in ``train/configs``), bf16 autocast,
  and checkpoints of model, optimizer, scheduler and RNG states (``save_state``/``load_state``).

The data are packed once into ``(n_blocks, block_size)`` arrays (:mod:`lmlm.train.pretrain_data`,
cached under ``out_dir/cache``, so a resumed or multi-process run tokenizes once) and served by
index: micro-batch ``m`` of the run is a fixed slice of the ``seed + epoch`` permutation, so a
checkpoint only has to remember ``m``. The loss is read off the device every ``log_every``
steps, never in between (multi-process runs also sum the step's target count across processes).

Outputs under ``out_dir``: ``checkpoint-STEP/``, ``final/`` (``save_pretrained`` model + tokenizer),
``log.json`` and ``loss.png``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator, PartialState
from accelerate.state import AcceleratorState
from accelerate.utils import set_seed
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from lmlm.train import pretrain_data, pretrain_state
from lmlm.train.masking import IGNORE_INDEX, BatchPlan, PackedArrays
from lmlm.train.presets import build_model, count_parameters
from lmlm.train.pretrain_args import PretrainArgs
from lmlm.train.tokenizer import lookup_token_ids, resize_embeddings

logger = logging.getLogger(__name__)

__all__ = ["PretrainArgs", "PretrainResult", "pretrain", "token_loss_sum"]


@dataclass(frozen=True)
class PretrainResult:
    """Where a run left its outputs and how it ended (losses are means over trained tokens)."""

    out_dir: Path
    final_dir: Path
    steps: int
    train_loss: float | None  # the last logged step
    eval_loss: float | None  # the final eval pass; None without eval documents
    log_path: Path
    plot_path: Path
    parameters: int
    tokens_per_s: float  # over the whole run (input tokens, all processes)

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def pretrain(
    args: PretrainArgs, train_docs=None, eval_docs=None, show_progress: bool = True
) -> PretrainResult:
    """Train per ``args``; documents come from ``args.data`` unless given (``Document`` s or strings)."""
    accelerator = _accelerator(args.precision)
    set_seed(args.seed)
    out_dir = Path(args.out_dir)
    latest = pretrain_state.prepare_out_dir(out_dir, args.resume)
    tokenizer = _load_tokenizer(args)
    train_texts, eval_texts = pretrain_data.select_texts(args, train_docs, eval_docs)
    with accelerator.main_process_first():
        train = pretrain_data.packed_blocks(train_texts, tokenizer, args, "train")
        evals = pretrain_data.packed_blocks(eval_texts, tokenizer, args, "eval") if eval_texts else None
    model = _build_model(args, tokenizer)
    optimizer = _optimizer(model, args, accelerator)
    plan = BatchPlan(
        train.n_blocks, args.batch_size, accelerator.process_index, accelerator.num_processes, args.seed
    )
    total = args.max_steps or max(1, math.ceil(args.epochs * plan.per_epoch / args.grad_accum))
    schedule = CosineWithWarmup(args.warmup_steps(total), total, args.min_lr_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    log = pretrain_state.RunLog.start(args, count_parameters(accelerator.unwrap_model(model)), accelerator)
    log.data = pretrain_data.summary(train_texts, eval_texts, train, evals, total)
    step, micro = 0, 0
    if latest is not None:
        step, micro = pretrain_state.resume(accelerator, latest, args, log)
        scheduler.lr_lambdas = [schedule] * len(scheduler.lr_lambdas)  # load_state restored the old ones
    loop = _Loop(accelerator, model, optimizer, scheduler, tokenizer, args, plan, train, evals, log, total)
    loop.run(step, micro, show_progress)
    final_dir = pretrain_state.save_final(accelerator, model, tokenizer, out_dir, log)
    return PretrainResult(
        out_dir=out_dir,
        final_dir=final_dir,
        steps=total,
        train_loss=log.last_train_loss(),
        eval_loss=log.last_eval_loss(),
        log_path=out_dir / pretrain_state.LOG_FILE,
        plot_path=out_dir / pretrain_state.PLOT_FILE,
        parameters=log.parameters,
        tokens_per_s=log.mean_tokens_per_s(),
    )


# ---------------------------------------------------------------------------------------------
# Setup


def _accelerator(precision: str) -> Accelerator:
    """An Accelerator; in a single process, one made earlier with another precision is replaced."""
    mixed_precision = _mixed_precision(precision)
    try:
        return Accelerator(mixed_precision=mixed_precision)
    except ValueError:  # "AcceleratorState has already been initialized and cannot be changed"
        if PartialState().num_processes > 1:
            raise
        AcceleratorState._reset_state(reset_partial_state=True)
        return Accelerator(mixed_precision=mixed_precision)


def _mixed_precision(precision: str) -> str | None:
    """accelerate's ``mixed_precision``: None under ``accelerate launch`` with auto (its config decides)."""
    if precision == "fp32":
        return "no"
    if precision == "bf16":
        return "bf16"
    if os.environ.get("ACCELERATE_MIXED_PRECISION"):
        return None
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _load_tokenizer(args: PretrainArgs):
    path = Path(args.tokenizer or args.init_from)
    flag = "--tokenizer" if args.tokenizer else "--init-from"
    if not path.is_dir():
        raise ValueError(f"{flag}: {path} is not a directory holding a tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if args.mode == "lmlm":
        lookup_token_ids(tokenizer)
    return tokenizer


def _build_model(args: PretrainArgs, tokenizer):
    if args.init_from:
        if not Path(args.init_from).is_dir():
            raise ValueError(f"--init-from: {args.init_from} is not a saved model directory")
        model = AutoModelForCausalLM.from_pretrained(args.init_from, dtype=torch.float32)
        resize_embeddings(model, len(tokenizer))
    else:
        model = build_model(args.preset, tokenizer, seed=args.seed)
    config = model.config
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if positions and args.block_size > positions:
        raise ValueError(f"--block-size {args.block_size} exceeds the model's {positions} positions")
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return model


def _optimizer(model, args: PretrainArgs, accelerator: Accelerator) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not on norms, biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": args.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = accelerator.device.type == "cuda"
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)


class CosineWithWarmup:
    """LR factor: linear warmup to 1, then a cosine down to ``min_ratio`` at ``total`` steps."""

    def __init__(self, warmup: int, total: int, min_ratio: float):
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def token_loss_sum(model, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed next-token cross-entropy over the positions whose label is not -100 (fp32 softmax)."""
    logits = model(input_ids=input_ids, use_cache=False).logits  # (B, T, V)
    return F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        labels[:, 1:].flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )


# ---------------------------------------------------------------------------------------------
# The loop


@dataclass
class _Loop:
    """The training loop over prepared objects; the host-side state lives in ``plan`` and ``log``."""

    acc: Accelerator
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    tokenizer: object
    args: PretrainArgs
    plan: BatchPlan
    train: PackedArrays
    evals: PackedArrays | None
    log: pretrain_state.RunLog
    total: int

    @property
    def out_dir(self) -> Path:
        return Path(self.args.out_dir)

    def run(self, step: int, micro: int, show_progress: bool) -> None:
        args, acc = self.args, self.acc
        bar = tqdm(
            total=self.total,
            initial=step,
            desc="pretrain",
            unit="step",
            disable=not (show_progress and acc.is_main_process),
        )
        window: list[tuple[int, float, torch.Tensor, int]] = []  # (step, lr, loss on device, tokens)
        t0 = time.perf_counter()
        self.model.train()
        while step < self.total:
            lr = self.sched.get_last_lr()[0]
            loss, tokens = self._step(micro)
            micro += args.grad_accum
            step += 1
            window.append((step, lr, loss, tokens))
            last = step == self.total
            due_eval = last or (args.eval_every and step % args.eval_every == 0)
            due_save = last or (args.save_every and step % args.save_every == 0)
            if due_save or step % args.log_every == 0:  # a checkpoint holds the log up to its step
                self.log.add_steps(self._gather(window), time.perf_counter() - t0)
                if acc.is_main_process:
                    logger.info(self.log.describe_last_step())
                bar.update(len(window))
                bar.set_postfix(loss=f"{self.log.last_train_loss():.3f}")
                window = []
            if due_eval:
                self._evaluate(step)
            if due_save:
                self._save(step, micro, write_log=not last)
            if not window:  # eval and saving do not count against tokens/s
                t0 = time.perf_counter()
        bar.close()

    def _save(self, step: int, micro: int, write_log: bool) -> None:
        """A checkpoint that ``--resume`` continues from and ``from_pretrained`` loads (config, tokenizer)."""

        def hf_files(path: Path) -> None:
            self.acc.unwrap_model(self.model).config.save_pretrained(str(path))
            self.tokenizer.save_pretrained(str(path))

        pretrain_state.save_checkpoint(
            self.acc, self.out_dir, step, micro, self.log, self.args.keep_checkpoints, hf_files, write_log
        )

    def _step(self, micro: int) -> tuple[torch.Tensor, int]:
        """One optimizer step over ``grad_accum`` micro-batches; returns (loss on device, input tokens)."""
        acc, args = self.acc, self.args
        batches = [self.plan.indices(m) for m in range(micro, micro + args.grad_accum)]
        n_trained = self._global_count(sum(int(self.train.trained[b, 1:].sum()) for b in batches))
        scale = acc.num_processes / max(1, n_trained)  # DDP averages gradients over processes
        total = torch.zeros((), device=acc.device)
        for k, b in enumerate(batches):
            input_ids, labels = self._tensors(self.train, b)
            sync = nullcontext() if k == len(batches) - 1 else acc.no_sync(self.model)
            with sync:
                loss = token_loss_sum(self.model, input_ids, labels) * scale
                acc.backward(loss)
            total += loss.detach() / acc.num_processes
        if args.max_grad_norm > 0:
            acc.clip_grad_norm_(self.model.parameters(), args.max_grad_norm)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        return total, sum(len(b) for b in batches) * args.block_size * acc.num_processes

    def _tensors(self, packed: PackedArrays, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.from_numpy(packed.input_ids[rows].astype(np.int64))
        labels = ids.masked_fill(~torch.from_numpy(packed.trained[rows]), IGNORE_INDEX)
        device = self.acc.device
        return ids.to(device, non_blocking=True), labels.to(device, non_blocking=True)

    def _global_count(self, count: int) -> int:
        if self.acc.num_processes == 1:
            return count
        return int(self.acc.reduce(torch.tensor(count, device=self.acc.device), reduction="sum").item())

    def _gather(self, window) -> list[dict]:
        """The window's losses in one device read (summed over processes)."""
        losses = torch.stack([loss for _, _, loss, _ in window])
        if self.acc.num_processes > 1:
            losses = self.acc.reduce(losses, reduction="sum")
        return [
            {"step": step, "loss": value, "lr": lr, "tokens": tokens}
            for (step, lr, _, tokens), value in zip(window, losses.tolist())
        ]

    @torch.no_grad()
    def _evaluate(self, step: int) -> None:
        """Mean cross-entropy over the trained tokens of every eval block."""
        if self.evals is None:
            return
        acc, packed = self.acc, self.evals
        self.model.eval()
        rows = np.arange(acc.process_index, packed.n_blocks, acc.num_processes)
        loss_sum = torch.zeros((), device=acc.device)
        count = 0
        for start in range(0, len(rows), self.args.batch_size):
            chunk = rows[start : start + self.args.batch_size]
            loss_sum += token_loss_sum(self.model, *self._tensors(packed, chunk))
            count += int(packed.trained[chunk, 1:].sum())
        totals = torch.stack([loss_sum, torch.tensor(float(count), device=acc.device)])
        if acc.num_processes > 1:
            totals = acc.reduce(totals, reduction="sum")
        loss, n = totals.tolist()
        self.model.train()
        self.log.add_eval(step, loss / n if n else None)
        if acc.is_main_process:
            logger.info("step %d: eval loss %s over %d tokens", step, self.log.last_eval_loss(), int(n))
