"""TOFU's metrics against values computed by hand; the items and their scoring contexts."""

from __future__ import annotations

import json
import math

import pytest

from lmlm.evaluation.unlearning import UnlearnConfig
from lmlm.evaluation.unlearning.items import TruthItem, make_items
from lmlm.evaluation.unlearning.metrics import (
    choice_probability,
    forget_quality,
    harmonic_mean,
    mean_nll,
    rouge_l_recall,
    truth_ratio,
    truth_score,
)
from lmlm.evaluation.world_sets import WorldSets
from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import format_pretraining_lookup
from lmlm.train.world import WorldDataConfig, write_world
from lmlm.train.world.biographies import written_value


def test_truth_ratio_is_the_correct_answers_loss_against_the_perturbed_mean():
    # L(a) = 1, L(â) = 2 and 4: R = exp(1 - 3) = e^-2 (the model prefers the truth)
    assert truth_ratio(1.0, [2.0, 4.0]) == pytest.approx(math.exp(-2))
    assert truth_ratio(2.0, [2.0]) == pytest.approx(1.0)
    assert mean_nll([0.5, 1.5, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        truth_ratio(1.0, [])


def test_forget_quality_is_the_exact_two_sample_ks_p_value():
    # disjoint samples of 3: D = 1, P(D >= 1) = 2 / C(6, 3) = 0.1
    p, d = forget_quality([1, 2, 3], [4, 5, 6])
    assert d == pytest.approx(1.0) and p == pytest.approx(0.1)
    # interleaved: D = 1/3, the smallest value D can take with 3 + 3 distinct values, so p = 1
    p, d = forget_quality([1, 3, 5], [2, 4, 6])
    assert d == pytest.approx(1 / 3) and p == pytest.approx(1.0)
    with pytest.raises(ValueError):
        forget_quality([], [1.0])


def test_utility_terms():
    assert truth_score([math.exp(-2), 2.0]) == pytest.approx((1 - math.exp(-2)) / 2)
    assert choice_probability(1.0, [2.0]) == pytest.approx(1 / (1 + math.exp(-1)))
    assert harmonic_mean([1.0, 0.5]) == pytest.approx(2 / 3)
    assert harmonic_mean({"a": 0.0, "b": 1.0}) == 0.0
    assert rouge_l_recall("born in the Kalo Falls region", "Kalo Falls") == 1.0
    assert rouge_l_recall("Falls, Kalo", "Kalo Falls") == 0.5
    assert rouge_l_recall("an engineer", "engineer") == 1.0 and rouge_l_recall("", "x") == 0.0


def test_lmlm_context_reads_the_stores_value_after_the_gold_query():
    item = TruthItem("Ada Kalo", "Place of birth", "Velfalls", "Ada Kalo was born in", "Velfalls", ("Lomi",))
    lookup = format_pretraining_lookup("Ada Kalo", "Place of birth", "unknown")
    assert item.lmlm_context("unknown") == f"Ada Kalo was born in {lookup}"


def test_items_carry_distinct_wrong_values_of_the_same_relation(tmp_path):
    write_world(tmp_path / "w", WorldDataConfig(people=30, names="given", complete=True))
    world = WorldSets(tmp_path / "w")
    facts = [(f.person, f.relation, f.value, f.prompt) for f in world.fact_items(world.people()[:3])]
    items = make_items(world, facts, 4, seed=0)
    assert len(items) == len(facts) == 27
    for item in items:
        pool = {
            written_value(t.relation, t.value) for t in world.world.triples if t.relation == item.relation
        }
        assert len(set(item.perturbed)) == 4 and item.answer not in item.perturbed
        assert set(item.perturbed) <= pool  # other values of the relation, written as the corpus writes them
    assert make_items(world, facts, 4, seed=0) == items  # seeded
    occupation = next(i for i in items if i.relation == "Occupation")
    assert occupation.answer.split()[0] in ("a", "an") and occupation.answer.endswith(occupation.value)
    employer = next(i for i in items if i.relation == "Employer")
    assert employer.answer == f"the {employer.value}"  # "works for the Kalo Institute"


def test_config_file_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"out_dir": "x", "epochs": 2, "splits": ["forget_10"]}))
    config = UnlearnConfig.from_file(path, lr=1e-3)
    assert config.epochs == 2 and config.splits == ("forget_10",) and config.lr == 1e-3
    path.write_text(json.dumps({"out_dir": "x", "epoch": 2}))
    with pytest.raises(InputFormatError, match=r"c\.json.*'epoch'"):
        UnlearnConfig.from_file(path)
    path.write_text(json.dumps({"out_dir": "x", "splits": ["forget_50"]}))
    with pytest.raises(InputFormatError, match="splits"):
        UnlearnConfig.from_file(path)
