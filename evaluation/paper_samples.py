"""LMLM against Standard on the paper's released samples: same data, same preset, same steps.

    python -m lmlm.evaluation.paper_samples --data-dir shared/data/lmlm-paper --out results/paper-samples \
        --preset tiny-8m --epochs 3

Training data: ``squad-train1k`` + ``dwiki-eval1k`` minus every document that is also in an eval
set (matched by id or by whitespace-normalised raw text; 71 of ``dwiki-eval100`` are in
``dwiki-eval1k``). One tokenizer is trained on it and shared. The LMLM trains on the annotated
documents with the values masked (:mod:`lmlm.train.masking`), the Standard model on the same
documents with the lookups removed (see :func:`as_stripped`); both for the same number of
optimizer steps (``--max-steps``, or ``--epochs`` over the LMLM's blocks, the larger stream) from
the same seed.

Evaluation on ``dwiki-eval100`` and ``squad-eval100``: the loss on the TEXT tokens only.

* Standard: each eval document with its lookups removed (exactly the text it was trained on),
  every token scored.
* LMLM: the annotated document, so the model reads its lookups and the values the knowledge
  graph returns (oracle lookups: the point of the design is that those facts come from outside);
  only the tokens of the text are scored, not those of a lookup: its four special tokens, the
  entity and relation of the query, and the value (:func:`text_mask`).

Both score the same words, plus the end-of-text token. Token counts still differ a little: the
space before a lookup becomes a token of its own in the LMLM's text, and the text between two
lookups is tokenised apart. So besides the mean loss per text token, the total loss is divided by
the characters of the raw text (the same number for both models): ``nats_per_char`` is the fair
figure. Long documents are scored with a sliding window of ``--block-size`` tokens (stride half
of it); a document's first token is never scored.

Writes ``paper_samples.json`` and ``paper_samples.png`` (bar charts and both runs' loss curves)
under ``--out``, next to the runs (``lmlm/``, ``standard/``) and the tokenizer.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from lmlm.kg.syntax import DB_END, DB_START, strip_lookups
from lmlm.train.corpus import Document, lmlm_text, load_documents
from lmlm.train.masking import IGNORE_INDEX, encode_documents, pack_arrays
from lmlm.train.pretrain import PretrainArgs, PretrainResult, pretrain, token_loss_sum
from lmlm.train.tokenizer import lookup_token_ids, train_tokenizer

from .entry_point import parse_script_args, write_json
from .loglik import windows

logger = logging.getLogger(__name__)

TRAIN_FILES = {"squad-train1k": "squad-train1k_*.json", "dwiki-eval1k": "dwiki-eval1k_*.json"}
EVAL_FILES = {"dwiki-eval100": "dwiki-eval100_*.json", "squad-eval100": "squad-eval100_*.json"}
MODES = ("lmlm", "standard")


@dataclass(frozen=True)
class PaperSamplesArgs:
    data_dir: str = field(
        metadata={
            "help": "directory of the paper's released samples: one file each of "
            + ", ".join(list(TRAIN_FILES.values()) + list(EVAL_FILES.values()))
        }
    )
    out: str = field(metadata={"help": "output directory (runs, tokenizer, JSON and PNG)"})
    preset: str = field(default="tiny-2m", metadata={"help": "model preset (lmlm train presets)"})
    epochs: float = field(default=3.0, metadata={"help": "epochs over the LMLM's blocks"})
    max_steps: int = field(default=0, metadata={"help": "optimizer steps (overrides --epochs when > 0)"})
    batch_size: int = field(default=16, metadata={"help": "sequences per optimizer step"})
    block_size: int = field(default=256, metadata={"help": "tokens per sequence, and the eval window"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    vocab_size: int = field(default=8192, metadata={"help": "BPE vocabulary of the shared tokenizer"})
    eval_every: int = field(default=50, metadata={"help": "steps between eval passes (curves)"})
    precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto", metadata={"help": "training precision"}
    )
    seed: int = field(default=0, metadata={"help": "random seed of both runs"})
    progress: bool = field(default=True, metadata={"help": "progress bars"})

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.epochs <= 0 or self.eval_every < 1:
            raise ValueError(
                f"--max-steps must be >= 0, --epochs > 0, --eval-every >= 1; got {self.max_steps}, "
                f"{self.epochs}, {self.eval_every}"
            )
        if not Path(self.data_dir).is_dir():
            raise ValueError(f"--data-dir {self.data_dir}: no such directory")
        for pattern in [*TRAIN_FILES.values(), *EVAL_FILES.values()]:
            find_file(Path(self.data_dir), pattern)


@dataclass(frozen=True)
class PaperSplit:
    """Training documents (eval documents removed) and the eval sets, with the counts."""

    train: list[Document]
    evals: dict[str, list[Document]]
    train_counts: dict[str, int]  # file -> documents read
    removed: dict[str, int]  # eval set -> training documents removed for overlapping it


@dataclass(frozen=True)
class TextLoss:
    """Loss on the text tokens of an eval set."""

    loss: float  # mean per text token (nats)
    text_tokens: int
    chars: int  # characters of the raw text
    nats_per_char: float

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss)


# ---------------------------------------------------------------------------------------------
# Data


def find_file(data_dir: Path, pattern: str) -> Path:
    matches = sorted(data_dir.glob(pattern))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise ValueError(f"--data-dir {data_dir}: expected one file matching {pattern!r}, found {found}")
    return matches[0]


def _text_key(doc: Document) -> str:
    return " ".join(doc.text.split())


def build_split(data_dir: Path) -> PaperSplit:
    """Read the four files; drop from training every document that is also in an eval set."""
    evals = {name: load_documents(find_file(data_dir, pat), lenient=True) for name, pat in EVAL_FILES.items()}
    train: list[Document] = []
    counts: dict[str, int] = {}
    for name, pattern in TRAIN_FILES.items():
        docs = load_documents(find_file(data_dir, pattern), lenient=True)
        counts[name] = len(docs)
        train.extend(docs)
    removed = {}
    for name, docs in evals.items():
        ids, texts = {d.id for d in docs}, {_text_key(d) for d in docs}
        kept = [d for d in train if d.id not in ids and _text_key(d) not in texts]
        removed[name] = len(train) - len(kept)
        train = kept
    logger.info("training on %d documents; removed for overlapping the eval sets: %s", len(train), removed)
    return PaperSplit(train, evals, counts, removed)


# ---------------------------------------------------------------------------------------------
# Training


def planned_steps(docs: list[Document], tokenizer, block_size: int, batch_size: int, epochs: float) -> int:
    """Optimizer steps for ``epochs`` over the LMLM's packed blocks (one process, no grad-accum)."""
    blocks = pack_arrays(
        encode_documents([lmlm_text(d) for d in docs], tokenizer, "lmlm"), block_size
    ).n_blocks
    return max(1, math.ceil(epochs * math.ceil(blocks / batch_size)))


