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
