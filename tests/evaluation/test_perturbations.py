"""The benchmarks' names, synonyms and edits: one module, deterministic for a seed."""

from __future__ import annotations

import random

import pytest

from lmlm.evaluation import perturbations
from lmlm.evaluation.perturbations import (
    RELATION_SYNONYMS,
    NameGenerator,
    absent_name,
    builtin_relations,
    misspell,
    perturb,
    reword,
    shout,
)
from lmlm.kg.facts import normalize_key


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (an adjacent swap counts one)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@pytest.mark.parametrize(
    "relation, expected",
    [
        # the world's relations, as kg_bench has always reworded them (the first synonym)
        ("Place of birth", "birthplace"),
        ("Date of birth", "born on"),
        ("Occupation", "profession"),
        ("Employer", "employed by"),
        ("Educated at", "studied at"),
        ("Award received", "prize won"),
        ("Country", "nation"),
        ("Location", "located in"),
        ("Founded", "year founded"),
        # the paper's relations: a synonym, then the words around "of" swapped, then word synonyms
        ("Birth Date", "date of birth"),
        ("Country of Origin", "origin country"),
        ("Head Coach", "coach of head"),
        ("Cause of death", "death cause"),
        ("Religion", "faith"),
        ("Mother\\'s Nationality", "nationality of mother's"),
    ],
)
def test_reword_without_rng_is_fixed(relation, expected):
    assert reword(relation) == expected


def test_reword_says_when_no_rule_changes_the_relation():
    assert reword("Sibling") is None and reword("Parent") is None and reword("Year") is None


def test_reword_with_rng_draws_among_the_synonyms():
    rng = random.Random(0)
    drawn = {reword("Occupation", rng) for _ in range(200)}
    assert drawn == set(RELATION_SYNONYMS["occupation"])


def test_misspell_makes_one_edit_in_the_longest_word():
    rng = random.Random(1)
    for _ in range(200):
        name = "Ko Itakura Hiroshi"
        out = misspell(name, rng)
        words, changed = out.split(), [w for w, o in zip(out.split(), name.split()) if w != o]
        assert len(words) == 3 and len(changed) <= 1 and edit_distance(out, name) <= 1
        assert words[0] == "Ko"
    assert misspell("Ko Li", rng) is None and misspell("", rng) is None


def test_shout_and_absent_name():
    assert normalize_key(shout("Ko Itakura")) == normalize_key("Ko Itakura") != shout("Ko Itakura")
    assert absent_name("Ko Itakura") == "Itakura Ko Junior" and absent_name("Nozinja") == "Nozinja Prime"


def test_generated_names_and_perturbed_keys_are_fixed_by_the_seed():
    def draw(seed: int) -> list[str]:
        rng = random.Random(seed)
        names = NameGenerator(rng)
        return [perturb(names.entity(), rng.choice(builtin_relations()), rng) for _ in range(50)]

    assert draw(3) == draw(3) != draw(4)
    assert builtin_relations()[:2] == ["Birthplace", "Occupation"]


def test_the_benchmarks_take_their_edits_from_this_module():
    from lmlm.evaluation import fuzzy_modes
    from lmlm.evaluation.bench import fuzzy_index, kg_bench

    assert fuzzy_modes.reword is kg_bench.reword is perturbations.reword
    assert fuzzy_modes.misspell is perturbations.misspell and fuzzy_index.perturb is perturbations.perturb