def as_stripped(docs: list[Document]) -> list[Document]:
    """Standard's documents: the annotated text's words (lookups stripped), not the files' ``text``.

    The ``text`` fields hold a little more (dwiki titles, words the annotator dropped); this way
    both models train on the same words, and Standard is evaluated on the kind of text it saw.
    """
    return [replace(d, text=strip_lookups(d.annotated)) for d in docs]


def train_both(args: PaperSamplesArgs, split: PaperSplit, tokenizer_dir: Path, steps: int):
    """The LMLM and the Standard run: same preset, seed, steps and eval documents (for the curves)."""
    eval_docs = [d for docs in split.evals.values() for d in docs]
    results: dict[str, PretrainResult] = {}
    for mode in MODES:
        run = PretrainArgs(
            out_dir=str(Path(args.out) / mode),
            tokenizer=str(tokenizer_dir),
            preset=args.preset,
            mode=mode,
            max_steps=steps,
            batch_size=args.batch_size,
            grad_accum=1,
            block_size=args.block_size,
            lr=args.lr,
            eval_every=max(1, min(args.eval_every, steps)),
            log_every=max(1, min(10, steps)),
            seed=args.seed,
            precision=args.precision,
        )
        docs = (
            (split.train, eval_docs) if mode == "lmlm" else (as_stripped(split.train), as_stripped(eval_docs))
        )
        results[mode] = pretrain(run, train_docs=docs[0], eval_docs=docs[1], show_progress=args.progress)
    return results


# ---------------------------------------------------------------------------------------------
# Text-token evaluation


def text_mask(input_ids, trained, lookup_ids: dict[str, int]) -> np.ndarray:
    """True on the tokens of the text: trained, and not inside a lookup (query, value, the tokens)."""
    ids = np.asarray(input_ids)
    opens = (ids == lookup_ids[DB_START]).astype(np.int64)
    closes = (ids == lookup_ids[DB_END]).astype(np.int64)
    depth = np.cumsum(opens) - np.cumsum(closes) + closes  # >0 from an opening token to its closing one
    return np.asarray(trained, dtype=bool) & (depth <= 0)


@torch.no_grad()
def text_loss(model, tokenizer, docs: list[Document], mode: str, window: int) -> TextLoss:
    """Mean loss on the text tokens of ``docs`` (see the module docstring), sliding window per document."""
    device = next(model.parameters()).device
    encoded = encode_documents([lmlm_text(d) for d in docs], tokenizer, mode)
    lookup_ids = lookup_token_ids(tokenizer)
    total, count = 0.0, 0
    for enc in encoded:
        mask = (
            text_mask(enc.input_ids, enc.trained, lookup_ids) if mode == "lmlm" else np.asarray(enc.trained)
        )
        ids = torch.tensor(enc.input_ids)
        labels = ids.masked_fill(~torch.from_numpy(mask), IGNORE_INDEX)
        for start, end, first in windows(len(ids), window):
            y = labels[start:end].clone()
            y[: first - start] = IGNORE_INDEX  # scored by an earlier window
            x = ids[start:end]
            total += float(token_loss_sum(model, x[None].to(device), y[None].to(device)))
            count += int((y[1:] != IGNORE_INDEX).sum())
    chars = sum(len(strip_lookups(d.annotated)) for d in docs) + len(docs)  # + one end-of-text each
    return TextLoss(total / max(1, count), count, chars, total / max(1, chars))


