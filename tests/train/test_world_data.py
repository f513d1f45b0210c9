"""The generated world as training data: determinism, exact lookups, held-out people, splits."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from lmlm.kg.formats import read_jsonl
from lmlm.kg.syntax import parse_annotated, strip_lookups
from lmlm.train.world import PRONOUNS, WorldConfig, generate_world
from lmlm.train.world import data as world_data
from lmlm.train.world.biographies import (
    CLOZE_PROMPTS,
    LIFE_SECTIONS,
    MISS_VALUE,
    MISS_WORDS,
    OPENING_PROMPTS,
    SENTENCES,
    SLOTS,
)
from lmlm.train.world.data import FORGET_SPLITS, WorldDataConfig, write_world

CONFIG = WorldDataConfig(people=150, seed=3, variants=3)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    write_world(out, CONFIG)
    return out


def read_jsonl_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def world_people(world_dir: Path) -> list[dict]:
    return json.loads((world_dir / "world.json").read_text(encoding="utf-8"))["people"]


def all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_config_writes_the_same_bytes(world_dir, tmp_path):
    write_world(tmp_path / "again", CONFIG)
    first, second = all_files(world_dir), all_files(tmp_path / "again")
    assert set(first) == {
        "world.json",
        "triples.jsonl",
        "corpus/train.jsonl",
        "corpus/eval.jsonl",
        "prompts.jsonl",
        "qa.jsonl",
        "cloze.jsonl",
        "splits/forget_01.json",
        "splits/forget_05.json",
        "splits/forget_10.json",
        "manifest.json",
    }
    assert first == second
    write_world(tmp_path / "other", WorldDataConfig(people=150, seed=4, variants=3))
    assert all_files(tmp_path / "other")["corpus/train.jsonl"] != first["corpus/train.jsonl"]


def test_manifest_counts_and_checksums(world_dir):
    manifest = json.loads((world_dir / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    assert counts["people"] == 150 and counts["heldout"] == 15
    assert counts["train_documents"] == (150 - 15) * 3
    assert counts["eval_documents"] == round(0.1 * 135)
    for name, info in manifest["files"].items():
        data = (world_dir / name).read_bytes()
        assert info == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    lines = {
        name: len((world_dir / name).read_text(encoding="utf-8").splitlines()) for name in manifest["files"]
    }
    assert lines["corpus/train.jsonl"] == counts["train_documents"]
    assert lines["triples.jsonl"] == counts["triples"]
    assert (lines["prompts.jsonl"], lines["qa.jsonl"], lines["cloze.jsonl"]) == (
        counts["prompts"],
        counts["qa"],
        counts["cloze"],
    )


def test_every_lookup_resolves_exactly_against_the_triples(world_dir):
    triples = {(t.entity, t.relation, t.value) for t in read_jsonl(world_dir / "triples.jsonl")}
    relations = {r for _, r, _ in triples}
    lookups = 0
    for name in ("corpus/train.jsonl", "corpus/eval.jsonl"):
        for record in read_jsonl_records(world_dir / name):
            parsed = parse_annotated(record["annotated_text"])
            assert parsed.problems == ()
            assert strip_lookups(record["annotated_text"]) == record["text"]
            for call in parsed.calls:
                assert (call.entity, call.relation, call.value) in triples, call
                # the value as written follows the lookup (after its article: an occupation, the award)
                after = record["annotated_text"][call.end :]
                assert re.match(rf" (an? |the )?{re.escape(call.value)}\b", after), (call, after[:40])
            lookups += len(parsed.calls)
            assert parsed.calls[0].entity == record["person"]
    assert relations == set(SLOTS.values()) | {"Country", "Location", "Founded"}
    assert lookups > 2000


def test_no_fact_is_written_without_its_lookup(world_dir):
    """Remove every lookup and the value after it: no value of any triple is left in the text
    (but the person's own name, which is another person's relative)."""
    triples = list(read_jsonl(world_dir / "triples.jsonl"))
    values = sorted({t.value for t in triples}, key=len, reverse=True)
    any_value = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in values) + r")\b")
    for record in read_jsonl_records(world_dir / "corpus" / "train.jsonl"):
        text = record["annotated_text"]
        pieces, pos = [], 0
        for call in parse_annotated(text).calls:
            pieces.append(text[pos : call.start])
            written = re.match(rf" (an? |the )?{re.escape(call.value)}", text[call.end :])
            pos = call.end + written.end()
        rest = ("".join(pieces) + text[pos:]).replace(record["person"], "")  # a relative of someone else
        assert any_value.search(rest) is None, (any_value.search(rest), text)


def test_held_out_people_have_facts_and_prompts_but_no_biography(world_dir):
    people = world_people(world_dir)
    heldout = {p["name"] for p in people if p["heldout"]}
    assert len(heldout) == 15
    triple_entities = {t.entity for t in read_jsonl(world_dir / "triples.jsonl")}
    assert heldout <= triple_entities
    names = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in heldout) + r")\b")
    for name in ("corpus/train.jsonl", "corpus/eval.jsonl"):
        for record in read_jsonl_records(world_dir / name):
            assert record["person"] not in heldout
            assert names.search(record["annotated_text"]) is None
    prompts = read_jsonl_records(world_dir / "prompts.jsonl")
    facts = {p["name"]: p["facts"] for p in people}
    assert {p["person"] for p in prompts} == heldout
    for prompt in prompts:
        assert prompt["prompt"].startswith(prompt["person"])
        assert prompt["facts"] == facts[prompt["person"]]
        assert prompt["relation"] is None or prompt["relation"] in prompt["facts"]
    assert Counter(p["person"] for p in prompts).most_common()[-1][1] == len(OPENING_PROMPTS)


def test_prompts_end_where_the_corpus_looks_a_fact_up(world_dir):
    """Each cloze and opening prompt, for a trained person, is followed in the corpus by that lookup."""
    records = read_jsonl_records(world_dir / "corpus" / "train.jsonl")
    for relation, template in CLOZE_PROMPTS.items():
        seen = False
        for record in records:
            prefix = template.format(N=record["person"]) + " [dblookup("
            at = record["annotated_text"].find(prefix)
            if at >= 0:
                call = parse_annotated(record["annotated_text"][at + len(prefix) - 10 :]).calls[0]
                assert (call.entity, call.relation) == (record["person"], relation)
                seen = True
        assert seen, relation


def test_qa_and_cloze_cover_every_fact_of_every_person(world_dir):
    people = world_people(world_dir)
    expected = {(p["name"], r, v, p["heldout"]) for p in people for r, v in p["facts"].items()}
    qa = read_jsonl_records(world_dir / "qa.jsonl")
    cloze = read_jsonl_records(world_dir / "cloze.jsonl")
    assert {(q["person"], q["relation"], q["answer"], q["heldout"]) for q in qa} == expected
    assert {(c["person"], c["relation"], c["answer"], c["heldout"]) for c in cloze} == expected
    assert all(q["person"] in q["question"] and q["question"].endswith("?") for q in qa)
    assert len({q["id"] for q in qa}) == len(qa) and len({c["id"] for c in cloze}) == len(cloze)


def test_forget_splits_are_nested_and_drawn_from_trained_people(world_dir):
    people = world_people(world_dir)
    trained = {p["name"] for p in people if not p["heldout"]}
    previous: set[str] = set()
    for name, share in FORGET_SPLITS.items():
        split = json.loads((world_dir / "splits" / f"{name}.json").read_text(encoding="utf-8"))
        forget, retain = set(split["forget"]), set(split["retain"])
        assert len(forget) == max(1, round(share * len(people)))
        assert forget | retain == trained and not forget & retain
        assert previous <= forget
        previous = forget


def test_biographies_vary_and_use_each_persons_pronoun(world_dir):
    people = {p["name"]: p for p in world_people(world_dir)}
    records = read_jsonl_records(world_dir / "corpus" / "train.jsonl")
    others = {
        "he": r"\b(?:[Ss]he|[Hh]er|[Tt]hey|[Tt]heir|them)\b",
        "she": r"\b(?:[Hh]e|[Hh]is|him|[Tt]hey|[Tt]heir|them)\b",
        "they": r"\b(?:[Hh]e|[Hh]is|him|[Ss]he|[Hh]er)\b",
    }
    assert {p["pronoun"] for p in people.values()} == set(PRONOUNS)
    by_person: dict[str, list[str]] = {}
    for record in records:
        pronoun = people[record["person"]]["pronoun"]
        assert re.search(others[pronoun], record["text"]) is None, record["text"]
        assert record["text"].startswith(record["person"])
        by_person.setdefault(record["person"], []).append(record["text"])
    assert all(len(set(texts)) == 3 for texts in by_person.values())
    openings = Counter(text.split(".")[0].split(" ")[2] for texts in by_person.values() for text in texts)
    assert len(openings) >= 4  # born, is, works, studied: openings vary
    for relation in SLOTS.values():
        assert sum(relation in t.relations for t in SENTENCES) >= 4, relation


def test_people_are_never_named_after_a_place():
    world = generate_world(WorldConfig(people=3000, seed=1))
    places = set(world.places)
    assert not [p.name for p in world.people if places & set(p.name.split())]
    assert world.entity_facts[world.places[0]]["Country"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    class BrokenHashlib:
        @staticmethod
        def sha256(data):
            raise OSError("disk on fire")

    monkeypatch.setattr(world_data, "hashlib", BrokenHashlib)
    with pytest.raises(OSError, match="disk on fire"):
        write_world(tmp_path / "w", WorldDataConfig(people=20))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_replaced_only_when_asked(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        write_world(tmp_path / "mine", WorldDataConfig(people=10))
    with pytest.raises(FileExistsError, match="not a world"):
        write_world(tmp_path / "mine", WorldDataConfig(people=10), overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    write_world(tmp_path / "w", WorldDataConfig(people=10))
    manifest = write_world(tmp_path / "w", WorldDataConfig(people=12), overwrite=True)
    assert manifest.people == 12 and json.loads((tmp_path / "w" / "world.json").read_text())["people"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "w"]


@pytest.mark.parametrize(
    "kwargs, flag",
    [
        ({"people": 0}, "--people"),
        ({"variants": 0}, "--variants"),
        ({"heldout_fraction": 1.0}, "--heldout"),
        ({"seed": -1}, "--seed"),
        ({"eval_people": -2}, "--eval-people"),
    ],
)
def test_config_names_the_bad_flag(kwargs, flag):
    with pytest.raises(ValueError, match=flag):
        WorldDataConfig(**kwargs)


def test_tiny_worlds_still_have_a_trained_person(tmp_path):
    manifest = write_world(tmp_path / "one", WorldDataConfig(people=1))
    assert (manifest.heldout, manifest.train_documents, manifest.forget["forget_01"]) == (0, 4, 1)
    manifest = write_world(tmp_path / "two", WorldDataConfig(people=2, heldout_fraction=0.5))
    assert manifest.heldout == 1 and manifest.prompts == len(OPENING_PROMPTS)


@pytest.mark.slow
def test_twenty_thousand_people_in_under_thirty_seconds(tmp_path):
    started = time.perf_counter()
    manifest = write_world(tmp_path / "big", WorldDataConfig(people=20_000))
    assert time.perf_counter() - started < 30
    assert manifest.train_documents == 18_000 * 4 and manifest.heldout == 2_000


ABSENT = WorldDataConfig(people=120, seed=2, variants=3, names="given", complete=True, absent_share=0.2)


@pytest.fixture(scope="module")
def absent_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("absent") / "w"
    write_world(out, ABSENT)
    return out


def test_absent_facts_are_looked_up_and_the_text_says_they_are_unknown(absent_dir):
    people = world_people(absent_dir)
    absent = {(p["name"], r) for p in people for r in p["absent"]}
    stored = {(t.entity, t.relation) for t in read_jsonl(absent_dir / "triples.jsonl")}
    every = {(p["name"], r) for p in people for r in p["facts"]}
    assert 0.15 < len(absent) / len(every) < 0.25  # about the share asked for
    assert stored & every == every - absent
    assert not any(p["absent"] for p in people if p["heldout"])  # held-out people keep every fact
    misses = 0
    for record in read_jsonl_records(absent_dir / "corpus" / "train.jsonl"):
        text = record["annotated_text"]
        in_record = 0
        for call in parse_annotated(text).calls:
            if (call.entity, call.relation) in absent:
                assert call.value == MISS_VALUE == "unknown"
                assert text[call.end :].startswith(" " + MISS_WORDS[call.relation]), text[call.end :][:60]
                in_record += 1
            else:
                assert call.value != MISS_VALUE
        assert record["text"].count("unknown") == in_record  # the word only where a lookup missed
        misses += in_record
    assert misses > 100
    qa = read_jsonl_records(absent_dir / "qa.jsonl")
    assert {(q["person"], q["relation"]) for q in qa} == every - absent


def test_absent_facts_are_the_same_for_the_same_seed(absent_dir, tmp_path):
    write_world(tmp_path / "again", ABSENT)
    assert all_files(absent_dir) == all_files(tmp_path / "again")
    write_world(tmp_path / "none", WorldDataConfig(**{**ABSENT.__dict__, "absent_share": 0.0}))
    assert not any(p["absent"] for p in world_people(tmp_path / "none"))


def test_biographies_with_fewer_facts_cover_every_fact_between_them(tmp_path):
    config = WorldDataConfig(
        people=40, seed=1, variants=3, names="given", complete=True, facts_per_biography=4
    )
    write_world(tmp_path / "w", config)
    people = {p["name"]: p for p in world_people(tmp_path / "w")}
    written: dict[str, set[str]] = {}
    for record in read_jsonl_records(tmp_path / "w" / "corpus" / "train.jsonl"):
        own = {
            c.relation
            for c in parse_annotated(record["annotated_text"]).calls
            if c.entity == record["person"]
        }
        assert len(own) == 4, record["text"]
        written.setdefault(record["person"], set()).update(own)
    for name, relations in written.items():
        facts = people[name]["facts"]
        heldout_relatives = {r for r, v in facts.items() if v in people and people[v]["heldout"]}
        assert relations == set(facts) - heldout_relatives, name


def test_life_order_writes_each_biography_section_by_section(tmp_path):
    config = WorldDataConfig(
        people=40,
        seed=4,
        variants=3,
        names="given",
        complete=True,
        facts_per_biography=5,
        relation_order="life",
    )
    write_world(tmp_path / "w", config)
    section = {relation: i for i, relations in enumerate(LIFE_SECTIONS) for relation in relations}
    orders = set()
    for record in read_jsonl_records(tmp_path / "w" / "corpus" / "train.jsonl"):
        own = [
            c.relation
            for c in parse_annotated(record["annotated_text"]).calls
            if c.entity == record["person"]
        ]
        assert [section[r] for r in own] == sorted(section[r] for r in own), record["text"]
        orders.add(tuple(own))
    assert len(orders) > 60  # still varied: which facts, and their order within a section


def test_relation_order_is_checked():
    with pytest.raises(ValueError, match="--relation-order"):
        WorldDataConfig(relation_order="alphabetical")
