"""Retain references: models trained exactly as the originals were, without the forget people.

TOFU's forget quality compares an unlearned model with a model that never saw the forget set. For
each split and each kind of model (LMLM, Standard) this trains one from scratch with the original
run's recipe (its ``log.json``: preset, epochs, learning rate, batch and block size, seed), on the
corpus minus every biography of a forget person. References are kept under a cache directory,
keyed by the recipe and the forget list, and reused by later runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import fields
from pathlib import Path

from lmlm.train.corpus import load_documents

from ..world_sets import WorldSets

logger = logging.getLogger(__name__)


def original_recipe(run_dir: Path) -> dict:
    """The ``PretrainArgs`` of the original model's run (``runs/MODE/log.json``)."""
    path = run_dir / "log.json"
    if not path.is_file():
        raise ValueError(f"{path}: the original run's log is missing, so its recipe is unknown")
    return dict(json.loads(path.read_text(encoding="utf-8"))["args"])


def reference_model(
    world: WorldSets,
    forget: tuple[str, ...],
    mode: str,
    recipe: dict,
    cache_dir: Path,
    *,
    max_steps: int = 0,
    show_progress: bool = False,
) -> Path:
    """The directory of the retain reference for ``forget`` (trained now unless cached)."""
    from lmlm.train.pretrain import pretrain
    from lmlm.train.pretrain_args import PretrainArgs

    known = {f.name for f in fields(PretrainArgs)}
    settings = {k: v for k, v in recipe.items() if k in known and k not in ("out_dir", "resume", "data")}
    settings.update(mode=mode, **({"max_steps": max_steps} if max_steps else {}))
    key = hashlib.sha256(json.dumps([settings, sorted(forget)], sort_keys=True).encode()).hexdigest()[:16]
    target = cache_dir / f"{mode}-{key}"
    if (target / "config.json").is_file():
        logger.info("retain reference %s from the cache", target)
        return target
    chosen = set(forget)
    excluded = {doc_id for doc_id, person in world.documents_of("train") if person in chosen}
    docs = [d for d in load_documents(world.root) if d.id not in excluded]
    run = cache_dir / f".run-{mode}-{key}"
    shutil.rmtree(run, ignore_errors=True)
    result = pretrain(
        PretrainArgs(out_dir=str(run), **settings), train_docs=docs, show_progress=show_progress
    )
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(result.final_dir, target)
    shutil.rmtree(run, ignore_errors=True)
    return target
