"""fact_statements: a value counts as looked up only after a lookup of it in the same output."""

from __future__ import annotations

from types import SimpleNamespace

from lmlm.evaluation.fact_statements import score_fact_statements
from lmlm.kg.syntax import format_pretraining_lookup as lookup
from lmlm.kg.syntax import iter_pretraining_lookups
from lmlm.model.results import LookupRecord, build_output

KNOWN = ["Yokohama", "Kobe", "Ko Itakura", "Kawasaki Frontale", "1997"]


def output(prompt: str, raw: str, paths: dict[str, str] | None = None):
    """A ``GenerationOutput`` as the decoder builds it from ``raw`` (lookups in the token format);
    each lookup's path is ``exact`` unless ``paths`` names its value."""
    paths = paths or {}
    records = [
        LookupRecord(call.entity, call.relation, call.value, paths.get(call.value, "exact"))
        for call in iter_pretraining_lookups(raw)
    ]
    state = SimpleNamespace(
        text_tokens=0, finish_reason="eos", malformed=0, mode=SimpleNamespace(value="text"), sampled=0
    )
    return build_output(prompt, raw, records, state)


def test_a_value_written_before_its_lookup_counts_against_the_model():
    out = output(
        "Ko Itakura",
        " grew up in Yokohama. He was born in "
        + lookup("Ko Itakura", "Birthplace", "Yokohama")
        + " Yokohama.",
    )
    score = score_fact_statements([out], ["Ko Itakura"], KNOWN)
    assert (score.lookups, score.unlooked_values, score.stated) == (1, 1, 2)
    assert score.exact_share == 0.5
    assert score.examples_unlooked == [{"prompt": "Ko Itakura", "value": "Yokohama", "text": out.text}]


def test_a_value_repeated_after_its_lookup_is_not_a_new_fact():
    out = output(
        "Ko Itakura was born in",
        " " + lookup("Ko Itakura", "Birthplace", "Yokohama") + " Yokohama. Yokohama is a port.",
    )
    score = score_fact_statements([out], ["Ko Itakura"], KNOWN)
    assert (score.lookups, score.unlooked_values, score.exact_share, score.faithful_share) == (1, 0, 1.0, 1.0)


def test_values_from_the_weights_and_from_missed_lookups_lower_the_share():
    outs = [
        output("Ko Itakura plays for", " Kawasaki Frontale since 1997."),  # two values, no lookup
        output(
            "Ko Itakura was born in",
            " " + lookup("Ko Itakura", "Birthplace", "unknown") + " an unknown place.",
            paths={"unknown": "miss"},
        ),
        output("Ko Itakura was born in", " " + lookup("Ko Itakura", "Birthplace", "Kobe") + " Kobe."),
    ]
    score = score_fact_statements(outs, ["Ko Itakura"] * 3, KNOWN)
    assert (score.stated, score.lookups, score.exact_lookups, score.missed_lookups) == (4, 2, 1, 1)
    assert score.unlooked_values == 2 and score.exact_share == 0.25
    assert score.subject_share == 0.5 and score.lookups_per_output == round(2 / 3, 3)


def test_the_subjects_own_name_is_not_a_fact():
    out = output("Ko Itakura", " is a footballer. Ko Itakura trains daily.")
    assert score_fact_statements([out], ["Ko Itakura"], KNOWN).stated == 0


def test_a_value_copied_after_its_article_is_faithful_and_a_garbled_copy_is_not():
    outs = [
        output(
            "Ko Itakura plays for",
            " " + lookup("Ko Itakura", "Club", "Kawasaki Frontale") + " the Kawasaki Frontale.",
        ),
        output("Ko Itakura was born in", " " + lookup("Ko Itakura", "Birthplace", "Kobe") + " Kobeville."),
    ]
    score = score_fact_statements(outs, ["Ko Itakura"] * 2, KNOWN)
    assert (score.exact_lookups, score.exact_copied) == (2, 1)
