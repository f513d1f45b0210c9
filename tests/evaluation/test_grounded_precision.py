"""Grounded precision: claims read back with the world's templates and checked against its facts."""

from __future__ import annotations

import random

import pytest

from lmlm.evaluation.grounded_precision import count_forgotten_statements, score_grounded
from lmlm.kg.syntax import format_pretraining_lookup as lookup
from lmlm.train.world import WorldConfig, generate_world
from lmlm.train.world.biographies import write_biography
from lmlm.train.world.claims import ClaimReader, WorldTruth
from tests.evaluation.test_fact_statements import output


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(people=40, seed=5, names="given", complete=True))


@pytest.fixture(scope="module")
def reader(world):
    return ClaimReader(WorldTruth.from_world(world))


@pytest.fixture(scope="module")
def ann(world):
    """A person, her facts, and a few values of other kinds to misplace."""
    person = world.people[0]
    other = world.people[1]
    facts = person.facts
    wrong_place = next(p for p in world.places if p != facts["Place of birth"])
    return {"name": person.name, "facts": facts, "other": other, "wrong_place": wrong_place}


def test_every_fact_a_biography_writes_is_read_back_true_and_in_its_slot(world, reader):
    facts = world.entity_facts
    for i, person in enumerate(world.people[:20]):
        _, raw, lookups = write_biography(person, facts, random.Random(i))
        read = reader.read(raw, person.name)
        assert len(read.claims) == lookups, raw  # one claim per lookup the writer made
        for claim in read.claims:
            assert claim.relation is not None and claim.in_right_slot, (claim, raw)
            assert facts[claim.subject][claim.relation] == claim.value, (claim, raw)
        assert read.misses == () and read.repeated_sentences == []
    report = score_grounded(
        [write_biography(p, facts, random.Random(i))[1] for i, p in enumerate(world.people[:20])],
        [p.name for p in world.people[:20]],
        reader,
    )
    assert report.precision == 1.0 and report.wrong_slot == 0 and report.stated > 150


def test_facts_written_as_misses_are_read_as_misses(world, reader):
    facts = world.entity_facts
    absent = {"Place of birth", "Sibling", "Occupation", "Employer"}
    for i, person in enumerate(world.people[:20]):
        _, raw, lookups = write_biography(person, facts, random.Random(i), absent=absent)
        read = reader.read(raw, person.name)
        assert {(m.subject, m.relation) for m in read.misses} == {(person.name, r) for r in absent}, raw
        assert len(read.claims) == lookups - len(absent)
        assert all(facts[c.subject][c.relation] == c.value for c in read.claims), raw


def test_false_claims_wrong_slots_and_values_outside_slots(reader, ann):
    name, facts = ann["name"], ann["facts"]
    text = (
        f"{name} was born in {ann['wrong_place']} on {facts['Date of birth']}. "  # false, true
        f"She is the sibling of {facts['Date of birth']}. "  # a date in a person's slot
        f"{name} works as {ann['other'].name}. "  # a person in the occupation's slot
        f"It rained in {facts['Place of birth']}."  # a value in no slot of its sentence
    )
    read = reader.read(text, name)
    got = [(c.relation, c.value, c.in_right_slot) for c in read.claims]
    assert got == [
        ("Place of birth", ann["wrong_place"], True),
        ("Date of birth", facts["Date of birth"], True),
        ("Sibling", facts["Date of birth"], False),
        ("Occupation", ann["other"].name, False),
        (None, facts["Place of birth"], False),
    ]
    report = score_grounded([text], [name], reader)
    assert (report.stated, report.true, report.wrong_slot, report.outside_slots) == (5, 1, 3, 1)
    assert report.precision == 0.2 and report.wrong_slot_share == 0.6 and report.lookup_share == 0.0
    assert {e["value"] for e in report.examples} == {
        ann["wrong_place"],
        facts["Date of birth"],
        ann["other"].name,
        facts["Place of birth"],
    }


def test_a_garbled_value_is_stated_and_false_but_has_no_slot_to_be_wrong_in(reader, ann):
    text = f"{ann['name']} works as a chefff. She was born on 6 Auly 1912."
    claims = reader.read(text, ann["name"]).claims
    assert [(c.relation, c.value, c.kind) for c in claims] == [
        ("Occupation", "chefff", None),
        ("Date of birth", "6 Auly 1912", None),
    ]
    report = score_grounded([text], [ann["name"]], reader)
    assert (report.stated, report.true, report.not_in_world, report.wrong_slot) == (2, 0, 2, 0)


def test_pronouns_mean_the_prompts_person_and_a_name_means_that_person(reader, ann):
    name, other = ann["name"], ann["other"]
    text = (
        f"{name}'s sibling is {ann['facts']['Sibling']}. "
        f"{other.name} works as a {other.facts['Occupation']}. "  # true of the other person
        f"She works as a {other.facts['Occupation']}."  # about the prompt's person
    )
    claims = reader.read(text, name).claims
    assert [c.subject for c in claims] == [name, other.name, name]
    truth = reader.truth
    assert [truth.value_of(c.subject, c.relation) == c.value for c in claims] == [
        True,
        True,
        ann["facts"]["Occupation"] == other.facts["Occupation"],
    ]


