"""Relations known to differ: learned from a real store (both backends) and from the reference list."""

from __future__ import annotations

import numpy as np

from lmlm.kg.facts import Triple
from lmlm.kg.fuzzy_index import FuzzyIndex
from lmlm.kg.relations import (
    REFERENCE_RELATIONS,
    RelationContrasts,
    acronym,
    apart_by_reference,
    content_words,
    non_subsective,
    one_word_apart,
    spells_acronym,
)

FACTS = [
    Triple("Ada Velnor", "Birth Date", "3 May 1901"),
    Triple("Ada Velnor", "Death Date", "9 June 1980"),
    Triple("Ada Velnor", "Nationality", "Kalonian"),
    Triple("Ada Velnor", "Ethnicity", "Sorbian"),
    Triple("Ada Velnor", "Occupation", "painter"),
    Triple("Ada Velnor", "Profession", "painter"),  # same value: a rewording, not another relation
    Triple("Ben Torr", "Birth Place", "Kalo Harbour"),
    Triple("Ben Torr", "Occupation", "chemist"),
]


def relations_of(store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for fact in store.iter_facts():
        out.setdefault(fact.entity_key, set()).add(fact.relation_key)
    return out


def test_the_store_teaches_which_relations_differ(store):
    store.import_triples(FACTS)
    learned = RelationContrasts(relations_of(store), store.facts_by_keys, use_reference=False)
    assert frozenset(("birth", "death")) in learned.contrasting_words
    # Ben Torr has only a birth place: a death place is another relation, by the learned words
    assert learned.differ("death place", "birth place") and learned.differ("Place of death", "birth place")
    assert learned.differ("ethnicity", "nationality")  # held by one entity with different values
    assert not learned.differ("profession", "occupation")  # held with the same value
    assert not learned.differ("birthplace", "birth place") and not learned.differ(
        "Birth Place", "birth place"
    )
    assert learned.known_distinct([("birth date", "death date"), ("occupation", "profession")]) == [
        True,
        False,
    ]


def test_a_batch_of_queries_reads_the_store_once_for_all_its_new_pairs(store):
    store.import_triples(FACTS)
    reads: list[int] = []

    def counted(keys):
        reads.append(len(keys))
        return store.facts_by_keys(keys)

    learned = RelationContrasts(relations_of(store), counted, use_reference=False)
    reads.clear()  # learning the contrasting words read the store
    pairs = [
        ("ethnicity", "nationality"),
        ("Profession", "occupation"),
        ("death date", "birth date"),
        ("Nationality", "nationality"),
        ("Ethnicity", "nationality"),
    ]
    one_by_one = RelationContrasts(relations_of(store), store.facts_by_keys, use_reference=False)
    expected = [one_by_one.differ(q, r) for q, r in pairs]
    assert learned.differ_many(pairs) == expected == [True, False, True, False, True]
    assert len(reads) == 1  # ethnicity and profession, read together
    assert learned.differ_many(pairs) == expected and len(reads) == 1  # known pairs are not read again


def test_the_reference_list_covers_a_store_that_never_saw_the_contrast(store):
    store.import_triples(FACTS[6:])
    alone = RelationContrasts(relations_of(store), store.facts_by_keys, use_reference=False)
    assert not alone.differ("date of death", "date of birth")
    with_reference = RelationContrasts(relations_of(store), store.facts_by_keys, use_store=False)
    assert with_reference.differ("date of death", "date of birth")
    assert with_reference.differ("mother", "father") and with_reference.differ("death place", "birth place")
    assert not with_reference.differ("born on", "date of birth")


def test_non_subsective_words_make_another_relation(store):
    assert non_subsective("Former Spouse") == {"former"} and non_subsective("ex-wife") == {"ex-wife"}
    assert (
        not non_subsective("Spouse")
        and not non_subsective("Expert in")
        and non_subsective("ex wife") == {"ex"}
    )
    store.import_triples(FACTS)
    built_in = RelationContrasts(relations_of(store), store.facts_by_keys, use_store=False)
    assert built_in.differ("former occupation", "occupation") and built_in.differ(
        "occupation", "former occupation"
    )
    assert built_in.differ("prospective employer", "employer")
    assert not built_in.differ("previous name", "former name")  # both qualified: may be a rewording
    store_only = RelationContrasts(relations_of(store), store.facts_by_keys, use_reference=False)
    assert not store_only.differ("former occupation", "occupation")


def test_acronyms_are_capitals_that_spell_initials():
    assert [acronym(a) for a in ("DOB", " D.O.B. ", "HQ", "dob", "Team", "A", "NATION", "DOB2")] == [
        "dob",
        "dob",
        "hq",
        None,
        None,
        None,
        None,
        None,
    ]
    assert spells_acronym("dob", "date of birth") and spells_acronym("db", "date of birth")
    assert spells_acronym("ceo", "chief executive officer") and spells_acronym("pob", "place-of-birth")
    assert not spells_acronym("dod", "date of birth") and not spells_acronym("t", "team")


def test_reference_relations_are_distinct_names():
    keys = [" ".join(r.lower().split()) for r in REFERENCE_RELATIONS]
    assert len(keys) == len(set(keys)) > 200


def test_content_words_and_one_word_apart():
    assert content_words("Mother\\'s Place of Birth") == ("mother", "place", "birth")
    pairs = set(one_word_apart(["date of birth", "date of death", "place of birth", "birthplace"]))
    assert pairs == {
        ("date of birth", "date of death", "birth", "death"),
        ("date of birth", "place of birth", "date", "place"),
    }


def test_the_fuzzy_index_relearns_after_many_edits(tmp_path):
    from lmlm.kg.embedded_store import EmbeddedStore
    from lmlm.kg.embedding import Embedder

    store = EmbeddedStore(tmp_path / "store")
    store.import_triples(FACTS[6:])
    index = FuzzyIndex(tmp_path / "index", Embedder())
    index.sync(store)
    before = index.relation_contrasts(store, use_reference=False)
    assert index.relation_contrasts(store, use_reference=False) is before
    assert not before.differ("death date", "birth date")
    filler = [Triple(f"Person {i}", "Occupation", "chemist") for i in range(10)]
    store.import_triples(FACTS[:6] + filler)  # more than a tenth of max(keys, 100) changed
    index.sync(store)
    after = index.relation_contrasts(store, use_reference=False)
    assert after is not before and after.differ("death place", "birth place")
    store.close()


def test_two_relations_nearest_different_reference_relations_are_apart():
    reference = np.eye(3, dtype=np.float32)  # three reference relations, orthogonal

    def unit(*xs):
        v = np.array(xs, dtype=np.float32)
        return v / np.linalg.norm(v)

    queries = np.stack([unit(0.9, 0.1, 0), unit(0.9, 0.1, 0), unit(0.5, 0.5, 0.5), unit(0.1, 0.9, 0)])
    stored = np.stack([unit(0.1, 0.9, 0), unit(0.8, 0.2, 0), unit(0.1, 0.9, 0), unit(0.5, 0.5, 0.5)])
    # nearest different entries, both close: apart; the same entry: not; one of them far from
    # every entry (cosine 0.58 < 0.7): not known, so not apart
    assert apart_by_reference(queries, stored, reference, 0.7).tolist() == [True, False, False, False]
    assert apart_by_reference(queries, stored, reference, 0.5).tolist() == [True, False, True, True]
    assert apart_by_reference(queries[:0], stored[:0], reference, 0.7).shape == (0,)
    # a relation that is a strict part of its nearest entry is broader than it: that says nothing
    entries = ["production company", "employer", "place of birth"]
    texts = (["company", "film company", "Birth Place", "employer"], entries)
    assert apart_by_reference(queries, stored, reference, 0.5, texts=texts).tolist() == [
        False,  # "company" < "production company"
        False,  # not apart anyway
        True,  # "birth place" is no part of "employer"'s entry
        True,  # only the query is read: the stored relation (entry 0 of three ties) may be broader
    ]
