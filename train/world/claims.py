"""Reading the world's sentences back: the (subject, relation, value) claims a text states.

The inverse of :mod:`.biographies`, built from its templates (openings, sentences, fillers and the
asides after a ``+`` slot), so the writer and the reader cannot drift apart. It reads any text (an
LMLM's clean output, a Standard model's, a hand-written one) one sentence at a time:

* each sentence is matched against every template, piece by piece: the literal words, the
  reference to the person (a pronoun means the prompt's person; a name is that person, whether the
  world knows them or not), the verb forms, and the fact slots. A slot takes a value of the world
  (the longest that fits, after an optional article), a date or a year, or else whatever stands up
  to the template's next words (a value the world does not know). A slot whose words say
  ``unknown`` is an honest miss, not a claim; a text cut off inside a slot states nothing there.
* the reading with the most values and misses wins, then the one that reaches the end of the
  sentence, then the longest, then the one with fewer values the world does not know, then the one
  whose template words cover more of the sentence. A sentence may match only a template's
  beginning (a model's sentence that goes astray half-way).
* a value of the world standing in a sentence outside every slot of its reading is still stated,
  with no relation: the sentence's wording names no slot for it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .biographies import (
    FILLERS,
    OPENINGS,
    ORGANISATION_ASIDES,
    PLACE_ASIDES,
    PRONOUN_FORMS,
    SENTENCES,
    VERB_FORMS,
    Template,
)
from .people import MONTHS, RELATION_KINDS, World

_DATE = re.compile(r"\d{1,2} (?:" + "|".join(MONTHS) + r") \d{4}(?!\w)")
_YEAR = re.compile(r"\d{4}(?!\w)")
_ARTICLE = re.compile(r"(?:an?|the) ")
_UNKNOWN_NAME = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}(?![\w'])")
_SENTENCE = re.compile(r"[^\s.][^.]*(?:\.|$)")
_MISS_WORD = re.compile(r"\bunknown\b", re.IGNORECASE)
_PRONOUNS = frozenset(form for forms in PRONOUN_FORMS.values() for form in forms.values())


@dataclass(frozen=True)
class WorldTruth:
    """What is true in a generated world: every entity's facts (whether the store holds them or
    not) and the kind of every value (``RELATION_KINDS``)."""

    facts: Mapping[str, Mapping[str, str]]
    kinds: Mapping[str, str]  # value or entity name -> date, place, person, organisation, ...

    @classmethod
    def from_records(cls, people: Sequence[dict], places: Sequence[dict], organisations: Sequence[dict]):
        """From ``world.json``'s records (``{"name", "facts"}`` each)."""
        facts = {r["name"]: dict(r["facts"]) for r in (*people, *places, *organisations)}
        kinds = {value: RELATION_KINDS[rel] for fs in facts.values() for rel, value in fs.items()}
        for kind, records in (("person", people), ("place", places), ("organisation", organisations)):
            kinds.update((r["name"], kind) for r in records)
        return cls(facts, kinds)

    @classmethod
    def from_world(cls, world: World) -> WorldTruth:
        facts = world.entity_facts
        return cls.from_records(
            [{"name": p.name, "facts": p.facts} for p in world.people],
            [{"name": n, "facts": facts.get(n, {})} for n in world.places],
            [{"name": n, "facts": facts.get(n, {})} for n in world.organisations],
        )

    @classmethod
    def load(cls, world_dir: str | Path) -> WorldTruth:
        """From a directory written by ``lmlm data world`` (its ``world.json``)."""
        path = Path(world_dir) / "world.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_records(data["people"], data["places"], data["organisations"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a world written by `lmlm data world` ({e})") from e

    def kind_of(self, value: str) -> str | None:
        """The value's kind: a value of the world, else a date or a year by its shape, else None."""
        kind = self.kinds.get(value)
        if kind is None and _DATE.fullmatch(value):
            return "date"
        if kind is None and _YEAR.fullmatch(value):
            return "year"
        return kind

    def value_of(self, entity: str | None, relation: str | None) -> str | None:
        return self.facts.get(entity or "", {}).get(relation or "")

    @cached_property
    def people(self) -> frozenset[str]:
        return frozenset(name for name, kind in self.kinds.items() if kind == "person")


