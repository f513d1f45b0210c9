"""The base model of the annotation-quality experiment: a small Llama that can copy, built here.

An annotator copies its input and inserts calls into it. A small model trained on annotation pairs
or on world text alone does not learn to copy in the minutes a CPU allows: copying needs induction
heads (a head that marks each token with the one before it, and a head in the next layer that
attends from the current token to the place after its earlier occurrence and copies what stands
there), and on natural text they form only after a long plateau, since most tokens are predictable
from the few before them. Measured here: a 2-layer model fine-tuned from random weights for 600
steps still wrote a plausible biography of somebody else, like the 4-layer ``tiny-2m`` before it.

They form in a few hundred steps on a task where copying is the only way to lower the loss
(:func:`copy_warmup`): random token sequences, a separator, the same sequence again, the loss on
the repeat only. Short sequences first, until the copy accuracy jumps (the earlier occurrence is
near, so the attention pattern is found sooner), then longer ones, up to a biography's length.
Tied input and output embeddings make "write the token you attend to" one shared map to learn.

:func:`build_base` makes the tokenizer (byte-level BPE with a prefix space, a chat template),
the model (``BASE_PRESET``, or a preset of :mod:`lmlm.train.presets`), runs the copy warm-up and
optionally pretrains on world text with :func:`lmlm.train.pretrain.pretrain`. torch is imported
when a base is built.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lmlm.train.presets import PRESETS, Preset

if TYPE_CHECKING:
    import torch

    from lmlm.evaluation.annotation_quality import QualityConfig

logger = logging.getLogger(__name__)

# The tiny annotator is trained for one task and one prompt: its template leaves the system message
# out (the instructions would be longer than the biography, doubling every sequence), as a model
# fine-tuned without instructions is asked without them.
CHAT_TEMPLATE = (
    "{% for m in messages if m['role'] != 'system' %}### {{ m['role'] }}\n{{ m['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}### assistant\n{% endif %}"
)
BASE_PRESET = Preset(
    "annotator-2l", "llama", 128, 2, 8, 256, 1024, True, "2 layers, tied embeddings: copies after warm-up"
)
BASE_PRESETS = (BASE_PRESET.name, *PRESETS)
# (shortest, longest sequence, batch size) of the warm-up phases after the first: up to about the
# length of a biography, at a lower learning rate so that the copy circuit found first survives.
_LONGER = ((10, 40, 32), (20, 80, 16), (40, 150, 8))
_FIRST = (6, 20, 64)
_TARGET = 0.9  # copy accuracy that ends the first phase
_LR, _LONGER_LR, _WARMUP = 3e-3, 1e-3, 20
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class CopyWarmup:
    """What :func:`copy_warmup` did: steps, the accuracy on new 100-token sequences, seconds."""

    steps: int
    first_phase_steps: int
    accuracy: float
    seconds: float


@dataclass(frozen=True)
class Base:
    """The base model's directory (model, tokenizer, chat template) and how it was made."""

    path: Path
    parameters: int
    copy: CopyWarmup | None
    pretrain_seconds: float


def build_base(config: QualityConfig, world_dir: Path, out: Path) -> Base:
    """Tokenizer, model, copy warm-up (``config.copy_steps`` > 0), world text (``pretrain_epochs`` > 0).

    The base is written to ``out/base/final``; the warm-up's model to ``out/base/copy`` first when
    world pretraining follows it.
    """
    from lmlm.evaluation.world_sets import read_jsonl
    from lmlm.train.presets import build_model, count_parameters

    rows = read_jsonl(world_dir / "corpus" / "train.jsonl")
    tokenizer = build_tokenizer(
        [f"{row['text']}\n{row['annotated_text']}" for row in rows], out / "tokenizer", config.vocab_size
    )
    model = build_model(get_base_preset(config.preset), tokenizer, seed=config.seed)
    copy = None
    if config.copy_steps:
        copy = copy_warmup(model, tokenizer, config.copy_steps, config.copy_longer_steps, config.seed)
    final = out / "base" / "final"
    if not config.pretrain_epochs:
        model.save_pretrained(final)
        tokenizer.save_pretrained(final)
        return Base(final, count_parameters(model), copy, 0.0)
    start = out / "base" / "copy"
    model.save_pretrained(start)
    tokenizer.save_pretrained(start)
    began = time.perf_counter()
    result = _pretrain_on_world(config, rows, start, out / "base")
    return Base(result.final_dir, result.parameters, copy, time.perf_counter() - began)


