"""A generated world of fictional people, organisations and places, and its knowledge graph.

Deterministic for a seed, so tests, the demo and the unlearning experiments can rebuild the same
world anywhere. Names are built from syllables so they collide with nothing real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property

from lmlm.kg.facts import Triple

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "sa",
    "to",
    "vel",
    "na",
    "dor",
    "is",
    "ba",
    "qui",
    "el",
    "mar",
    "zu",
    "ti",
    "ro",
    "an",
    "fe",
    "lis",
    "gor",
    "wen",
    "ha",
    "sol",
]
_OCCUPATIONS = [
    "painter",
    "engineer",
    "botanist",
    "novelist",
    "architect",
    "violinist",
    "chemist",
    "cartographer",
    "journalist",
    "astronomer",
    "surgeon",
    "sculptor",
    "economist",
    "linguist",
    "pilot",
    "chef",
]
_ORG_KINDS = [
    "Institute",
    "Works",
    "Company",
    "Laboratory",
    "Press",
    "Foundation",
    "Orchestra",
    "Observatory",
]
_PLACE_KINDS = ["", "", " Falls", " Harbour", " Hills", "ford", "ton", " Bay"]
_AWARDS = [
    "Order of the Silver Quill",
    "Golden Compass Prize",
    "Aurel Medal",
    "Varen Prize",
    "Lantern Award",
    "Medal of the Open Sky",
    "Tolmir Fellowship",
]
_RELATIVES = ["Spouse", "Sibling", "Parent"]
# What kind of value each relation of the world takes: a sentence that puts a value of another
# kind in a relation's place ("She is the sibling of 4 March 1966") has it in the wrong slot.
RELATION_KINDS = {
    "Date of birth": "date",
    "Place of birth": "place",
    "Occupation": "occupation",
    "Employer": "organisation",
    "Educated at": "organisation",
    "Award received": "award",
    "Spouse": "person",
    "Sibling": "person",
    "Parent": "person",
    "Country": "country",
    "Location": "place",
    "Founded": "year",
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class WorldConfig:
    people: int = 200
    seed: int = 0
    places: int = 0  # 0: people // 4 + 5
    organisations: int = 0  # 0: people // 5 + 5
    # "syllables": every name word built from syllables (few repeats); "given": a given name and a
    # family name from two fixed lists of one-word names (each word recurs across many people, so a
    # small model learns each as one token and must copy names instead of recalling them)
    names: str = "syllables"
    # every person has an award and one relative of each kind (no fact a biography could ask
    # about is missing: the demo's held-out prompts then never hit a gap in the store)
    complete: bool = False

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError(f"people must be >= 1, got {self.people}")
        if self.names not in NAME_STYLES:
            raise ValueError(f"names must be one of {NAME_STYLES}, got {self.names!r}")


NAME_STYLES = ("syllables", "given")


PRONOUNS = ("he", "she", "they")
_PRONOUN_WEIGHTS = (0.45, 0.45, 0.1)


@dataclass(frozen=True)
class Person:
    name: str
    facts: dict[str, str] = field(default_factory=dict)
    pronoun: str = "they"  # he, she or they: how texts about the person refer to them


@dataclass(frozen=True)
class World:
    config: WorldConfig
    people: tuple[Person, ...]
    places: tuple[str, ...]
    organisations: tuple[str, ...]
    triples: tuple[Triple, ...]

    @cached_property
    def entity_facts(self) -> dict[str, dict[str, str]]:
        """Every entity's facts, ``{entity: {relation: value}}`` (each pair has one value here)."""
        facts: dict[str, dict[str, str]] = {}
        for triple in self.triples:
            facts.setdefault(triple.entity, {})[triple.relation] = triple.value
        return facts


