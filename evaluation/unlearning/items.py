"""The questions of the unlearning experiment: facts as cloze prompts with right and wrong answers.

A :class:`TruthItem` is a fact (entity, relation, value) with the prompt after which the corpus
writes it, the answer as written there (``an engineer``) and ``k`` perturbed answers: other
values of the same relation in the world, drawn with a seed per fact (fewer where the world has
fewer: a small world has only a few countries).

How an item is scored (the truth ratio's ``P(x | q)``):

* Standard: the context is the end-of-text token and the prompt; the answer follows.
* LMLM: where its corpus has a lookup, the model reads one: the context is the prompt, then the
  lookup query for the fact (``<|db_entity|> entity<|db_relationship|> relation<|db_return|>``,
  teacher-forced with the gold entity and relation, as the corpus writes it), then the value the
  **store** answers to that query now, through the resolver (exact, then fuzzy; on a miss
  ``miss_value``), and ``<|db_end|>``; the answer follows. Only the answer's tokens are scored.
  So once the fact is deleted, the model reads ``unknown`` (or whatever the fuzzy path returns,
  which the experiment reports), and the truth ratio measures what its weights still prefer.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from lmlm.kg.syntax import format_pretraining_lookup
from lmlm.train.world.biographies import written_value

from ..completion import spread
from ..world_sets import WorldSets

# Prompts for the facts of places and organisations, as the biographies' asides write them.
WORLD_PROMPTS = {
    "Founded": "The {E}, founded in",
    "Location": "The {E}, based in",
    "Country": "{E}, a town in",
}


@dataclass(frozen=True)
class TruthItem:
    entity: str
    relation: str
    value: str
    prompt: str
    answer: str
    perturbed: tuple[str, ...]

    def lmlm_context(self, store_value: str) -> str:
        return f"{self.prompt} {format_pretraining_lookup(self.entity, self.relation, store_value)}"


def _pools(world: WorldSets) -> dict[str, list[str]]:
    pools: dict[str, set[str]] = defaultdict(set)
    for t in world.world.triples:
        pools[t.relation].add(t.value)
    return {r: sorted(v) for r, v in pools.items()}


def make_items(
    world: WorldSets, facts: Sequence[tuple[str, str, str, str]], k: int, seed: int
) -> list[TruthItem]:
    """``facts`` are (entity, relation, value, prompt); ``k`` perturbed answers each."""
    pools = _pools(world)
    items = []
    for entity, relation, value, prompt in facts:
        others = [v for v in pools[relation] if v != value]
        wrong = random.Random(f"{seed}|{entity}|{relation}").sample(others, min(k, len(others)))
        if not wrong:
            continue  # a relation with one value in the whole world has nothing to compare against
        items.append(
            TruthItem(
                entity,
                relation,
                value,
                prompt,
                written_value(relation, value),
                tuple(written_value(relation, w) for w in wrong),
            )
        )
    return items


def person_items(world: WorldSets, people: Sequence[str], limit: int, k: int, seed: int) -> list[TruthItem]:
    facts = [(f.person, f.relation, f.value, f.prompt) for f in world.fact_items(list(people))]
    return make_items(world, spread(facts, limit, seed), k, seed)


def world_items(world: WorldSets, limit: int, k: int, seed: int) -> list[TruthItem]:
    facts = [
        (e, r, v, WORLD_PROMPTS[r].format(E=e)) for e, r, v in world.entity_items() if r in WORLD_PROMPTS
    ]
    return make_items(world, spread(facts, limit, seed), k, seed)