def _pretrain_on_world(config: QualityConfig, rows: list[dict], start: Path, out_dir: Path):
    """Standard (all-token) pretraining on world text that asks for copying, from ``start``.

    Two kinds of document per training biography: the raw text, then the same text annotated; and
    a passage of sentences drawn from any biographies, then the same passage again.
    """
    from lmlm.train.corpus import Document
    from lmlm.train.pretrain import PretrainArgs, pretrain

    sentences = [s for row in rows for s in _SENTENCE.split(row["text"]) if s]
    rng = random.Random(config.seed)
    texts = []
    for row in rows:
        passage = " ".join(rng.sample(sentences, min(len(sentences), rng.randint(3, 6))))
        texts += [f"{row['text']}\n\n{row['annotated_text']}", f"{passage}\n\n{passage}"]
    args = PretrainArgs(
        out_dir=str(out_dir),
        init_from=str(start),
        mode="standard",
        epochs=config.pretrain_epochs,
        block_size=512,
        batch_size=8,
        lr=_LONGER_LR,
        eval_fraction=0.02,
        seed=config.seed,
        precision="fp32",
    )
    docs = [Document(str(i), text, "") for i, text in enumerate(texts)]
    return pretrain(args, train_docs=docs, show_progress=True)


def get_base_preset(name: str) -> Preset:
    if name == BASE_PRESET.name:
        return BASE_PRESET
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(BASE_PRESETS)}, got {name!r}")
    return PRESETS[name]


def build_tokenizer(texts: list[str], out_dir: Path, vocab_size: int):
    """A byte-level BPE (prefix space, lookup tokens whole) with :data:`CHAT_TEMPLATE`, saved."""
    from lmlm.train.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(texts, out_dir, vocab_size=vocab_size)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def copy_warmup(model, tokenizer, first_steps: int, longer_steps: int, seed: int) -> CopyWarmup:
    """Train ``model`` to repeat random token sequences; see the module docstring.

    The first phase runs until the copy accuracy of a batch reaches 90% (checked every 10 steps) or
    for ``first_steps``; each longer phase runs ``longer_steps``. Every batch is new random data,
    so the accuracy of a batch is a held-out figure.
    """
    import torch

    special = set(tokenizer.all_special_ids)
    pool = [i for i in range(len(tokenizer)) if i not in special]
    rng = random.Random(seed)
    sep = tokenizer.eos_token_id
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LR, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
    start, step, first = time.perf_counter(), 0, 0
    for phase, (shortest, longest, batch_size) in enumerate((_FIRST, *_LONGER)):
        steps = first_steps if phase == 0 else longer_steps
        for n in range(steps):
            lr = _LR * min(1.0, (step + 1) / _WARMUP) if phase == 0 else _LONGER_LR
            ids, labels = _copy_batch(rng, pool, sep, shortest, longest, batch_size)
            accuracy = _train_step(model, optimizer, lr, ids, labels)
            step += 1
            if phase == 0 and n % 10 == 9 and accuracy >= _TARGET:
                break
        if phase == 0:
            first = step
            logger.info("copy warm-up: accuracy %.3f after %d steps on short sequences", accuracy, step)
    model.eval()
    with torch.no_grad():
        ids, labels = _copy_batch(rng, pool, sep, 100, 100, 16)
        accuracy = _accuracy(model(input_ids=ids).logits, labels)
    seconds = time.perf_counter() - start
    logger.info("copy warm-up: %d steps, %.3f on 100-token sequences, %.0fs", step, accuracy, seconds)
    return CopyWarmup(step, first, accuracy, seconds)


def _copy_batch(rng, pool, sep: int, shortest: int, longest: int, batch_size: int):
    """Rows ``a SEP a`` (a: random tokens), padded with SEP; labels only on the repeat."""
    import torch

    rows = []
    for _ in range(batch_size):
        seq = [rng.choice(pool) for _ in range(rng.randint(shortest, longest))]
        rows.append(seq + [sep] + seq)
    ids = torch.full((batch_size, max(map(len, rows))), sep)
    labels = torch.full_like(ids, -100)
    for i, row in enumerate(rows):
        half = len(row) // 2
        ids[i, : len(row)] = torch.tensor(row)
        labels[i, half + 1 : len(row)] = torch.tensor(row[half + 1 :])
    return ids, labels


def _train_step(model, optimizer, lr: float, ids: torch.Tensor, labels: torch.Tensor) -> float:
    import torch

    for group in optimizer.param_groups:
        group["lr"] = lr
    out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return _accuracy(out.logits.detach(), labels)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of the labelled next tokens predicted (logits at t predict labels at t + 1)."""
    target = labels[:, 1:]
    mask = target != -100
    return (logits[:, :-1].argmax(-1)[mask] == target[mask]).float().mean().item()
