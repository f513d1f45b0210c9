"""Entity names letter by letter: folding, edit distance, the misspelling rule and the trigram index."""

from __future__ import annotations

import random

import pytest

from lmlm.kg.names import NameIndex, edit_distance, fold, is_misspelling


def test_fold_ignores_case_accents_and_punctuation():
    assert fold("  Mönchengladbach ") == fold("monchengladbach") == "monchengladbach"
    assert fold("Anti-Corruption Bureau") == "anti corruption bureau"
    assert fold("Destiny\\'s Child") == fold("Destinys child")


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("itakura", "itakura", 0),
        ("itakura", "itakrua", 1),
        ("itakura", "itkura", 1),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance_counts_a_swap_of_neighbours_as_one(a, b, expected):
    assert edit_distance(a, b) == edit_distance(b, a) == expected
    assert edit_distance(a, b, limit=0) == min(expected, 1)


@pytest.mark.parametrize(
    "query, name",
    [
        ("Ko Itakrua", "Ko Itakura"),  # neighbours swapped
        ("aRlph Earl", "Ralph Earl"),  # the first two letters swapped
        ("Marisol Quinteros", "Marisol Quintero"),  # a letter added
        ("Packe_tswitching", "Packet switching"),  # a space moved
        ("AntiCorruption Bureau", "Anti-Corruption Bureau"),  # a hyphen dropped
        ("Monchengladbach", "Mönchengladbach"),  # an accent dropped
        ("KO ITAKURA", "Ko Itakura"),
    ],
)
def test_typos_are_misspellings(query, name):
    assert is_misspelling(query, name)


@pytest.mark.parametrize(
    "query, name",
    [
        ("Ingrid Itakura", "Ko Itakura"),  # another given name
        ("Yu Itakura", "Ko Itakura"),  # a short word changed
        ("Symphony No. 6", "Symphony No. 5"),  # another number
        ("2016 Oman Open", "2019 Oman Open"),
        ("North Ajax", "Ajax"),  # a word added
        ("Itakura Ko Junior", "Ko Itakura"),
        ("Ko Itukara", "Ko Itakura"),  # two edits in one word
    ],
)
def test_other_names_are_not_misspellings(query, name):
    assert not is_misspelling(query, name)


def test_name_index_finds_names_sharing_letters_and_follows_edits():
    names = ["ko itakura", "marisol quintero", "velnor institute", "yuki itakura"]
    index = NameIndex(names)
    assert index.search("Ko Itakrua", k=2)[0][0] == "ko itakura"
    assert index.search("Velnor Institue", k=1) == [("velnor institute", pytest.approx(0.848, abs=0.01))]
    assert index.search("", k=3) == [] and len(index) == 4
    index.add(["kalo harbour"])
    index.remove(["ko itakura"])
    found = [k for k, _ in index.search("Ko Itakura", k=5)]
    assert found[0] == "yuki itakura" and "ko itakura" not in found
    assert index.search("Kalo Harbor", k=1)[0][0] == "kalo harbour" and len(index) == 4


def test_name_index_rebuilds_after_many_edits_and_finds_the_same():
    rng = random.Random(0)
    names = [f"{rng.choice('bcdfg')}{rng.random():.6f} name" for _ in range(300)]
    index = NameIndex(names[:100])
    index.add(names[100:])  # beyond a tenth: rebuilt from arrays
    index.remove(names[:50])
    fresh = NameIndex(names[50:])
    for name in names[50:80]:
        assert index.search(name, k=3) == fresh.search(name, k=3)
        assert index.search(name, k=1)[0] == (name, 1.0)
    assert all(hit[0] not in names[:50] for hit in index.search(names[0], k=10))


def test_names_added_since_the_build_are_found_as_a_fresh_build_finds_them():
    rng = random.Random(1)
    syllables = ["ka", "lo", "mir", "ta", "ven", "os", "ri", "bel", "un", "dra"]

    def name() -> str:
        return " ".join("".join(rng.choice(syllables) for _ in range(3)) for _ in range(2))

    names = list(dict.fromkeys(name() for _ in range(5_600)))[:5_450]
    index = NameIndex(names[:5_000])
    for chunk in range(5_000, len(names), 50):  # 450 added: under a tenth of the index, kept aside
        index.add(names[chunk : chunk + 50])
        index.search(names[chunk], k=3)  # a search between adds sees the names added so far
    index.remove(names[5_000:5_010])  # added, then removed before any rebuild
    assert len(index._added) == 440  # the names kept aside are what is tested, not a rebuilt index
    fresh = NameIndex(names[:5_000] + names[5_010:])
    for query in names[4_990:5_450:5] + [name() for _ in range(30)]:
        assert index.search(query, k=5) == fresh.search(query, k=5)
    assert all(hit[0] not in names[5_000:5_010] for hit in index.search(names[5_000], k=20))
