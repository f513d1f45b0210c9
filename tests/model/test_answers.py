"""What the decoders do with whatever a lookup function returns: answers are recorded with their
path, anything else (or a raising function) is an error and the policy applies, in both loops."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from lmlm.kg import KnowledgeGraph, Triple
from lmlm.kg.syntax import format_pretraining_lookup
from lmlm.model import DecodingArgs, LookupDecoder
from lmlm.model.reference import reference_generate
from tests.model.scripted import OneLookup
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer

PROMPT = "Ko Itakura was born in"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def model(tokenizer):
    return build_tiny_model(tokenizer)


@pytest.fixture(scope="module")
def script(tokenizer):
    return OneLookup(tokenizer, "Ko Itakura", "Place of birth")


def decode_both(model, tokenizer, script, lookup_fn, **options):
    """The KV-cached decoder's and the reference loop's output for PROMPT."""
    args = DecodingArgs(max_new_tokens=8, **options)
    ours = LookupDecoder(model, tokenizer, lookup_fn, args, logits_hook=script.hook).generate([PROMPT])[0]
    ref = reference_generate(
        model, tokenizer, lookup_fn, PROMPT, args, logits_processor=script.processor(PROMPT)
    )
    return ours, ref


def test_an_answer_is_recorded_with_its_path_score_and_fact(model, tokenizer, script, tmp_path):
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        kg.import_triples([Triple("Ko Itakura", "Place of birth", "Yokohama")])
        fact_id = kg.lookup("Ko Itakura", "Place of birth").fact_id
        for out in decode_both(model, tokenizer, script, kg.resolver(fuzzy=False)):
            [record] = out.lookups
            assert (record.value, record.path, record.score, record.fact_id) == (
                "Yokohama",
                "exact",
                1.0,
                fact_id,
            )
            assert out.raw_text.endswith(
                format_pretraining_lookup("Ko Itakura", "Place of birth", "Yokohama")
            )


def test_a_failing_lookup_function_applies_the_policy_in_both_loops(model, tokenizer, script, caplog):
    def broken(lookups):
        raise RuntimeError("store went away")

    with caplog.at_level(logging.WARNING, logger="lmlm.model"):
        ours, ref = decode_both(model, tokenizer, script, broken)
    for out in (ours, ref):
        [record] = out.lookups
        assert (record.value, record.path) == ("unknown", "error")
        assert "store went away" in record.error
    assert ours.raw_text == ref.raw_text
    assert "store went away" in caplog.text


@pytest.mark.parametrize(
    "returned",
    [
        ["Yokohama"],  # a bare value
        [SimpleNamespace(value="Yokohama")],  # no path, score or fact id
        [
            SimpleNamespace(
                value="Yokohama", path="guessed", score=1.0, fact_id=None, entity=None, relation=None
            )
        ],
        [],  # too few answers
    ],
    ids=["string", "no-path", "unknown-path", "too-few"],
)
def test_what_is_not_an_answer_is_recorded_as_an_error_never_as_exact(model, tokenizer, script, returned):
    for out in decode_both(model, tokenizer, script, lambda lookups: returned):
        [record] = out.lookups
        assert (record.value, record.path) == ("unknown", "error")
        assert record.error


def test_a_miss_without_a_value_inserts_unknown_value(model, tokenizer, script, tmp_path):
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        for out in decode_both(model, tokenizer, script, kg.resolver(fuzzy=False), unknown_value="n/a"):
            [record] = out.lookups
            assert (record.value, record.path, record.fact_id) == ("n/a", "miss", None)


def test_the_resolvers_answers_are_answers_and_record_paths_are_checked():
    from lmlm.kg import Resolution
    from lmlm.model import Answer, LookupRecord
    from lmlm.model.answers import answer_problem

    resolution = Resolution("Yokohama", "exact", 1.0, "f1", "Ko Itakura", "Place of birth")
    assert isinstance(resolution, Answer) and answer_problem(resolution) is None
    assert "not an Answer (no path, score" in answer_problem(SimpleNamespace(value="x"))
    with pytest.raises(ValueError, match="path must be one of"):
        LookupRecord("e", "r", "v", "guessed")


def test_entities_from_context_asks_only_for_names_already_written(model, tokenizer, tmp_path):
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        kg.import_triples(
            [Triple(name, "Place of birth", "Yokohama") for name in ("Ko Itakura", "Yu Itakura")]
        )
        asked: list = []

        def lookup_fn(lookups):
            asked.extend(lookups)
            return kg.resolver(fuzzy=False)(lookups)

        other = OneLookup(tokenizer, "Yu Itakura", "Place of birth")  # a name the prompt did not write
        for out in decode_both(model, tokenizer, other, lookup_fn, entities_from_context=True):
            [record] = out.lookups
            assert (record.entity, record.value, record.path) == ("Yu Itakura", "unknown", "unwritten")
        assert asked == []  # the store was never asked
        same = OneLookup(tokenizer, "ko  ITAKURA", "Place of birth")  # the prompt's, case and spacing aside
        for out in decode_both(model, tokenizer, same, lookup_fn, entities_from_context=True):
            assert [(r.value, r.path) for r in out.lookups] == [("Yokohama", "exact")]
        for out in decode_both(model, tokenizer, other, lookup_fn):  # off (the default): asked as written
            assert [(r.value, r.path) for r in out.lookups] == [("Yokohama", "exact")]


def test_entity_unwritten_reads_the_prompt_and_the_clean_text_before_the_lookup():
    from lmlm.model.answers import entity_unwritten

    looked_up = format_pretraining_lookup("Ko Itakura", "Sibling", "Yu Itakura")
    before = looked_up + " Yu Itakura is her brother. "  # the value as the text writes it after the lookup
    assert not entity_unwritten("Yu Itakura", "Ko Itakura's family:", before)
    assert entity_unwritten(
        "Yu Itakura", "Ko Itakura's family:", looked_up
    )  # a lookup's own words do not count
    assert not entity_unwritten("ko itakura", "Ko Itakura's family:", "")
    assert entity_unwritten("Itakura Ko", "Ko Itakura was born in", "")  # whole name, in its order
    assert entity_unwritten("Ko Ita", "Ko Itakura was born in", "")  # whole words only