@dataclass(frozen=True)
class Claim:
    """A value a text states: about ``subject`` (None: a name the world does not know), in the
    place of ``relation`` (None: outside every slot), at ``text[start:end]``; ``kind`` is the
    value's kind in the world (None: no value of the world, nor a date or a year)."""

    subject: str | None
    relation: str | None
    value: str
    start: int
    end: int
    kind: str | None

    @property
    def in_right_slot(self) -> bool:
        return self.relation is not None and self.kind == RELATION_KINDS.get(self.relation)


@dataclass(frozen=True)
class Miss:
    """A slot whose words say the value is unknown (``born in an unknown place``): no claim."""

    subject: str | None
    relation: str
    start: int
    end: int


@dataclass(frozen=True)
class TextClaims:
    """What one text states: its claims, its honest misses and its complete sentences."""

    claims: tuple[Claim, ...]
    misses: tuple[Miss, ...]
    sentences: tuple[str, ...]

    @property
    def repeated_sentences(self) -> list[str]:
        """Complete sentences written more than once (case and spacing ignored)."""
        counts = Counter(" ".join(s.lower().split()) for s in self.sentences)
        return [s for s, n in counts.items() if n > 1]


class _ValueIndex:
    """Finds the world's values in a text by their first word (a regex alternation of thousands of
    names would try each of them at every position)."""

    _WORD = re.compile(r"\w+")

    def __init__(self, values):
        self._by_first: dict[str, list[str]] = {}
        for value in sorted(set(values), key=len, reverse=True):  # longest first: the longest that fits
            match = self._WORD.match(value)
            if match:
                self._by_first.setdefault(match.group(0), []).append(value)

    def match(self, text: str, pos: int) -> str | None:
        """The longest value at ``pos`` that ends at a word boundary."""
        word = self._WORD.match(text, pos)
        for value in self._by_first.get(word.group(0), ()) if word else ():
            end = pos + len(value)
            if text.startswith(value, pos) and not text[end : end + 1].isalnum():
                return value
        return None

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Non-overlapping values, left to right, each starting a word."""
        pos = 0
        for word in self._WORD.finditer(text):
            if word.start() < pos:
                continue
            value = self.match(text, word.start())
            if value is not None:
                pos = word.start() + len(value)
                yield word.start(), pos, value


@dataclass(frozen=True)
class _Reading:
    """A (partial) match of one template against one sentence."""

    pos: int = 0
    complete: bool = False
    subject: str | None = None
    subject_set: bool = False
    claims: tuple[Claim, ...] = ()
    misses: tuple[Miss, ...] = ()
    covered: tuple[tuple[int, int], ...] = ()  # names in reference places

    def key(self) -> tuple:
        """Most values and misses, then complete, then longest, then fewest values the world does
        not know, then the fewest words taken by slots (the template's own words explain more)."""
        known = sum(c.kind is not None for c in self.claims)
        slots = sum(c.end - c.start for c in self.claims) + sum(m.end - m.start for m in self.misses)
        return (known + len(self.misses), self.complete, self.pos, known - len(self.claims), -slots)


@dataclass
class _Sentence:
    text: str
    offset: int  # of the sentence in the whole text
    person: str  # whom a pronoun means
    cut: bool = field(init=False)

    def __post_init__(self) -> None:
        self.cut = not self.text.endswith(".")  # the text stops inside this sentence


class ClaimReader:
    """Reads claims from texts about the people of one world (see the module docstring)."""

    def __init__(self, truth: WorldTruth, templates: Sequence[Template] = (*OPENINGS, *SENTENCES, *FILLERS)):
        self.truth = truth
        self.templates = tuple(templates)
        self._values_index = _ValueIndex(truth.kinds)
        self._people_index = _ValueIndex(truth.people)

    def read(self, text: str, person: str) -> TextClaims:
        """The claims of ``text``, a text about ``person`` (its pronouns mean them)."""
        claims: list[Claim] = []
        misses: list[Miss] = []
        sentences: list[str] = []
        for match in _SENTENCE.finditer(text):
            sentence = _Sentence(match.group(0).rstrip(), match.start(), person)
            reading = max(self._readings(sentence), key=_Reading.key, default=_Reading())
            claims += [
                replace(c, start=c.start + sentence.offset, end=c.end + sentence.offset)
                for c in reading.claims
            ]
            claims += self._outside_slots(sentence, reading)
            misses += [
                replace(m, start=m.start + sentence.offset, end=m.end + sentence.offset)
                for m in reading.misses
            ]
            if not sentence.cut:
                sentences.append(sentence.text)
        return TextClaims(tuple(sorted(claims, key=lambda c: c.start)), tuple(misses), tuple(sentences))

    # -- one sentence -----------------------------------------------------------------------------

    def _readings(self, sentence: _Sentence) -> Iterator[_Reading]:
        for template in self.templates:
            yield from self._walk(sentence, template.pieces, 0, _Reading())

    def _walk(self, s: _Sentence, pieces, i: int, r: _Reading) -> Iterator[_Reading]:
        text, pos = s.text, r.pos
        if i == len(pieces) or pos >= len(text):
            yield replace(r, complete=i == len(pieces) and pos == len(text))
            return
        kind, payload = pieces[i]
        if kind == "text":
            if text.startswith(payload, pos):
                yield from self._walk(s, pieces, i + 1, replace(r, pos=pos + len(payload)))
            else:
                yield r
        elif kind == "ref":
            yield r  # the reading may stop before the reference
            for end, who in self._references(text, pos, payload, s.person):
                named = () if who == s.person and text[pos:end] in _PRONOUNS else ((pos, end),)
                if payload == "O" or r.subject_set:
                    step = replace(r, pos=end, covered=r.covered + named)
                else:
                    step = replace(r, pos=end, subject=who, subject_set=True, covered=r.covered + named)
                yield from self._walk(s, pieces, i + 1, step)
        elif kind == "verb":
            forms = sorted({forms[payload] for forms in VERB_FORMS}, key=len, reverse=True)
            matched = [f for f in forms if text.startswith(f, pos)]
            if not matched:
                yield r
            for form in matched:
                yield from self._walk(s, pieces, i + 1, replace(r, pos=pos + len(form)))
        else:
            subject = r.subject if r.subject_set else s.person
            stops = _stops(pieces, i, kind == "fact+")
            for step in self._slot(s, r, subject, payload, stops):
                if kind == "fact+" and step.claims and step.claims[-1].end == step.pos:
                    for after in self._asides(s, step, step.claims[-1], _stops(pieces, i, False), 0):
                        yield from self._walk(s, pieces, i + 1, after)
                else:
                    yield from self._walk(s, pieces, i + 1, step)

    def _references(self, text: str, pos: int, key: str, person: str) -> list[tuple[int, str | None]]:
        """(end, who) for each way the person can be referred to at ``pos``."""
        found = [
            (pos + len(forms[key]), person)
            for forms in PRONOUN_FORMS.values()
            if text.startswith(forms[key], pos)
            and not text[pos + len(forms[key]) : pos + len(forms[key]) + 1].isalpha()
        ]
        possessive = "'s" if key in ("P", "p") else ""
        name = self._people_index.match(text, pos)
        known = name is not None
        if not known:  # a name the world does not know: claims about it cannot be true
            match = _UNKNOWN_NAME.match(text, pos)
            name = match.group(0) if match else None
        if name and text.startswith(possessive, pos + len(name)) and name not in _PRONOUNS:
            found.append((pos + len(name) + len(possessive), name if known else None))
        return found

    def _slot(
        self, s: _Sentence, r: _Reading, subject: str | None, relation: str, stops
    ) -> Iterator[_Reading]:
        """Each way a slot of ``relation`` can be filled at the reading's position."""
        for start, end, value in self._values(s, r.pos, stops):
            if value is None:  # the words say the value is unknown
                miss = Miss(subject, relation, start, end)
                yield replace(r, pos=end, misses=r.misses + (miss,))
            else:
                claim = Claim(subject, relation, value, start, end, self.truth.kind_of(value))
                yield replace(r, pos=end, claims=r.claims + (claim,))

    def _values(self, s: _Sentence, pos: int, stops) -> list[tuple[int, int, str | None]]:
        """(start, end, value) candidates at ``pos``: values of the world, dates and years (after an
        optional article), then the words up to the next stop (value None when they say unknown)."""
        text = s.text
        found = []
        article = _ARTICLE.match(text, pos)
        for start in (pos, article.end()) if article else (pos,):
            value = self._values_index.match(text, start)
            shaped = _DATE.match(text, start) or _YEAR.match(text, start)
            value = value or (shaped.group(0) if shaped else None)
            if value:
                found.append((start, start + len(value), value))
        ends = [j for j in (text.find(stop, pos) for stop in stops) if j > pos]
        end = min(ends) if ends else len(text) - (not s.cut)
        words = text[pos:end]
        if _MISS_WORD.search(words):
            found.append((pos, end, None))
        elif words.strip() and (ends or not s.cut):  # not a value cut off by the end of the text
            start = article.end() if article and article.end() < end else pos
            found.append((start, end, text[start:end]))
        return found

    def _asides(self, s: _Sentence, r: _Reading, named: Claim, stops, depth: int) -> Iterator[_Reading]:
        """The reading without an aside, and with each aside about the value just named."""
        yield r
        if depth > 1:
            return
        asides = ORGANISATION_ASIDES if named.kind == "organisation" else PLACE_ASIDES
        subject = named.value if named.kind in ("organisation", "place") else None
        for words, relation in asides:
            if not s.text.startswith(words, r.pos):
                continue
            inner = (*stops, *(w for w, _ in PLACE_ASIDES)) if relation == "Location" else stops
            for step in self._slot(s, replace(r, pos=r.pos + len(words)), subject, relation, inner):
                last = step.claims[-1] if step.claims and step.claims[-1].end == step.pos else None
                if relation == "Location" and last is not None:
                    yield from self._asides(s, step, last, stops, depth + 1)
                else:
                    yield step

    def _outside_slots(self, s: _Sentence, r: _Reading) -> list[Claim]:
        """Values of the world (and dates) in the sentence outside the reading's slots and names."""
        taken = [(c.start, c.end) for c in r.claims] + [(m.start, m.end) for m in r.misses] + list(r.covered)
        subject = r.subject if r.subject_set else s.person
        found = []
        dates = ((m.start(), m.end(), m.group(0)) for m in _DATE.finditer(s.text))
        for a, b, value in (*self._values_index.finditer(s.text), *dates):
            if (a and s.text[a - 1].isalnum()) or any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            found.append(Claim(subject, None, value, a + s.offset, b + s.offset, self.truth.kind_of(value)))
        return found


def _stops(pieces, i: int, asides: bool) -> tuple[str, ...]:
    """Where the words of slot ``i`` end: the template's next words (and an aside's first words)."""
    nxt = pieces[i + 1][1] if i + 1 < len(pieces) and pieces[i + 1][0] == "text" else "."
    extra = tuple(w for w, _ in (*ORGANISATION_ASIDES, *PLACE_ASIDES)) if asides else ()
    return (nxt, *extra)
