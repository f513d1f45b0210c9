"""Knowledge completion scoring and readers; grounded factual precision on texts whose true and
false claims are known."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.completion import (
    CompletionItem,
    normalize_words,
    read_lama,
    score_completion,
    score_items,
    spread,
    world_items,
)
from lmlm.evaluation.world_sets import WorldSets
from lmlm.kg.errors import InputFormatError
from lmlm.train.world import WorldDataConfig, write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("w") / "world"
    write_world(root, WorldDataConfig(people=40, names="given", complete=True))
    return WorldSets(root)


def test_first_words_and_contains():
    assert normalize_words("An Engineer, the best.") == ["engineer", "best"]
    assert score_completion(" an engineer for the Kalo Works.", "engineer") == (True, True)
    assert score_completion(" Kalo Falls on 3 May", "Kalo Falls") == (True, True)
    assert score_completion(" the town of Kalo Falls", "Kalo Falls") == (False, True)
    assert score_completion(" Kalo", "Kalo Falls") == (False, False)
    assert score_completion("anything", "") == (False, False)


def test_lama_records_of_each_shape(tmp_path):
    path = tmp_path / "trex.jsonl"
    records = [
        {
            "predicate_id": "P19",
            "masked_sentence": "Ko Itakura was born in [MASK].",
            "obj_surface": "Yokohama",
        },
        {
            "predicate_id": "P106",
            "obj_label": "painter",
            "evidences": [
                {"masked_sentence": "Ada was a [MASK] in Paris.", "obj_surface": "painter"},
                {"masked_sentence": "[MASK] was her trade.", "obj_surface": "Painting"},  # no prefix: skipped
            ],
        },
        {"relation": "born", "masked_sentences": ["Mo was born in [MASK] ."], "obj_label": "Oslo"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    items = read_lama(path)
    assert [(i.prompt, i.answer, i.relation) for i in items] == [
        ("Ko Itakura was born in", "Yokohama", "P19"),
        ("Ada was a", "painter", "P106"),
        ("Mo was born in", "Oslo", "born"),
    ]
    path.write_text(json.dumps({"masked_sentence": "no mask here", "obj_surface": "x"}) + "\n")
    with pytest.raises(InputFormatError, match=r"trex\.jsonl.*record 1.*\[MASK\]"):
        read_lama(path)
    path.write_text(json.dumps({"sentence": "x"}) + "\n")
    with pytest.raises(InputFormatError, match="record 1"):
        read_lama(path)


def test_world_sets_and_per_relation_scores(world):
    cloze = world_items(world, "cloze")
    qa = world_items(world, "qa")
    assert len(cloze) == len(qa) == 40 * 9
    assert {i.group for i in cloze} == {"heldout", "trained"}
    assert qa[0].prompt.startswith("Question: ") and qa[0].prompt.endswith("\nAnswer:")
    items = [
        CompletionItem("p", "Kalo Falls", "Place of birth", "heldout"),
        CompletionItem("p", "chef", "Occupation", "trained"),
    ]
    score = score_items(items, [" Kalo Falls, in", " a pilot"]).to_dict()
    assert score["first_words"] == 0.5 and score["relations"]["Occupation"]["contains"] == 0.0
    assert score["groups"]["heldout"]["first_words"] == 1.0
    sample = spread(list(range(10)), 3)
    assert (
        len(sample) == 3
        and sample == sorted(sample) == spread(list(range(10)), 3)
        and spread([1, 2], 0) == [1, 2]
    )
