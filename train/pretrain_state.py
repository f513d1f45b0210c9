"""What a pretraining run leaves on disk: checkpoints, the data cache, the log, the plot, the final model.

``checkpoint-STEP/`` holds ``accelerate``'s ``save_state`` (model, optimizer, scheduler, every
process's RNG states) plus ``trainer_state.json`` (step, the micro-batch position in the data, the
log so far). It is written under a temporary name and renamed when complete, so a run killed while
saving resumes from the previous one.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

LOG_FILE, PLOT_FILE, FINAL_DIR, STATE_FILE = "log.json", "loss.png", "final", "trainer_state.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
# Settings a resumed run must share with the checkpoint (others, e.g. --max-steps, may change).
# The schedule is rebuilt from the current settings (a longer --max-steps stretches the cosine).
_FIXED_ON_RESUME = (
    "mode",
    "preset",
    "init_from",
    "block_size",
    "batch_size",
    "grad_accum",
    "seed",
    "lr",
    "min_lr_ratio",
)


@dataclass
class RunLog:
    """The run's record; ``log.json`` is its JSON form."""

    args: dict
    parameters: int
    environment: dict
    data: dict = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    resumed_at: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, args, parameters: int, accelerator) -> RunLog:
        env = {
            "device": str(accelerator.device),
            "processes": accelerator.num_processes,
            "mixed_precision": accelerator.mixed_precision,
        }
        return cls(args.to_dict(), parameters, env)

    def add_steps(self, records: list[dict], seconds: float) -> None:
        tokens_per_s = sum(r["tokens"] for r in records) / max(seconds, 1e-9)
        for r in records:
            self.steps.append({**r, "tokens_per_s": round(tokens_per_s, 1)})

    def describe_last_step(self) -> str:
        s = self.steps[-1]
        return f"step {s['step']}: loss {s['loss']:.4f} lr {s['lr']:.2e} {s['tokens_per_s']:.0f} tokens/s"

    def add_eval(self, step: int, loss: float | None) -> None:
        self.evals.append({"step": step, "loss": loss})

    def last_train_loss(self) -> float | None:
        return self.steps[-1]["loss"] if self.steps else None

    def last_eval_loss(self) -> float | None:
        return self.evals[-1]["loss"] if self.evals else None

    def mean_tokens_per_s(self) -> float:
        if not self.steps:
            return 0.0
        seconds = sum(s["tokens"] / s["tokens_per_s"] for s in self.steps if s["tokens_per_s"])
        return sum(s["tokens"] for s in self.steps) / max(seconds, 1e-9)

    def to_dict(self) -> dict:
        return {
            "args": self.args,
            "parameters": self.parameters,
            "environment": self.environment,
            "data": self.data,
            "resumed_at": self.resumed_at,
            "steps": self.steps,
            "evals": self.evals,
        }

    def write(self, out_dir: Path) -> None:
        (out_dir / LOG_FILE).write_text(json.dumps(self.to_dict(), indent=1))
        plot_losses(self, out_dir / PLOT_FILE)


def plot_losses(log: RunLog, path: Path) -> Path:
    """Train loss per step and eval loss per eval pass (Agg canvas: no display, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([s["step"] for s in log.steps], [s["loss"] for s in log.steps], label="train", lw=1)
    evals = [e for e in log.evals if e["loss"] is not None]
    if evals:
        ax.plot([e["step"] for e in evals], [e["loss"] for e in evals], "o-", label="eval")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean over trained tokens)")
    ax.set_title(f"{log.args.get('mode', '')} {log.args.get('preset', '')}".strip())
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


# ---------------------------------------------------------------------------------------------
# Checkpoints


def checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints, oldest first."""
    found = []
    for path in out_dir.glob("checkpoint-*") if out_dir.is_dir() else []:
        match = _CHECKPOINT.fullmatch(path.name)
        if match and (path / STATE_FILE).is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def prepare_out_dir(out_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from, or None; refuses to train over another run's checkpoints."""
    found = checkpoints(out_dir)
    if found and not resume:
        raise ValueError(
            f"--out {out_dir} already holds checkpoints (latest {found[-1][1].name}): "
            "pass --resume to continue that run, or choose another directory"
        )
    if resume and not found:
        logger.warning("--resume: no checkpoint in %s, starting from scratch", out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return found[-1][1] if found else None


def save_checkpoint(
    accelerator,
    out_dir: Path,
    step: int,
    micro: int,
    log: RunLog,
    keep: int,
    hf_files: Callable[[Path], None] | None = None,
    write_log: bool = True,
) -> Path:
    """Every process calls this; the main one adds ``hf_files`` (config, tokenizer) and the state
    file, renames, prunes, and writes the log."""
    final = out_dir / f"checkpoint-{step}"
    tmp = out_dir / f".checkpoint-{step}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if hf_files is not None:
            hf_files(tmp)
        state = {"step": step, "micro_batch": micro, "log": log.to_dict()}
        (tmp / STATE_FILE).write_text(json.dumps(state))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        for _, old in checkpoints(out_dir)[:-keep]:
            shutil.rmtree(old)
        if write_log:
            log.write(out_dir)
        logger.info("checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


def resume(accelerator, path: Path, args, log: RunLog) -> tuple[int, int]:
    """Load ``path`` into the prepared model/optimizer/scheduler; returns (step, micro-batch position)."""
    state = json.loads((path / STATE_FILE).read_text())
    saved = state["log"]
    for name in _FIXED_ON_RESUME:
        old, new = saved["args"].get(name), getattr(args, name)
        if old != new:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} {new!r} differs from {old!r} of the checkpoint {path}")
    accelerator.load_state(str(path))
    log.steps, log.evals = saved["steps"], saved["evals"]
    log.resumed_at = [*saved.get("resumed_at", []), state["step"]]
    logger.info("resumed from %s at step %d", path, state["step"])
    return state["step"], state["micro_batch"]


def save_final(accelerator, model, tokenizer, out_dir: Path, log: RunLog) -> Path:
    """``final/``: model and tokenizer via ``save_pretrained``; then ``log.json`` and ``loss.png``."""
    final = out_dir / FINAL_DIR
    accelerator.wait_for_everyone()
    state_dict = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(str(final), state_dict=state_dict)
        tokenizer.save_pretrained(str(final))
        summary = {k: log.args[k] for k in ("mode", "preset", "init_from", "block_size")}
        summary |= {"steps": log.steps[-1]["step"] if log.steps else 0, "eval_loss": log.last_eval_loss()}
        (final / "pretrain.json").write_text(json.dumps(summary, indent=1))
        log.write(out_dir)
    accelerator.wait_for_everyone()
    return final
