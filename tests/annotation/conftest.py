"""Shared data for the annotation tests: biographies of a small generated world, raw and annotated.

The world's own annotations are the ground truth; the local chat server answers with them (a
perfect annotator), or with something else where a test wants a bad response.
"""

from __future__ import annotations

import json
import random

import pytest

from lmlm.train.world import WorldConfig, generate_world
from lmlm.train.world.biographies import write_biography


def world_biographies(n: int, seed: int = 1) -> list[dict]:
    world = generate_world(WorldConfig(people=max(n, 10), seed=seed))
    docs = []
    for i in range(n):
        person = world.people[i % len(world.people)]
        annotated, raw, _ = write_biography(person, world.entity_facts, random.Random(i))
        docs.append({"id": f"bio-{i:03d}", "person": person.name, "text": raw, "annotated_text": annotated})
    return docs


@pytest.fixture(scope="session")
def biographies() -> list[dict]:
    return world_biographies(40)


def write_inputs(path, docs: list[dict]) -> None:
    path.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))


def gold_responder(docs: list[dict]):
    """respond(text): the world's annotation of ``text`` (the text itself if unknown)."""
    gold = {d["text"]: d["annotated_text"] for d in docs}
    return lambda text: gold.get(text, text)


# The quality script at its smallest size: trains the annotator the local-backend tests use.
# LoRA here (the default is a full fine-tune): the local-backend tests load the adapter it writes.
SMALLEST = {
    "people": 40,
    "variants": 1,
    "heldout": 0.2,
    "eval_docs": 4,
    "vocab_size": 700,
    "copy_steps": 10,
    "copy_longer_steps": 2,
    "pretrain_epochs": 1.0,
    "finetune": "lora",
    "sft_steps": 6,
    "sft_batch_size": 2,
    "lora_r": 8,
    "batch_size": 4,
    "threads": 1,
}


@pytest.fixture(scope="session")
def quality(tmp_path_factory):
    """(output directory, result) of ``annotation_quality`` at the smallest size."""
    from lmlm.evaluation.annotation_quality import QualityConfig, run
    from tests.paper_data import PAPER_DATA

    out = tmp_path_factory.mktemp("annotation-quality")
    paper = str(PAPER_DATA) if PAPER_DATA.is_dir() else ""
    return out, run(QualityConfig(out=str(out), paper_data=paper, **SMALLEST))
