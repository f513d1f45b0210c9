"""Biographies of the generated world's people, every fact written through a lookup.

The texts are built for a tiny model to learn lookups from: each relation has a handful of
phrasings, the entity of a lookup is always the person's (or the organisation's, or the place's)
canonical name, never a pronoun, and relation names are the world's own. The first sentence names
the person; later ones say he, she or they, or the name again. Some sentences carry no fact at all.

A template is a sentence with slots:

* ``{S}``/``{s}`` the subject (capitalised or not), ``{P}``/``{p}`` the possessive, ``{O}`` the
  object. The first of these in a sentence is the person's name when the sentence names them.
* ``{is}``, ``{was}``, ``{has}``, ``{-s}``: verb forms agreeing with the subject (``they are``).
* ``{DOB}``, ``{POB}``, ``{OCC}``, ...: a fact of the person (see ``SLOTS``), written as the
  lookup followed by the value. The article of an occupation (``a``/``an``), an organisation or
  an award (``the``) comes after the lookup (``[...] an engineer``, ``[...] the Kalo Institute``),
  so it never has to be guessed before the value is known, and a miss can say ``an unknown ...``.
* A ``+`` (``{EMP+}``, only at the end of a sentence) may add a fact about the organisation or
  place just named: ``the Kalo Institute, founded in [...] 1877``.
* A ``!`` (``{SIB!}``) marks a slot whose sentence is not used for a fact absent from the store
  (``grew up with her sibling someone whose name is unknown`` does not read well).

A fact absent from the store is still looked up; the lookup returns :data:`MISS_VALUE` (what the
resolver and the decoder give on a miss) and the text says so: ``born in [...] an unknown place``
(``MISS_WORDS``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from lmlm.kg.resolver import UNKNOWN_VALUE
from lmlm.kg.syntax import format_annotated_call

from .people import Person

SLOTS = {
    "DOB": "Date of birth",
    "POB": "Place of birth",
    "OCC": "Occupation",
    "EMP": "Employer",
    "EDU": "Educated at",
    "AWD": "Award received",
    "SPO": "Spouse",
    "SIB": "Sibling",
    "PAR": "Parent",
}

# What a lookup of a fact absent from the store returns, as the decoder inserts it on a miss.
MISS_VALUE = UNKNOWN_VALUE
# How the text goes on after such a lookup, per relation (each with the word "unknown").
MISS_WORDS = {
    "Date of birth": "an unknown date",
    "Place of birth": "an unknown place",
    "Occupation": "a specialist in an unknown field",
    "Employer": "an unknown organisation",
    "Educated at": "an unknown school",
    "Award received": "an unknown award",
    "Spouse": "someone whose name is unknown",
    "Sibling": "someone whose name is unknown",
    "Parent": "someone whose name is unknown",
}
# The article written after the lookup, before the value ("a"/"an" is chosen by the value).
ARTICLES = {"Occupation": "a", "Employer": "the", "Educated at": "the", "Award received": "the"}

# The first sentence: it names the person and holds facts every person has.
_OPENINGS = [
    "{S} {was} born on {DOB} in {POB+}.",
    "{S} {was} born in {POB} on {DOB}.",
    "{S} {was} born on {DOB}.",
    "{S} {was} born in {POB+}.",
    "{S} {is} {OCC}.",
    "{S} {is} {OCC} who work{-s} for {EMP+}.",
    "{S} work{-s} as {OCC}.",
    "{S} work{-s} as {OCC} for {EMP+}.",
    "{S} work{-s} for {EMP+}.",
    "{S} studied at {EDU+}.",
]

_SENTENCES = [
    # Date of birth
    "{S} {was} born on {DOB}.",
    "{P} date of birth is {DOB!}.",
    "{S} came into the world on {DOB}.",
    "The records give {p} date of birth as {DOB!}.",
    "{S} {was} born on {DOB} in {POB+}.",
    "{S} {was} born in {POB} on {DOB}.",
    # Place of birth
    "{S} {was} born in {POB+}.",
    "{P} birthplace is {POB+!}.",
    "{S} {was} born and raised in {POB+}.",
    "{P} place of birth is {POB+!}.",
    "{S} come{-s} from {POB}, where {s} {was} born.",
    # Occupation
    "{S} {is} {OCC}.",
    "{S} work{-s} as {OCC}.",
    "{S} trained as {OCC}.",
    "By profession, {s} {is} {OCC}.",
    "{S} {has} made a career as {OCC}.",
    "{S} work{-s} as {OCC} for {EMP+}.",
    "{S} {is} {OCC} at {EMP+}.",
    # Employer
    "{S} work{-s} for {EMP+}.",
    "{S} {is} employed by {EMP+}.",
    "{P} employer is {EMP+}.",
    "{S} {has} a position at {EMP+}.",
    "{S} joined the staff of {EMP+}.",
    "Today {s} work{-s} at {EMP+}.",
    # Educated at
    "{S} studied at {EDU+}.",
    "{S} {was} educated at {EDU+}.",
    "{S} attended {EDU+}.",
    "{S} graduated from {EDU+}.",
    "{P} education took place at {EDU+}.",
    "As a student, {s} attended {EDU+}.",
    # Award received
    "{S} received {AWD}.",
    "{S} {was} awarded {AWD}.",
    "{S} won {AWD}.",
    "In recognition of {p} work, {s} received {AWD}.",
    "{P} honours include {AWD}.",
    "{S} {is} a recipient of {AWD}.",
    # Relatives
    "{S} {is} married to {SPO}.",
    "{P} spouse is {SPO}.",
    "{S} married {SPO}.",
    "{S} {is} the spouse of {SPO}.",
    "{P} sibling is {SIB}.",
    "{S} {has} a sibling, {SIB}.",
    "{S} grew up with {p} sibling {SIB!}.",
    "{S} {is} the sibling of {SIB}.",
    "{P} parent is {PAR}.",
    "{S} {is} the child of {PAR}.",
    "{S} {was} raised by {p} parent {PAR!}.",
    "{S} {is} a child of {PAR}.",
]

_FILLERS = [
    "{S} {is} known for a patient, careful way of working.",
    "Friends describe {O} as generous and curious.",
    "{S} enjoy{-s} long walks and old maps.",
    "Little is written about {p} early years.",
    "{S} rarely speak{-s} about {p} private life.",
    "Colleagues remember {O} as a generous mentor.",
    "{S} {has} written several essays about {p} work.",
    "{S} keep{-s} a small garden and a large library.",
]

# Facts about the organisation or place a "+" slot has just named.
_ORGANISATION_ASIDES = [
    (", founded in ", "Founded"),
    (", which was founded in ", "Founded"),
    (", based in ", "Location"),
    (" in ", "Location"),
]
_PLACE_ASIDES = [(", a town in ", "Country"), (", in ", "Country"), (" in ", "Country")]

# Prompts that end where a lookup of ``relation`` follows in the corpus (the person's name first).
CLOZE_PROMPTS = {
    "Date of birth": "{N} was born on",
    "Place of birth": "{N} was born in",
    "Occupation": "{N} works as",
    "Employer": "{N} works for",
    "Educated at": "{N} studied at",
    "Award received": "{N} received",
    "Spouse": "{N} is married to",
    "Sibling": "{N}'s sibling is",
    "Parent": "{N} is the child of",
}
# Openings of held-out biographies: (prompt, the relation looked up first, None for the bare name).
OPENING_PROMPTS = [(CLOZE_PROMPTS[r], r) for r in list(SLOTS.values())[:5]] + [("{N}", None)]
QUESTIONS = {
    "Date of birth": "When was {N} born?",
    "Place of birth": "Where was {N} born?",
    "Occupation": "What is {N}'s occupation?",
    "Employer": "Which organisation does {N} work for?",
    "Educated at": "Where was {N} educated?",
    "Award received": "Which award did {N} receive?",
    "Spouse": "Who is {N}'s spouse?",
    "Sibling": "Who is {N}'s sibling?",
    "Parent": "Who is {N}'s parent?",
}

_PRONOUN_FORMS = {
    "he": {"S": "He", "s": "he", "P": "His", "p": "his", "O": "him"},
    "she": {"S": "She", "s": "she", "P": "Her", "p": "her", "O": "her"},
    "they": {"S": "They", "s": "they", "P": "Their", "p": "their", "O": "them"},
}
_SINGULAR = {"is": "is", "was": "was", "has": "has", "-s": "s"}
_PLURAL = {"is": "are", "was": "were", "has": "have", "-s": ""}
_SLOT = re.compile(r"\{([^}]+)\}")
_NAME_RATE = 0.3  # later sentences that name the person again instead of a pronoun
_FILLER_RATE = 0.2  # chance of a sentence without facts before each sentence with facts
_ASIDE_RATE = 0.35  # chance that a "+" slot adds a fact about what it named


@dataclass(frozen=True)
class Template:
    """A parsed sentence: pieces ``(kind, payload)``, the person's relations it writes, and those
    it must not write as a miss (``!``).

    Kinds: ``text`` (literal words), ``ref`` (a reference to the person: ``S``, ``s``, ``P``,
    ``p``, ``O``), ``verb`` (``is``, ``was``, ``has``, ``-s``), ``fact`` and ``fact+`` (a relation;
    ``+`` may add an aside about the value).
    """

    pieces: tuple[tuple[str, str], ...]
    relations: frozenset[str]
    no_miss: frozenset[str] = frozenset()


def parse_template(text: str) -> Template:
    pieces: list[tuple[str, str]] = []
    relations: set[str] = set()
    no_miss: set[str] = set()
    pos = 0
    for match in _SLOT.finditer(text):
        if match.start() > pos:
            pieces.append(("text", text[pos : match.start()]))
        slot = match.group(1)
        key = slot.rstrip("+!")
        if key in _PRONOUN_FORMS["he"]:
            pieces.append(("ref", key))
        elif key in _SINGULAR:
            pieces.append(("verb", key))
        elif key in SLOTS:
            pieces.append(("fact+" if "+" in slot else "fact", SLOTS[key]))
            relations.add(SLOTS[key])
            if "!" in slot:
                no_miss.add(SLOTS[key])
        else:
            raise ValueError(f"unknown slot {{{slot}}} in template {text!r}")
        pos = match.end()
    if pos < len(text):
        pieces.append(("text", text[pos:]))
    return Template(tuple(pieces), frozenset(relations), frozenset(no_miss))


OPENINGS = tuple(parse_template(t) for t in _OPENINGS)
SENTENCES = tuple(parse_template(t) for t in _SENTENCES)
FILLERS = tuple(parse_template(t) for t in _FILLERS)
ORGANISATION_ASIDES = tuple(_ORGANISATION_ASIDES)
PLACE_ASIDES = tuple(_PLACE_ASIDES)
PRONOUN_FORMS = _PRONOUN_FORMS
VERB_FORMS = (_SINGULAR, _PLURAL)


def written_value(relation: str, value: str) -> str:
    """A value as the text writes it after its lookup: with its article where it takes one."""
    article = ARTICLES.get(relation)
    if article == "a":
        article = "an" if value[:1].lower() in "aeiou" else "a"
    return f"{article} {value}" if article else value


class _Writer:
    """Accumulates one biography in both spellings: annotated (with calls) and raw."""

    def __init__(
        self,
        person: Person,
        entity_facts: Mapping[str, Mapping[str, str]],
        rng: random.Random,
        absent: frozenset[str] = frozenset(),
    ):
        self.person = person
        self.absent = absent
        self.entity_facts = entity_facts
        self.rng = rng
        self.annotated: list[str] = []
        self.raw: list[str] = []
        self.lookups = 0

    def text(self, piece: str) -> None:
        self.annotated.append(piece)
        self.raw.append(piece)

    def fact(self, entity: str, relation: str, value: str, written: str | None = None) -> None:
        """The call, then the value as written (the call plus one space strips to the raw text)."""
        written = value if written is None else written
        self.annotated.append(format_annotated_call(entity, relation, value) + " " + written)
        self.raw.append(written)
        self.lookups += 1

    def aside(self, name: str, depth: int = 0) -> None:
        """Maybe a fact about the organisation or place ``name`` that was just written."""
        facts = self.entity_facts.get(name, {})
        asides = _PLACE_ASIDES if "Country" in facts else _ORGANISATION_ASIDES
        if depth > 1 or not facts or self.rng.random() >= _ASIDE_RATE:
            return
        words, relation = self.rng.choice(asides)
        self.text(words)
        self.fact(name, relation, facts[relation])
        if relation == "Location":
            self.aside(facts[relation], depth + 1)

    def sentence(self, template: Template, use_name: bool) -> None:
        """One sentence; the first reference to the person is the name when ``use_name``."""
        forms = _PRONOUN_FORMS[self.person.pronoun]
        plural = self.person.pronoun == "they"
        for kind, payload in template.pieces:
            if kind == "text":
                self.text(payload)
            elif kind == "ref":
                if payload in ("S", "s"):  # the verbs that follow agree with this subject
                    plural = not use_name and self.person.pronoun == "they"
                if use_name:
                    self.text(self.person.name + ("'s" if payload in ("P", "p") else ""))
                    use_name = False
                else:
                    self.text(forms[payload])
            elif kind == "verb":
                self.text((_PLURAL if plural else _SINGULAR)[payload])
            elif payload in self.absent:  # looked up, not found: the text says so
                self.fact(self.person.name, payload, MISS_VALUE, MISS_WORDS[payload])
            else:
                value = self.person.facts[payload]
                self.fact(self.person.name, payload, value, written_value(payload, value))
                if kind == "fact+":
                    self.aside(value)


# The order of a life, for biographies written section by section (``sections=LIFE_SECTIONS``):
# within a section the relations come in a random order, the sections always in this one. A model
# then only has to know where in the life it is to go on without repeating itself.
LIFE_SECTIONS = (
    ("Date of birth", "Place of birth"),
    ("Educated at",),
    ("Occupation", "Employer"),
    ("Award received",),
    ("Spouse", "Sibling", "Parent"),
)
RELATION_ORDERS = ("random", "life")


def write_biography(
    person: Person,
    entity_facts: Mapping[str, Mapping[str, str]],
    rng: random.Random,
    relations: Sequence[str] | None = None,
    absent: Collection[str] = (),
    sections: Sequence[Sequence[str]] = (),
) -> tuple[str, str, int]:
    """One biography of ``person``: (annotated text, raw text, number of lookups).

    ``relations`` are the person's facts to write (default: all of them), each exactly once.
    Those in ``absent`` are not in the store: their lookups return :data:`MISS_VALUE` and the text
    says so. The opening sentence names the person; the rest come in a random order, or section
    by section when ``sections`` are given (relations in no section last).
    """
    remaining = set(person.facts if relations is None else relations)
    writer = _Writer(person, entity_facts, rng, frozenset(absent))
    groups = [[r for r in section if r in remaining] for section in sections]
    groups.append(sorted(remaining - {r for section in sections for r in section}))
    sentences: list[tuple[Template, bool]] = []
    fillers = list(FILLERS)
    rng.shuffle(fillers)  # each filler at most once a biography
    for group in (g for g in groups if g):
        sentences += _group_sentences(person, set(group), writer.absent, rng, fillers, not sentences)
    if fillers and (not sentences or rng.random() < _FILLER_RATE):
        sentences.append((fillers.pop(), not sentences))
    for i, (template, use_name) in enumerate(sentences):
        if i:
            writer.text(" ")
        writer.sentence(template, use_name)
    return "".join(writer.annotated), "".join(writer.raw), writer.lookups


def _group_sentences(
    person: Person,
    remaining: set[str],
    absent: frozenset[str],
    rng: random.Random,
    fillers: list,
    first: bool,
) -> list[tuple[Template, bool]]:
    """Sentences (template, names the person) that write the relations of ``remaining``; the first
    sentence of the biography is an opening when one fits."""

    def usable(template: Template) -> bool:
        return template.relations <= remaining and not template.no_miss & absent

    sentences: list[tuple[Template, bool]] = []
    openings = [t for t in OPENINGS if usable(t)] if first else []
    if openings:
        opening = rng.choice(openings)
        sentences.append((opening, True))
        remaining -= opening.relations
    order = sorted(remaining)
    rng.shuffle(order)
    for relation in order:
        if relation not in remaining:
            continue
        if fillers and rng.random() < _FILLER_RATE:
            sentences.append((fillers.pop(), first and not sentences))
        choices = [t for t in SENTENCES if relation in t.relations and usable(t)]
        if not choices:
            raise ValueError(f"{person.name}: no sentence writes the relation {relation!r}")
        template = rng.choice(choices)
        sentences.append((template, (first and not sentences) or rng.random() < _NAME_RATE))
        remaining -= template.relations
    return sentences
