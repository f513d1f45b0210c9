"""Where a looked-up value stands in the clean text: the span the app highlights and links."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lmlm.kg.syntax import format_pretraining_lookup
from lmlm.model.results import LookupRecord, build_output, value_span


@pytest.mark.parametrize(
    ("clean", "value", "shown"),
    [
        (" 21 July 1970. She", "21 July 1970", "21 July 1970"),
        (" the Marfe Orchestra. She", "Marfe Orchestra", "Marfe Orchestra"),
        (" a cartographer. She", "cartographer", "cartographer"),
        (" an unknown place. She", "unknown", "unknown"),
        (" The Hague, in 1990", "The Hague", "The Hague"),  # the article is the value's own
        (" the 27th January 1997 and", "January 27, 1997", "27th January 1997"),  # reworded: 3 words
        (" Anna.", "ANNA", "Anna"),  # case differs
    ],
)
def test_the_span_covers_the_value_as_written_not_the_article_before_it(clean, value, shown):
    start, end = value_span(clean, 0, value)
    assert clean[start:end] == shown


def test_each_lookup_of_an_output_points_at_the_words_written_for_its_value():
    raw = (
        "Solis Misa works as"
        + format_pretraining_lookup("Solis Misa", "Occupation", "cartographer")
        + " a cartographer. She is employed by"
        + format_pretraining_lookup("Solis Misa", "Employer", "Marfe Orchestra")
        + " the Marfe Orchestra."
    )
    records = [
        LookupRecord("Solis Misa", "Occupation", "cartographer", "exact", 1.0),
        LookupRecord("Solis Misa", "Employer", "Marfe Orchestra", "exact", 1.0),
    ]
    state = SimpleNamespace(
        text_tokens=12, finish_reason="eos", malformed=0, mode=SimpleNamespace(value="text"), sampled=40
    )
    out = build_output("", raw, records, state)
    assert [out.text[slice(*r.span)] for r in out.lookups] == ["cartographer", "Marfe Orchestra"]
