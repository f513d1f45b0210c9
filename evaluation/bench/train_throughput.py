"""Training throughput with LMLM labels (lookup values masked) against a plain causal LM.

    python -m lmlm.evaluation.bench.train_throughput --out results/bench/train_throughput.json

Both sides of every figure are measured in the same run, on the same model and data:

* ``encode``: :func:`lmlm.train.masking.encode_documents` + ``pack_arrays`` of the same documents,
  ``lmlm`` mode (tokens + value mask) against ``standard`` (lookups stripped, no mask); tokens/s;
* ``step``: one optimizer step (:func:`lmlm.train.pretrain.token_loss_sum`, backward, AdamW) on the
  same packed LMLM blocks, with the masked labels against labels = input ids (every real token
  trained). Only the labels differ, so this is the cost of the mask itself. The two take turns in
  rounds, so load from other processes hits both alike;
* ``pretrain``: the whole :func:`lmlm.train.pretrain.pretrain` loop, ``--mode lmlm`` against
  ``--mode standard`` on the same documents, preset and steps (standard mode strips the lookups,
  so the blocks hold other tokens, but as many); the median of the tokens/s each run logs per step.

The target is a ratio (masked / plain) of at least 0.9. Data: ``--data`` (paper JSON, JSONL or a
world directory) or, by default, a small generated world. Prints a table and writes JSON.
"""

from __future__ import annotations

import json
import logging
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lmlm.train.corpus import Document, lmlm_text, load_documents
from lmlm.train.masking import IGNORE_INDEX, encode_documents, pack_arrays
from lmlm.train.presets import build_model, count_parameters
from lmlm.train.pretrain import PretrainArgs, pretrain, token_loss_sum
from lmlm.train.tokenizer import train_tokenizer
from lmlm.train.world.data import WorldDataConfig, write_world

from ..entry_point import parse_script_args, write_json

logger = logging.getLogger(__name__)

TARGET_RATIO = 0.9