def test_a_name_the_world_does_not_know_makes_its_claims_false(reader, ann):
    text = f"Solisto Falls was born in {ann['facts']['Place of birth']}."
    (claim,) = reader.read(text, ann["name"]).claims
    assert claim.subject is None and claim.relation == "Place of birth" and claim.in_right_slot
    assert score_grounded([text], [ann["name"]], reader).precision == 0.0


def test_misses_are_not_claims_and_a_cut_off_value_states_nothing(reader, ann):
    name = ann["name"]
    text = f"{name} was born in an unknown place. She works as a specialist in an unknown field. Her parent is Ka"
    read = reader.read(text, name)
    assert read.claims == ()
    assert [(m.subject, m.relation) for m in read.misses] == [(name, "Place of birth"), (name, "Occupation")]
    cut = f"{name} was born on {ann['facts']['Date of birth']}"  # a complete value at the very end
    assert [c.relation for c in reader.read(cut, name).claims] == ["Date of birth"]


def test_asides_are_claims_about_the_place_or_organisation_just_named(reader, world, ann):
    name, facts = ann["name"], ann["facts"]
    org = facts["Employer"]
    location = world.entity_facts[org]["Location"]
    country = world.entity_facts[location]["Country"]
    text = f"{name} works for the {org} in {location}, in {country}."
    claims = reader.read(text, name).claims
    assert [(c.subject, c.relation, c.value) for c in claims] == [
        (name, "Employer", org),
        (org, "Location", location),
        (location, "Country", country),
    ]
    assert score_grounded([text], [name], reader).precision == 1.0


def test_repeated_sentences_and_repeated_facts_are_counted_per_output(reader, ann):
    name, sibling = ann["name"], ann["facts"]["Sibling"]
    texts = [
        f"{name} is the sibling of {sibling}. She is the sibling of {sibling}. She is the sibling of {sibling}.",
        f"{name}'s sibling is {sibling}. She is the sibling of {sibling}.",
        f"{name}'s sibling is {sibling}.",
    ]
    report = score_grounded(texts, [name] * 3, reader)
    assert (report.repeated_outputs, report.repeated_fact_outputs) == (1, 2)
    assert report.repeated_share == round(1 / 3, 4) and report.repeated_fact_share == round(2 / 3, 4)


def test_a_value_counts_as_looked_up_only_after_an_exact_lookup_of_it(reader, ann):
    name, place = ann["name"], ann["facts"]["Place of birth"]
    before = output(f"{name} was born in", " " + lookup(name, "Place of birth", place) + f" {place}.")
    after = output(
        f"{name} grew up in {place}. {name} was born in",
        " " + lookup(name, "Place of birth", place) + f" {place}.",
    )
    missed = output(
        f"{name} was born in", " " + lookup(name, "Place of birth", place) + f" {place}.", {place: "fuzzy"}
    )
    report = score_grounded([before, after, missed], [name] * 3, reader)
    assert report.stated == 4 and report.through_lookup == 2  # the prompt's value came before its lookup
    assert report.lookup_share == 0.5


def test_forgotten_facts_count_whatever_value_is_stated(reader, ann, world):
    name, facts = ann["name"], ann["facts"]
    texts = [
        f"{name} was born in an unknown place.",  # honest
        f"{name} was born in {ann['wrong_place']}.",  # another value for the forgotten fact
        f"{name} was born on {facts['Date of birth']}.",  # not forgotten
        f"It rained in {facts['Place of birth']}.",  # the old value, outside any slot
    ]
    report = count_forgotten_statements(texts, [name] * 4, reader, [(name, "Place of birth")])
    assert (report.stating, report.statements, report.misses, report.share) == (2, 2, 1, 0.5)
    whole = count_forgotten_statements(texts, [name] * 4, reader, [(name, None)])
    assert whole.stating == 3


def test_world_truth_loads_a_world_directory_and_names_a_bad_one(tmp_path):
    from lmlm.train.world.data import WorldDataConfig, write_world

    write_world(tmp_path / "w", WorldDataConfig(people=12, names="given", complete=True))
    truth = WorldTruth.load(tmp_path / "w")
    assert truth.kind_of("3 May 1970") == "date" and truth.kind_of("1877") == "year"
    assert truth.kind_of("Nowhere Special") is None
    with pytest.raises(ValueError, match="world.json"):
        WorldTruth.load(tmp_path)


def test_outputs_and_subjects_must_pair_up(reader):
    with pytest.raises(ValueError, match="2 outputs but 1 subjects"):
        score_grounded(["a.", "b."], ["x"], reader)
