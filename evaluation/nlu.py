"""Zero-shot multiple-choice NLU of a Hugging Face causal LM, from local files, as the paper ran it.

The paper scored its models with LightEval's zero-shot log-likelihood tasks. LightEval 0.13 does
not install under this project's pins (it downgrades fsspec and python-dateutil, the latter
because botocore requires < 3, and pulls in ~80 packages), and its tasks read the Hugging Face
Hub. This module implements the same scoring, offline:

* each example becomes a context and ``k`` continuations, in the prompt formats of LightEval's
  ``*_harness`` tasks (those of the EleutherAI harness): see :data:`TASKS`;
* each continuation is scored by its log-likelihood after the context (one forward each);
* ``acc``: the highest summed log-likelihood picks; ``acc_norm``: the highest log-likelihood per
  character of the continuation (LightEval's ``LogProbCharNorm``).

What differs from LightEval: no few-shot sampling (zero-shot only), no batching across tasks,
``acc_norm`` as above (LightEval also offers token-normalised and PMI variants), and
winogrande scored as LightEval's prompt function writes it (the continuation after the option),
not the harness's partial-context scoring. Data are the datasets' own fields, one JSON object per
line (``.jsonl``), a JSON list (``.json``) or Parquet (``.parquet``), as downloaded from the Hub.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lmlm.kg.errors import InputFormatError

from .entry_point import write_json


@dataclass(frozen=True)
class Example:
    context: str
    choices: tuple[str, ...]
    gold: int


def _hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def _hellaswag(r: dict) -> Example:
    ctx = f"{r['ctx_a']} {r['ctx_b'].capitalize()} "
    return Example(
        _hellaswag_clean(r["activity_label"] + ": " + ctx),
        tuple(" " + _hellaswag_clean(e) for e in r["endings"]),
        int(r["label"]),
    )


def _winogrande(r: dict) -> Example:
    before, after = r["sentence"].split("_", 1)
    after = after.strip()
    return Example(
        before.rstrip(), (f" {r['option1']} {after}", f" {r['option2']} {after}"), int(r["answer"]) - 1
    )


def _piqa(r: dict) -> Example:
    return Example(f"Question: {r['goal']}\nAnswer:", (f" {r['sol1']}", f" {r['sol2']}"), int(r["label"]))


def _siqa(r: dict) -> Example:
    choices = (f" {r['answerA']}", f" {r['answerB']}", f" {r['answerC']}")
    return Example(f"Q: {r['context']} {r['question']}\nA:", choices, int(r["label"]) - 1)


def _keyed(question: str, r: dict) -> Example:
    labels, texts = list(r["choices"]["label"]), list(r["choices"]["text"])
    return Example(question, tuple(f" {t}" for t in texts), labels.index(r["answerKey"].strip()))


TASKS: dict[str, Callable[[dict], Example]] = {
    "hellaswag": _hellaswag,
    "winogrande": _winogrande,
    "piqa": _piqa,
    "siqa": _siqa,
    "openbookqa": lambda r: _keyed(r["question_stem"], r),
    "arc_easy": lambda r: _keyed(f"Question: {r['question']}\nAnswer:", r),
    "arc_challenge": lambda r: _keyed(f"Question: {r['question']}\nAnswer:", r),
    "commonsense_qa": lambda r: _keyed(f"Question: {r['question']}\nAnswer:", r),
}


def read_records(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(str(path), "file", "not found")
    if path.suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path).to_dict(orient="records")
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise InputFormatError(str(path), "top level", "expected a list of examples")
        return data
    from .world_sets import read_jsonl

    return read_jsonl(path)


def load_task(task: str, path: str | Path) -> list[Example]:
    """The examples of ``path`` in ``task``'s format; a record missing a field names its number."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    examples = []
    for number, record in enumerate(read_records(path), start=1):
        try:
            example = TASKS[task](_plain(record))
        except (KeyError, ValueError, TypeError, AttributeError) as e:
            raise InputFormatError(
                str(path), f"record {number}", f"not a {task} example: {type(e).__name__} {e}"
            ) from e
        if not 0 <= example.gold < len(example.choices):
            raise InputFormatError(
                str(path), f"record {number}", f"gold index {example.gold} outside the choices"
            )
        examples.append(example)
    return examples


def _plain(record: dict) -> dict:
    """Parquet gives numpy arrays where JSON gives lists."""
    return {
        k: (_plain(v) if isinstance(v, dict) else v.tolist() if isinstance(v, np.ndarray) else v)
        for k, v in record.items()
    }


def score_examples(model, tokenizer, examples: list[Example], *, batch_size: int = 16) -> dict:
    """``acc`` and ``acc_norm`` (see the module docstring) and the number of examples."""
    from .loglik import continuation_nll

    contexts, continuations, owners = [], [], []
    for k, ex in enumerate(examples):
        ctx = tokenizer.encode(ex.context, add_special_tokens=False)
        if tokenizer.bos_token_id is not None and tokenizer.bos_token_id != tokenizer.eos_token_id:
            ctx = [tokenizer.bos_token_id, *ctx]
        for choice in ex.choices:
            contexts.append(ctx or [tokenizer.eos_token_id])
            continuations.append(tokenizer.encode(choice, add_special_tokens=False))
            owners.append(k)
    nll = continuation_nll(model, contexts, continuations, batch_size=batch_size)
    loglik = np.array([-float(n.sum()) for n in nll])
    acc = acc_norm = 0
    pos = 0
    for ex in examples:
        ll = loglik[pos : pos + len(ex.choices)]
        chars = np.array([len(c) for c in ex.choices], dtype=float)
        acc += int(np.argmax(ll)) == ex.gold
        acc_norm += int(np.argmax(ll / chars)) == ex.gold
        pos += len(ex.choices)
    n = len(examples)
    return {
        "examples": n,
        "acc": round(acc / n, 4) if n else None,
        "acc_norm": round(acc_norm / n, 4) if n else None,
    }


@dataclass(frozen=True)
class NluArgs:
    """``lmlm eval nlu``: a model and local task files."""

    model: str = field(metadata={"help": "Hugging Face model directory (or hub name, if cached)"})
    tasks: tuple[str, ...] = field(metadata={"help": f"TASK=FILE pairs; tasks: {', '.join(TASKS)}"})
    limit: int = field(default=0, metadata={"help": "examples per task (0: all)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda, ..."})
    batch_size: int = field(default=16, metadata={"help": "sequences per forward pass"})

    def __post_init__(self) -> None:
        for pair in self.tasks:
            name, sep, path = pair.partition("=")
            if not sep or name not in TASKS or not path:
                raise ValueError(f"--tasks wants TASK=FILE with TASK one of {', '.join(TASKS)}; got {pair!r}")
        if self.limit < 0 or self.batch_size < 1:
            raise ValueError(
                f"--limit must be >= 0 and --batch-size >= 1, got {self.limit}, {self.batch_size}"
            )


def run_nlu(args: NluArgs, out_dir: str | Path, *, show_progress: bool = True) -> dict:
    from .systems import load_causal_lm

    model, tokenizer = load_causal_lm(args.model, args.device)
    results = {}
    for pair in tqdm(args.tasks, desc="nlu", disable=not show_progress):
        name, _, path = pair.partition("=")
        examples = load_task(name, path)
        examples = examples[: args.limit] if args.limit else examples
        results[name] = score_examples(model, tokenizer, examples, batch_size=args.batch_size) | {
            "file": path
        }
    report = {"settings": asdict(args), "tasks": results}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "nlu.json", report)
    return report