@dataclass(frozen=True)
class ThroughputArgs:
    data: str | None = field(
        default=None,
        metadata={
            "help": "documents: paper JSON, JSONL or a world directory (default: a generated world of "
            "120 people)"
        },
    )
    max_docs: int = field(default=400, metadata={"help": "use at most N documents (0: all)"})
    out: str = field(default="results/bench/train_throughput.json", metadata={"help": "JSON output file"})
    preset: str = field(default="tiny-2m", metadata={"help": "model preset (lmlm.train.presets)"})
    vocab_size: int = field(default=2048, metadata={"help": "BPE vocabulary of the tokenizer trained here"})
    block_size: int = field(default=256, metadata={"help": "tokens per sequence"})
    batch_size: int = field(default=8, metadata={"help": "sequences per step"})
    steps: int = field(default=16, metadata={"help": "optimizer steps per side (step) and per run"})
    warmup_steps: int = field(default=2, metadata={"help": "step: untimed steps per side first"})
    rounds: int = field(default=3, metadata={"help": "encode: best of N"})
    pretrain_runs: int = field(default=2, metadata={"help": "pretrain: runs per mode (best counts)"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    skip_pretrain: bool = field(default=False, metadata={"help": "leave out the whole-loop comparison"})

    def __post_init__(self) -> None:
        for name in ("block_size", "batch_size", "steps", "rounds", "pretrain_runs"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.steps <= self.warmup_steps:
            raise ValueError(f"--steps ({self.steps}) must exceed --warmup-steps ({self.warmup_steps})")
        if self.max_docs < 0:
            raise ValueError(f"--max-docs must be >= 0, got {self.max_docs}")
        if self.data is not None and not Path(self.data).exists():
            raise ValueError(f"--data {self.data}: no such file or directory")


@dataclass(frozen=True)
class Row:
    """One comparison: tokens/s with LMLM masking and without, and their ratio."""

    phase: str
    masked_tokens_per_s: float
    plain_tokens_per_s: float
    detail: str

    @property
    def ratio(self) -> float:
        return self.masked_tokens_per_s / max(self.plain_tokens_per_s, 1e-9)

    def to_dict(self) -> dict:
        return asdict(self) | {"ratio": round(self.ratio, 3), "meets_target": self.ratio >= TARGET_RATIO}


def load_or_generate(data: str | None, work: Path, max_docs: int) -> list[Document]:
    """``--data``'s documents, or those of a small generated world written under ``work``."""
    if data is None:
        data = str(work / "world")
        write_world(data, WorldDataConfig(people=120, variants=2, seed=0))
    docs = load_documents(data, lenient=True)
    return docs[:max_docs] if max_docs else docs


def bench_encode(texts: list[str], tokenizer, block_size: int, rounds: int) -> Row:
    """Tokenize + mask + pack: lmlm mode against standard mode, best of ``rounds`` each."""
    best = {"lmlm": float("inf"), "standard": float("inf")}
    tokens = {}
    for _ in range(rounds):
        for mode in best:
            t0 = time.perf_counter()
            packed = pack_arrays(encode_documents(texts, tokenizer, mode), block_size)
            best[mode] = min(best[mode], time.perf_counter() - t0)
            tokens[mode] = int(packed.input_ids.size)
    detail = f"{len(texts)} docs; {tokens['lmlm']:,} vs {tokens['standard']:,} tokens"
    return Row("encode", tokens["lmlm"] / best["lmlm"], tokens["standard"] / best["standard"], detail)


def bench_step(args: ThroughputArgs, texts: list[str], tokenizer, device: torch.device) -> Row:
    """Optimizer steps on the same blocks with masked labels and with plain labels.

    The two alternate step by step (ABBA order); each side's rate is its median step time, so a
    burst of load from another process does not decide the ratio.
    """
    encoded = encode_documents(texts, tokenizer, "lmlm")
    packed = pack_arrays(encoded, args.block_size, tokenizer.pad_token_id or 0)
    n_real = sum(len(doc.input_ids) for doc in encoded)
    ids = torch.from_numpy(packed.input_ids.astype(np.int64))
    real = torch.arange(ids.numel()).reshape(ids.shape) < n_real  # the padded tail of the last block is not
    labels = {
        "masked": ids.masked_fill(~torch.from_numpy(packed.trained), IGNORE_INDEX),
        "plain": ids.masked_fill(~real, IGNORE_INDEX),
    }
    model = build_model(args.preset, tokenizer, seed=args.seed).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rows = np.random.default_rng(args.seed).integers(0, ids.shape[0], size=(args.steps, args.batch_size))
    times: dict[str, list[float]] = {"masked": [], "plain": []}
    for i, batch in enumerate(rows):
        order = ("masked", "plain") if i % 2 == 0 else ("plain", "masked")
        for variant in order:
            seconds = _timed_step(model, optimizer, ids[batch], labels[variant][batch], device)
            if i >= args.warmup_steps:
                times[variant].append(seconds)
    tokens = args.batch_size * args.block_size
    share = float(packed.trained.mean())
    detail = (
        f"{count_parameters(model) / 1e6:.2f}M params, {device.type}, median of {len(times['plain'])} steps; "
        f"masked trains {share:.0%} of tokens"
    )
    return Row(
        "step", tokens / float(np.median(times["masked"])), tokens / float(np.median(times["plain"])), detail
    )


def _timed_step(model, optimizer, input_ids, labels, device) -> float:
    """One forward/backward/AdamW step, loss per trained token as in pretraining; seconds."""
    input_ids, labels = input_ids.to(device), labels.to(device)
    _sync(device)
    t0 = time.perf_counter()
    loss = token_loss_sum(model, input_ids, labels) / max(1, int((labels[:, 1:] != IGNORE_INDEX).sum()))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    _sync(device)
    return time.perf_counter() - t0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_pretrain(args: ThroughputArgs, docs: list[Document], tokenizer_dir: Path, work: Path) -> Row:
    """The full pretraining loop, lmlm mode against standard mode, runs in ABBA order.

    Each run logs every step; its rate is the median of its steps' tokens/s (the first
    ``--warmup-steps`` left out), and the best run of each mode counts.
    """
    speed: dict[str, list[float]] = {"lmlm": [], "standard": []}
    order = [("lmlm", "standard") if r % 2 == 0 else ("standard", "lmlm") for r in range(args.pretrain_runs)]
    for r, modes in enumerate(order):
        for mode in modes:
            run = PretrainArgs(
                out_dir=str(work / f"pretrain-{mode}-{r}"),
                tokenizer=str(tokenizer_dir),
                preset=args.preset,
                mode=mode,
                max_steps=args.steps,
                batch_size=args.batch_size,
                block_size=args.block_size,
                log_every=1,
                seed=args.seed,
            )
            result = pretrain(run, train_docs=docs, eval_docs=[], show_progress=False)
            steps = json.loads(result.log_path.read_text())["steps"][args.warmup_steps :]
            speed[mode].append(float(np.median([s["tokens_per_s"] for s in steps])))
    detail = f"{args.steps} steps a run, median step, best of {args.pretrain_runs} runs each"
    return Row("pretrain", max(speed["lmlm"]), max(speed["standard"]), detail)


def run(args: ThroughputArgs) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with tempfile.TemporaryDirectory(prefix="lmlm-throughput-") as tmp:
        work = Path(tmp)
        docs = load_or_generate(args.data, work, args.max_docs)
        texts = [lmlm_text(doc) for doc in docs]
        tokenizer = train_tokenizer(texts, work / "tokenizer", vocab_size=args.vocab_size)
        rows = [
            bench_encode(texts, tokenizer, args.block_size, args.rounds),
            bench_step(args, texts, tokenizer, device),
        ]
        if not args.skip_pretrain:
            rows.append(bench_pretrain(args, docs, work / "tokenizer", work))
    return {
        "benchmark": "train_throughput",
        "target_ratio": TARGET_RATIO,
        "settings": {k: v for k, v in asdict(args).items() if k != "out"} | {"documents": len(docs)},
        "environment": {
            "device": str(device),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
        "rows": [row.to_dict() for row in rows],
    }


def print_table(result: dict) -> None:
    print(f"{'phase':<10}{'masked tok/s':>14}{'plain tok/s':>14}{'ratio':>8}  detail")
    for r in result["rows"]:
        flag = "" if r["meets_target"] else f"  (below {TARGET_RATIO}x)"
        print(
            f"{r['phase']:<10}{r['masked_tokens_per_s']:>14,.0f}{r['plain_tokens_per_s']:>14,.0f}"
            f"{r['ratio']:>7.2f}x  {r['detail']}{flag}"
        )


def main(argv=None) -> int:
    args = parse_script_args(ThroughputArgs, argv, __doc__)
    logging.basicConfig(level=logging.WARNING)
    result = run(args)
    print_table(result)
    print(f"\nwrote {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