def _name(rng: random.Random, parts: int, used: set[str], avoid: frozenset[str] = frozenset()) -> str:
    """A new name of ``parts`` words, none of them in ``avoid``; longer words once short ones run out."""
    longest = 3
    for attempt in range(10_000):
        longest += attempt % 20 == 19
        words = [
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, longest))).capitalize()
            for _ in range(parts)
        ]
        name = " ".join(words)
        if name not in used and not any(word in avoid for word in words):
            used.add(name)
            return name
    raise RuntimeError("cannot find a new name")  # unreachable for any realistic size


def _name_lists(avoid: frozenset[str]) -> tuple[list[str], list[str]]:
    """Fixed given and family names (two or three syllables) for ``names="given"``."""
    rng = random.Random("given-names")
    words: list[str] = []
    while len(words) < 40 + 60:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        if word not in words and word not in avoid:
            words.append(word)
    return words[:40], words[40:]


def _person_names(config: WorldConfig, rng: random.Random, used: set[str], avoid: frozenset[str]):
    """Yields new person names in the configured style (syllables once the lists run out)."""
    if config.names == "given":
        given, family = _name_lists(avoid)
        combos = [f"{g} {f}" for g in given for f in family]
        rng.shuffle(combos)
        for name in combos:
            if name not in used:
                used.add(name)
                yield name
    while True:
        yield _name(rng, 2, used, avoid=avoid)


def generate_world(config: WorldConfig | None = None) -> World:
    """People with birth date and place, occupation, employer, education, award and relatives;
    organisations with a location and founding year; places with a country.

    Each person's pronoun comes from a second random stream (the triples do not depend on it). No
    word of a person's name is the name of a place (a person is never called after their birthplace).
    """
    config = config or WorldConfig()
    rng = random.Random(config.seed)
    used: set[str] = set()
    n_places = config.places or config.people // 4 + 5
    n_orgs = config.organisations or config.people // 5 + 5
    countries = [_name(rng, 1, used) + "ia" for _ in range(max(2, n_places // 10))]
    places = [_name(rng, 1, used) + rng.choice(_PLACE_KINDS) for _ in range(n_places)]
    orgs = [f"{_name(rng, 1, used)} {rng.choice(_ORG_KINDS)}" for _ in range(n_orgs)]
    source = f"world-{config.seed}"
    triples: list[Triple] = []

    def add(entity: str, relation: str, value: str) -> None:
        triples.append(Triple(entity, relation, value, source=source, annotator="generated-world"))

    for place in places:
        add(place, "Country", rng.choice(countries))
    for org in orgs:
        add(org, "Location", rng.choice(places))
        add(org, "Founded", str(rng.randint(1820, 1990)))
    pronoun_rng = random.Random(f"pronouns-{config.seed}")
    people = []
    single_word_places = frozenset(place for place in places if " " not in place)
    names = _person_names(config, rng, used, single_word_places)
    for _ in range(config.people):
        name = next(names)
        facts = {
            "Date of birth": f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1900, 2000)}",
            "Place of birth": rng.choice(places),
            "Occupation": rng.choice(_OCCUPATIONS),
            "Employer": rng.choice(orgs),
            "Educated at": rng.choice(orgs),
        }
        if rng.random() < 0.5 or config.complete:
            facts["Award received"] = rng.choice(_AWARDS)
        pronoun = pronoun_rng.choices(PRONOUNS, _PRONOUN_WEIGHTS)[0]
        people.append(Person(name, facts, pronoun))
    for i, person in enumerate(people):
        if len(people) > 1 and config.complete:
            for relative in _RELATIVES:
                person.facts[relative] = people[(i + rng.randint(1, len(people) - 1)) % len(people)].name
        elif len(people) > 1 and rng.random() < 0.6:
            other = people[(i + rng.randint(1, len(people) - 1)) % len(people)]
            person.facts[rng.choice(_RELATIVES)] = other.name
        for relation, value in person.facts.items():
            add(person.name, relation, value)
    return World(config, tuple(people), tuple(places), tuple(orgs), tuple(triples))
