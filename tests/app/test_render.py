"""Text from the store as Markdown that shows exactly that text; outputs with their lookups marked;
the word diff behind the before/after view."""

from __future__ import annotations

import re

import pytest

from lmlm.app.render import escape_markdown, escape_title, fact_url, output_markdown
from lmlm.model.results import GenerationOutput, LookupRecord
from lmlm.model.text_diff import diff_texts
from tests.app.conftest import HOSTILE

_UNESCAPE = re.compile(r"\\(.)")


def _visible(markdown: str) -> str:
    """What CommonMark shows for text escaped by escape_markdown: escapes resolved, joiners dropped."""
    return _UNESCAPE.sub(r"\1", markdown).replace("\u2060", "").replace("  \n", "\n")


@pytest.mark.parametrize("text", [*HOSTILE, "a\\b <- -> ~= 1. item", "x" * 10_000, "line one\nline two"])
def test_escaped_text_has_no_markdown_or_html_left_and_shows_as_written(text):
    escaped = escape_markdown(text)
    assert _visible(escaped) == text
    # every Markdown, HTML and Streamlit directive character is escaped
    assert not re.search(r"(?<!\\)[<>*_`\[\]()$:&#|~]", escaped.replace("\\\\", ""))
    assert ":tada:" not in escaped.replace("\\", "")  # no emoji shortcode survives
    assert "\n" not in escaped.replace("  \n", "")


def test_link_titles_escape_quotes_and_backslashes():
    assert escape_title('say "hi" \\ there\nnow') == 'say \\"hi\\" \\\\ there now'
    assert fact_url("<b>Ko & Itakura</b>", "f1") == "facts?entity=%3Cb%3EKo+%26+Itakura%3C%2Fb%3E&fact=f1"


def _output(text: str, records: list[LookupRecord]) -> GenerationOutput:
    return GenerationOutput("Ko was born in", "", text, tuple(records), 5, "eos")


def test_output_marks_each_looked_up_value_by_path_with_its_lookup_in_the_hover():
    exact = LookupRecord(
        "Ko", "Place of birth", "Yokohama", "exact", 1.0, "f123", "Ko", "Place of birth", (1, 9)
    )
    fuzzy = LookupRecord("Ko", "job", "<b>chef</b>", "fuzzy", 0.7, "f9", "Ko", "Occupation", (23, 34))
    md = output_markdown(_output(" Yokohama and works as <b>chef</b>.", [exact, fuzzy]))
    assert md.startswith("**Ko was born in**")
    assert (
        ':green-background[[Yokohama](facts?entity=Ko&fact=f123 "Ko | Place of birth = Yokohama (exact: found exactly'
        in md
    )
    assert "score 1.00, fact f123" in md
    assert ":orange-background[[\\<b\\>chef\\</b\\>](facts?entity=Ko&fact=f9" in md
    assert "matched Ko | Occupation" in md


def test_changed_spans_are_marked_and_spaces_stay_outside_the_markup():
    out = _output(" lives in Oslo now", [])
    diff = diff_texts(" lives in Paris now", out.text)
    assert diff.added == ((10, 14),) and diff.removed == ((10, 15),)
    md = output_markdown(out, diff.added)
    assert md.endswith(" lives in :blue[**Oslo**] now")


def test_the_diff_of_equal_texts_marks_nothing_and_word_changes_are_whole_words():
    assert not diff_texts("a b c", "a b c").changed
    diff = diff_texts("born in 1970 in Lisbon.", "born in 1971 in Porto, Spain.")
    assert [diff.after[a:b] for a, b in diff.added] == ["1971", "Porto, Spain"]
    assert [diff.before[a:b] for a, b in diff.removed] == ["1970", "Lisbon"]
