"""Validation: a response is accepted only if removing its lookups gives back the input; what is
safe to repair is repaired (and said), everything else is rejected with the reason and the place."""

from __future__ import annotations

import json

import pytest

from lmlm.annotation.validation import EXACT, REJECTED, REPAIRED, ValidationConfig, validate_annotation
from lmlm.kg.syntax import format_annotated_call, parse_annotated, strip_lookups
from tests.paper_data import PAPER_DATA

TEXT = (
    "Ko Itakura was born in Yokohama in 1997. He plays as a defender for Borussia Mönchengladbach, "
    "a club based in Mönchengladbach, and he has won the Asian Cup with Japan."
)
BIRTHPLACE = format_annotated_call("Ko Itakura", "Place of Birth", "Yokohama")
YEAR = format_annotated_call("Ko Itakura", "Birth Year", "1997")
CLUB = format_annotated_call("Ko Itakura", "Club", "Borussia Mönchengladbach")
GOOD = (
    f"Ko Itakura was born in {BIRTHPLACE} Yokohama in {YEAR} 1997. He plays as a defender for "
    f"{CLUB} Borussia Mönchengladbach, a club based in Mönchengladbach, and he has won the Asian Cup with Japan."
)


def _triples(annotated: str) -> list[tuple[str, str, str]]:
    return [(c.entity, c.relation, c.value) for c in parse_annotated(annotated).calls]


def _accepted(response: str, **config) -> tuple:
    verdict = validate_annotation(TEXT, response, "doc", ValidationConfig(**config))
    assert verdict.status != REJECTED, (verdict.reason, verdict.detail)
    assert strip_lookups(verdict.annotated) == TEXT  # whatever the response, the text is the input's
    return verdict, _triples(verdict.annotated)


def test_a_faithful_response_is_exact_and_kept_as_written():
    verdict, triples = _accepted(GOOD)
    assert verdict.status == EXACT and verdict.text_preserved and verdict.repairs == ()
    assert verdict.annotated == GOOD and verdict.calls == 3
    assert triples == _triples(GOOD)


@pytest.mark.parametrize(
    ("response", "repair"),
    [
        (GOOD.replace(" in ", "  in\n"), "whitespace:1"),
        ("Here is the annotated text:\n\n" + GOOD + "\n\nDone.", "wrapper:2"),
        ("```\n" + GOOD + "\n```", "wrapper:2"),
        (GOOD.replace("] Yokohama", "]"), "value_copy:1"),
        (GOOD.replace("Mönchengladbach, a club", "Mönchengladbach a club"), "punctuation:1"),
        (GOOD.replace("Birth Year') -> 1997]", "Birth Year' 1997]"), "broken_calls:1"),
    ],
    ids=["whitespace", "preamble", "code-fence", "value-not-copied", "comma-dropped", "broken-call"],
)
def test_safe_differences_are_repaired_and_named(response, repair):
    verdict, triples = _accepted(response)
    assert verdict.status == REPAIRED and repair in verdict.repairs
    assert set(triples) <= set(_triples(GOOD)) and len(triples) >= 2


def test_a_cut_off_response_keeps_the_rest_of_the_text_without_calls():
    cut = GOOD[: GOOD.index(" and he has won")]
    verdict, triples = _accepted(cut, max_missing=0.5)
    assert "truncated:1" in verdict.repairs and len(triples) == 3
    rejected = validate_annotation(TEXT, cut, "doc", ValidationConfig(max_missing=0.05))
    assert (
        rejected.status == REJECTED and rejected.reason == "incomplete" and "--max-missing" in rejected.detail
    )


def test_a_call_goes_with_its_value_when_the_response_respaced_it():
    verdict, _ = _accepted(
        GOOD.replace(f"{BIRTHPLACE} Yokohama", f"{BIRTHPLACE}Yokohama").replace(". He", ".  He")
    )
    assert f"born in {BIRTHPLACE} Yokohama in" in verdict.annotated


@pytest.mark.parametrize(
    ("response", "reason", "where"),
    [
        (GOOD.replace("was born in", "was born at"), "changed", "'in' became 'at'"),
        (GOOD.replace("as a defender ", ""), "dropped", "'as a defender' is missing"),
        (GOOD.replace("He plays", "He still plays"), "added", "'still' is not in the text"),
        ("", "empty", "empty response"),
    ],
)
def test_a_changed_text_is_rejected_with_the_reason_and_place(response, reason, where):
    verdict = validate_annotation(TEXT, response, "doc")
    assert verdict.status == REJECTED and verdict.annotated == "" and verdict.calls == 0
    assert verdict.reason == reason and where in verdict.detail


def test_without_repair_only_the_exact_text_passes():
    assert validate_annotation(TEXT, GOOD, "d", ValidationConfig(repair=False)).status == EXACT
    verdict = validate_annotation(TEXT, GOOD.replace(" in ", "  in "), "d", ValidationConfig(repair=False))
    assert verdict.status == REJECTED and verdict.reason == "changed"


def test_calls_in_a_preamble_are_dropped_not_moved():
    stray = format_annotated_call("Assistant", "Mood", "happy")
    verdict, triples = _accepted(f"I am {stray} happy to help:\n{GOOD}")
    assert ("Assistant", "Mood", "happy") not in triples and len(triples) == 3
    assert "calls_in_wrapper:1" in verdict.repairs


@pytest.mark.skipif(not PAPER_DATA.is_dir(), reason=f"the paper's samples are not at {PAPER_DATA}")
def test_every_accepted_paper_annotation_strips_back_to_its_text():
    examples = json.loads((PAPER_DATA / "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json").read_text())[
        "examples"
    ]
    statuses = []
    for ex in examples:
        verdict = validate_annotation(ex["text"], ex["annotated_text"])
        statuses.append(verdict.status)
        if verdict.status != REJECTED:
            assert strip_lookups(verdict.annotated) == ex["text"]
        if verdict.status == EXACT:
            assert _triples(verdict.annotated) == _triples(ex["annotated_text"])
    # GPT-4o kept the text of about half of these passages exactly (see annotation_quality)
    assert statuses.count(EXACT) == 53 and statuses.count(REJECTED) + statuses.count(REPAIRED) == 46
