"""The evaluation sets of a generated world directory (``lmlm data world``, the demo's ``world/``).

:class:`WorldSets` reads ``world.json`` back into the generator's own :class:`~lmlm.train.world.World`
(every person, place and organisation with their facts; nothing is regenerated) and gives the
sets the evaluations use: the held-out people, the forget splits, the cloze and QA items, the
held-out prompts, the eval biographies, and biographies written for held-out people (who have none
in the corpus) with the generator's own writer. A missing or malformed file is an error naming it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lmlm.kg.errors import InputFormatError
from lmlm.kg.facts import Triple
from lmlm.kg.formats import read_json_objects
from lmlm.train.corpus import Document, load_documents
from lmlm.train.lookup_text import to_token_text
from lmlm.train.world import Person, World, WorldConfig
from lmlm.train.world.biographies import CLOZE_PROMPTS, write_biography, written_value


@dataclass(frozen=True)
class ForgetSplit:
    """People to forget and people to retain (``splits/NAME.json``)."""

    name: str
    fraction: float
    forget: tuple[str, ...]
    retain: tuple[str, ...]


@dataclass(frozen=True)
class FactItem:
    """One fact of a person as a cloze item: ``prompt`` is followed by ``answer`` in the corpus."""

    person: str
    relation: str
    value: str
    prompt: str
    heldout: bool

    @property
    def answer(self) -> str:
        """The value as the biographies write it after the prompt (with its article: ``a cartographer``,
        ``the Kalo Institute``)."""
        return written_value(self.relation, self.value)


def read_jsonl(path: Path) -> list[dict]:
    """JSON objects, one a line (:func:`lmlm.kg.formats.read_json_objects`); errors name the file and line."""
    return [record for _, record in read_json_objects(path)]


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise InputFormatError(str(path), "file", "not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputFormatError(str(path), f"line {e.lineno}", f"invalid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise InputFormatError(str(path), "top level", "expected a JSON object")
    return data


class WorldSets:
    """A world directory's evaluation sets."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / "world.json").is_file():
            raise ValueError(f"{self.root} is not a world directory (no world.json): see `lmlm data world`")

    @cached_property
    def _record(self) -> dict:
        return _read_json(self.root / "world.json")

    @cached_property
    def world(self) -> World:
        record, path = self._record, self.root / "world.json"
        try:
            config = record["config"]
            people = tuple(
                Person(p["name"], dict(p["facts"]), p.get("pronoun", "they")) for p in record["people"]
            )
            places = tuple(p["name"] for p in record.get("places", ()))
            orgs = tuple(o["name"] for o in record.get("organisations", ()))
            others = [*record.get("places", ()), *record.get("organisations", ())]
        except (KeyError, TypeError) as e:
            raise InputFormatError(str(path), "people/places/organisations", f"missing field {e}") from e
        triples = [Triple(e["name"], r, v) for e in others for r, v in e["facts"].items()]
        triples += [Triple(p.name, r, v) for p in people for r, v in p.facts.items()]
        world_config = WorldConfig(
            people=len(people), seed=config.get("seed", 0), names=config.get("names", "syllables")
        )
        return World(world_config, people, places, orgs, tuple(triples))

    @cached_property
    def heldout(self) -> frozenset[str]:
        return frozenset(p["name"] for p in self._record["people"] if p.get("heldout"))

    @cached_property
    def person_facts(self) -> dict[str, dict[str, str]]:
        return {p.name: p.facts for p in self.world.people}

    @cached_property
    def absent(self) -> dict[str, frozenset[str]]:
        """Person -> the relations kept out of the store when the corpus was written (``absent``
        in world.json): the corpus says these values are unknown, so no fact item asks for them."""
        return {p["name"]: frozenset(p.get("absent", ())) for p in self._record["people"] if p.get("absent")}

    def people(self, heldout: bool | None = None) -> list[str]:
        """Names in world order: all, only held-out, or only trained people."""
        return [p.name for p in self.world.people if heldout is None or (p.name in self.heldout) == heldout]

    def split(self, name: str) -> ForgetSplit:
        data = _read_json(self.root / "splits" / f"{name}.json")
        unknown = [
            n for n in [*data.get("forget", ()), *data.get("retain", ())] if n not in self.person_facts
        ]
        if unknown or not data.get("forget"):
            problem = f"unknown people {unknown[:3]}" if unknown else "no people to forget"
            raise InputFormatError(str(self.root / "splits" / f"{name}.json"), "forget/retain", problem)
        return ForgetSplit(name, float(data.get("fraction", 0)), tuple(data["forget"]), tuple(data["retain"]))

    def fact_items(self, people: list[str] | tuple[str, ...] | None = None) -> list[FactItem]:
        """Every stored fact of ``people`` (default everyone) with its cloze prompt, in world order;
        the facts kept out of the store (:attr:`absent`) are left out, as in ``cloze.jsonl``."""
        chosen = set(people) if people is not None else None
        return [
            FactItem(p.name, r, v, CLOZE_PROMPTS[r].format(N=p.name), p.name in self.heldout)
            for p in self.world.people
            if chosen is None or p.name in chosen
            for r, v in p.facts.items()
            if r in CLOZE_PROMPTS and r not in self.absent.get(p.name, ())
        ]

    def entity_items(self) -> list[tuple[str, str, str]]:
        """(entity, relation, value) of every place and organisation: the world's general facts."""
        people = self.person_facts
        return [(t.entity, t.relation, t.value) for t in self.world.triples if t.entity not in people]

    def records(self, name: str) -> list[dict]:
        """``cloze``, ``qa`` or ``prompts``: the world's JSONL records."""
        return read_jsonl(self.root / f"{name}.jsonl")

    def eval_documents(self) -> list[Document]:
        """Unseen biographies of trained people (``corpus/eval.jsonl``)."""
        return load_documents(self.root / "corpus" / "eval.jsonl")

    def documents_of(self, split: str = "train") -> list[tuple[str, str]]:
        """(document id, person) of ``corpus/SPLIT.jsonl``."""
        return [(str(r["id"]), str(r["person"])) for r in read_jsonl(self.root / "corpus" / f"{split}.jsonl")]

    def heldout_documents(self, variants: int = 1, seed: int = 1) -> list[Document]:
        """Biographies of the held-out people, written now by the generator's own writer (the
        corpus has none): every fact of the person, each through a lookup."""
        return list(self._written(sorted(self.heldout), variants, seed))

    def _written(self, names: list[str], variants: int, seed: int) -> Iterator[Document]:
        facts = self.world.entity_facts
        people = {p.name: p for p in self.world.people}
        for k, name in enumerate(names):
            for v in range(variants):
                annotated, raw, _ = write_biography(people[name], facts, random.Random(f"{seed}-{k}-{v}"))
                token_text, _, problems = to_token_text(annotated, f"heldout-{k}-{v}")
                if problems:
                    raise ValueError(f"the biography of {name} did not parse: {problems[0].describe()}")
                yield Document(f"heldout-{k}-{v}", raw, token_text, "world")