def evaluate_runs(
    args: PaperSamplesArgs, split: PaperSplit, results: dict[str, PretrainResult], tokenizer
) -> dict:
    """``{eval set: {mode: TextLoss as a dict}}``."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    table: dict[str, dict[str, dict]] = {name: {} for name in split.evals}
    for mode, result in results.items():
        model = AutoModelForCausalLM.from_pretrained(result.final_dir, dtype=torch.float32).to(device).eval()
        for name, docs in split.evals.items():
            loss = text_loss(model, tokenizer, docs, mode, args.block_size)
            table[name][mode] = asdict(loss) | {"perplexity": loss.perplexity}
    return table


# ---------------------------------------------------------------------------------------------
# Report


def plot_report(report: dict, path: Path) -> Path:
    """Bars (text loss per token and per character, per eval set) and both runs' loss curves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.2))
    FigureCanvasAgg(fig)
    names = list(report["eval"])
    x = np.arange(len(names))
    for k, (metric, label) in enumerate(
        [("loss", "loss per text token"), ("nats_per_char", "nats per character")]
    ):
        ax = fig.add_subplot(1, 3, k + 1)
        for j, mode in enumerate(MODES):
            values = [report["eval"][n][mode][metric] for n in names]
            bars = ax.bar(x + (j - 0.5) * 0.38, values, 0.38, label=mode)
            ax.bar_label(bars, fmt="%.3f", fontsize=8)
        ax.set_xticks(x, names)
        ax.set_ylabel(label)
        ax.set_title(f"text tokens only: {label}")
        ax.legend()
    ax = fig.add_subplot(1, 3, 3)
    for mode in MODES:
        log = json.loads(Path(report["runs"][mode]["log_path"]).read_text())
        (line,) = ax.plot(
            [s["step"] for s in log["steps"]], [s["loss"] for s in log["steps"]], lw=1, label=f"{mode} train"
        )
        evals = [e for e in log["evals"] if e["loss"] is not None]
        ax.plot(
            [e["step"] for e in evals],
            [e["loss"] for e in evals],
            "o--",
            color=line.get_color(),
            label=f"{mode} eval",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss (trained tokens)")
    ax.set_title("training curves")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def run(args: PaperSamplesArgs) -> dict:
    out = Path(args.out)
    split = build_split(Path(args.data_dir))
    tokenizer = train_tokenizer((lmlm_text(d) for d in split.train), out / "tokenizer", args.vocab_size)
    steps = args.max_steps or planned_steps(
        split.train, tokenizer, args.block_size, args.batch_size, args.epochs
    )
    results = train_both(args, split, out / "tokenizer", steps)
    report = {
        "settings": asdict(args) | {"steps": steps},
        "data": {
            "train_files": split.train_counts,
            "removed_for_overlap": split.removed,
            "train_documents": len(split.train),
            "eval_documents": {name: len(docs) for name, docs in split.evals.items()},
        },
        "runs": {mode: _run_summary(r) for mode, r in results.items()},
        "eval": evaluate_runs(args, split, results, tokenizer),
    }
    write_json(out / "paper_samples.json", report)
    plot_report(report, out / "paper_samples.png")
    return report


def _run_summary(result: PretrainResult) -> dict:
    keep = ("steps", "train_loss", "eval_loss", "parameters", "tokens_per_s")
    paths = {
        "final_dir": str(result.final_dir),
        "log_path": str(result.log_path),
        "plot_path": str(result.plot_path),
    }
    return {k: getattr(result, k) for k in keep} | paths


def print_report(report: dict) -> None:
    data = report["data"]
    print(
        f"training documents: {data['train_documents']} (removed for overlap: {data['removed_for_overlap']})"
    )
    print(f"steps: {report['settings']['steps']} each")
    print(f"{'eval set':<16}{'model':<10}{'text loss':>10}{'ppl':>9}{'nats/char':>11}{'tokens':>9}")
    for name, by_mode in report["eval"].items():
        for mode, r in by_mode.items():
            figures = (
                f"{r['loss']:>10.4f}{r['perplexity']:>9.2f}{r['nats_per_char']:>11.4f}{r['text_tokens']:>9,}"
            )
            print(f"{name:<16}{mode:<10}{figures}")


def main(argv=None) -> int:
    args = parse_script_args(PaperSamplesArgs, argv, __doc__)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = run(args)
    print_report(report)
    print(f"\nwrote {out / 'paper_samples.json'} and {out / 'paper_samples.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
