"""The lookup grammar: annotated calls, the token format, conversions and the paper's own files."""

from __future__ import annotations

import collections
import json
import logging

import pytest

from lmlm.kg import syntax
from lmlm.kg.syntax import (
    DB_END,
    DB_RETURN,
    DB_SEP,
    DB_START,
    LOOKUP_TOKENS,
    Lookup,
    format_annotated_call,
    from_pretraining_text,
    iter_pretraining_lookups,
    parse_annotated,
    parse_pending_lookup,
    strip_lookups,
    to_pretraining_text,
)
from tests.paper_data import PAPER_DATA

logger = logging.getLogger(__name__)

# A piece of the paper's released generation (examples_LMLM-llama2-382M.json), spacing as released.
RELEASED_RAW = (
    "He was born in <|db_entity|> Ko Itakura<|db_relationship|> Birthplace<|db_return|> Yokohama<|db_end|> "
    "Yokohama on <|db_entity|> Ko Itakura<|db_relationship|> Birth Date<|db_return|> January 27, 1997"
    "<|db_end|> 27th January 1997. His father is from <|db_entity|> Ko Itakura<|db_relationship|> "
    "Father\\'s Origin<|db_return|> Japanese<|db_end|> Japanese. On <|db_entity|> Ko Itakura"
    "<|db_relationship|> First Goal Scored<|db_return|> Uruguay<|db_end|>"
)
RELEASED_TEXT = "He was born in Yokohama on 27th January 1997. His father is from Japanese. On"


def triples(text: str) -> list[tuple[str, str, str]]:
    return [(c.entity, c.relation, c.value) for c in parse_annotated(text).calls]


def test_tokens_are_the_papers_four_in_order():
    assert LOOKUP_TOKENS == ("<|db_entity|>", "<|db_relationship|>", "<|db_return|>", "<|db_end|>")
    assert (DB_START, DB_SEP, DB_RETURN, DB_END) == LOOKUP_TOKENS


# ---------------------------------------------------------------------------------------------
# parse_annotated


def test_parse_simple_call_with_span():
    text = "Born in [dblookup('Ko Itakura', 'Birthplace') -> Yokohama] Yokohama."
    doc = parse_annotated(text)
    assert doc.problems == ()
    (call,) = doc.calls
    assert (call.entity, call.relation, call.value) == ("Ko Itakura", "Birthplace", "Yokohama")
    assert text[call.start : call.end] == "[dblookup('Ko Itakura', 'Birthplace') -> Yokohama]"
    assert call.lookup == Lookup("Ko Itakura", "Birthplace")


@pytest.mark.parametrize(
    "call, expected",
    [
        # apostrophes left unescaped inside single quotes
        ("[dblookup('Carson's Mounds Mall', 'Closure Date') -> April 29, 2018]", ("Carson's Mounds Mall", "Closure Date", "April 29, 2018")),
        ("[dblookup('Sidney Hoedemaker', 'Left Pig 'n Whistle') -> 1949]", ("Sidney Hoedemaker", "Left Pig 'n Whistle", "1949")),
        ("[dblookup('Bengal Film Journalists' Association', 'Founded') -> 1937]", ("Bengal Film Journalists' Association", "Founded", "1937")),
        # escaped quotes: the escape is undone, in names and values
        ("[dblookup('Destiny\\'s Child', 'Members') -> Beyonc\\'e]", ("Destiny's Child", "Members", "Beyonc'e")),
        ("[dblookup('\"Something\\'s Got to Give\"', 'Inspired') -> film \"Pushing Tin\"]", ('"Something\'s Got to Give"', "Inspired", 'film "Pushing Tin"')),
        # double-quoted and mixed arguments, missing spaces
        ("[dblookup(\"Hooke's Law\", 'Describes') -> forces]", ("Hooke's Law", "Describes", "forces")),
        ("[dblookup('Raza Kazim','Grandchildren') -> Ali Noor, Ali Hamza]", ("Raza Kazim", "Grandchildren", "Ali Noor, Ali Hamza")),
        ("[dblookup( 'A' , \"B\" )->C]", ("A", "B", "C")),
        # values holding commas, brackets and arrows
        ("[dblookup('Hexol', 'Formula') -> {[Co(NH3)4(OH)2]3Co}6+]", ("Hexol", "Formula", "{[Co(NH3)4(OH)2]3Co}6+")),
        ("[dblookup('Southern Russian Dialects', 'Feature') -> fricative [ɣ]]", ("Southern Russian Dialects", "Feature", "fricative [ɣ]")),
        ("[dblookup('A', 'Route') -> Paris -> Lyon, then Nice]", ("A", "Route", "Paris -> Lyon, then Nice")),
        ("[dblookup('Haplogroup R1a1a [M17]', 'Speakers') -> Indo-European]", ("Haplogroup R1a1a [M17]", "Speakers", "Indo-European")),
        # a stray bracket between the arguments and the arrow
        ("[dblookup('Euramerica', 'Formation Starting Point')] -> near the equator]", ("Euramerica", "Formation Starting Point", "near the equator")),
    ],
)  # fmt: skip
def test_parse_hard_cases(call, expected):
    text = f"Before {call} after."
    doc = parse_annotated(text)
    assert doc.problems == ()
    assert triples(text) == [expected]
    assert text[doc.calls[0].start : doc.calls[0].end] == call


def test_parse_call_directly_followed_by_text_or_punctuation():
    text = (
        "(1896[dblookup('V', 'Death Date') -> August 7, 1968]August 7, 1968) in [dblookup('L', 'C') -> P], x"
    )
    assert triples(text) == [("V", "Death Date", "August 7, 1968"), ("L", "C", "P")]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("The end [dblookup('Ko Itakura', 'Senior Squad Selection') -> Japan nat", syntax.CUT_OFF),
        ("The end [dblookup('Ko Itaku", syntax.CUT_OFF),
        ("The end [dblookup(", syntax.CUT_OFF),
        ("the two-tentacled (dblookup('Lampea', 'Diet')) -> salps] Lampea", syntax.NO_BRACKET),
        ("x [dblookup(Lampea, 'Diet') -> salps] y", syntax.UNQUOTED),
        ("x [dblookup('Lampea', 'Diet')] feeds on salps.", syntax.NO_ARROW),
        ("x [dblookup('  ', 'Diet') -> salps] y", syntax.EMPTY_FIELD),
        ("x [dblookup('Lampea', 'Diet') -> ] y", syntax.EMPTY_FIELD),
    ],
)
def test_unrecoverable_calls_are_reported_with_doc_and_offset(text, reason):
    doc = parse_annotated(text, doc_id="doc-7")
    assert doc.calls == ()
    (problem,) = doc.problems
    assert problem.reason == reason
    assert problem.doc_id == "doc-7"
    assert problem.offset == text.index("dblookup") - (text[text.index("dblookup") - 1] == "[")
    assert problem.snippet == text[problem.offset :][: len(problem.snippet)]
    assert "doc-7" in problem.describe() and f"char {problem.offset}" in problem.describe()


def test_broken_call_does_not_swallow_the_next_one():
    text = "a [dblookup('A', 'B' -> lost] b [dblookup('C', 'D') -> E] c [dblookup('F', 'G') -> H"
    doc = parse_annotated(text, "d")
    assert triples(text) == [("C", "D", "E")]
    assert [p.offset for p in doc.problems] == [2, text.rindex("[dblookup")]
    assert [p.reason for p in doc.problems] == [syntax.UNTERMINATED_RELATION, syntax.CUT_OFF]


def test_every_opener_is_a_call_or_a_problem():
    text = "[dblookup('A', 'B') -> C] [dblookup('D' [dblookup('E', 'F') -> G] dblookup('H', 'I') -> J]"
    doc = parse_annotated(text)
    assert len(doc.calls) + len(doc.problems) == text.count("dblookup(") == 4
    assert len(doc.calls) == 2


# ---------------------------------------------------------------------------------------------
# Conversions


def test_to_pretraining_text_uses_the_released_spacing():
    annotated = "born in [dblookup('Ko Itakura', 'Birthplace') -> Yokohama] Yokohama on"
    assert to_pretraining_text(annotated) == (
        "born in <|db_entity|> Ko Itakura<|db_relationship|> Birthplace<|db_return|> Yokohama<|db_end|> Yokohama on"
    )


def test_released_generation_converts_and_strips_like_the_paper():
    annotated = from_pretraining_text(RELEASED_RAW)
    assert "[dblookup('Ko Itakura', 'Father\\'s Origin') -> Japanese] Japanese." in annotated
    # back to tokens: identical to the release but for the escaped apostrophe the model copied
    assert to_pretraining_text(annotated) == RELEASED_RAW.replace("\\'", "'")
    assert strip_lookups(RELEASED_RAW) == RELEASED_TEXT
    assert strip_lookups(annotated) == RELEASED_TEXT


TRICKY_NAMES = [
    "Destiny's Child",
    'say "hi"',
    "back\\slash\\",
    "\\'already escaped\\'",
    "`code` {braces} (parens)",
    "unbalanced ] bracket [",
    "[balanced [nested]]",
    "a', 'b') -> c]",
    "line\nbreak\ttab",
    "emoji 🧠🚀 and ünïcödé",
    "x" * 10_000,
]


@pytest.mark.parametrize("name", TRICKY_NAMES, ids=range(len(TRICKY_NAMES)))
def test_tricky_names_survive_both_formats(name):
    annotated = f"Some {format_annotated_call(name, 'rel ' + name, name)} words."
    assert triples(annotated) == [(name, "rel " + name, name)]
    tokens = to_pretraining_text(annotated)
    raw = name.replace("\\'", "'")  # the token format is raw but for \', which it undoes by design
    expected = [(raw, "rel " + raw, raw)]
    assert [(c.entity, c.relation, c.value) for c in iter_pretraining_lookups(tokens)] == expected
    assert triples(from_pretraining_text(tokens)) == expected
    assert strip_lookups(annotated) == strip_lookups(tokens) == "Some words."


def test_unparsed_calls_are_left_as_written():
    text = "a [dblookup('A', 'B') -> C] b [dblookup('D'"
    assert to_pretraining_text(text) == f"a {DB_START} A{DB_SEP} B{DB_RETURN} C{DB_END} b [dblookup('D'"
    assert strip_lookups(text) == "a b [dblookup('D'"


# ---------------------------------------------------------------------------------------------
# strip_lookups


def test_strip_recovers_the_words_of_an_annotated_text():
    raw = "Will Gluck (born November 7, 1978) is an American film director.\n\nHe is the son of Carol Gluck."
    annotated = (
        "Will Gluck (born [dblookup('Will Gluck', 'Birth Date') -> November 7, 1978] November 7, 1978) is an "
        "[dblookup('Will Gluck', 'Nationality') -> American] American [dblookup('Will Gluck', 'Occupation') -> "
        "film director] film director.\n\nHe is the son of [dblookup('Will Gluck', 'Mother') -> Carol Gluck] "
        "Carol Gluck."
    )
    assert strip_lookups(annotated) == raw


def test_strip_drops_the_whitespace_before_a_lookup_that_ends_the_text():
    assert (
        strip_lookups("It was first published in [dblookup('B', 'Year') -> 1976]")
        == "It was first published in"
    )
    assert strip_lookups(f"He was se- lected for the {DB_START} Ko{DB_SEP} Squad{DB_RETURN}") == (
        "He was se- lected for the"
    )


def test_strip_leaves_no_token_behind():
    text = f"a {DB_START} X{DB_END} b {DB_END} c {DB_START} A{DB_SEP} R{DB_RETURN} V{DB_END} d {DB_START} Y"
    stripped = strip_lookups(text)
    assert not any(token in stripped for token in LOOKUP_TOKENS)
    assert stripped.split() == ["a", "b", "c", "d"]


def test_strip_keeps_plain_text():
    text = "No lookups here [1], just brackets -> and 'quotes'."
    assert strip_lookups(text) == text


# ---------------------------------------------------------------------------------------------
# Token format


def test_iter_pretraining_lookups_spans_and_whitespace():
    text = (
        f"x {DB_START}A{DB_SEP}R{DB_RETURN}V{DB_END} y {DB_START}  B \n{DB_SEP} S  {DB_RETURN}  W {DB_END} z"
    )
    calls = list(iter_pretraining_lookups(text))
    assert [(c.entity, c.relation, c.value) for c in calls] == [("A", "R", "V"), ("B", "S", "W")]
    assert all(
        text[c.start : c.end].startswith(DB_START) and text[c.start : c.end].endswith(DB_END) for c in calls
    )


def test_iter_pretraining_lookups_skips_malformed_ones():
    text = (
        f"{DB_START} A{DB_RETURN} V{DB_END} "  # no separator
        f"{DB_START} {DB_SEP} R{DB_RETURN} V{DB_END} "  # empty entity
        f"{DB_START} B{DB_SEP} S{DB_RETURN} W{DB_END} "
        f"{DB_START} C{DB_SEP} T{DB_RETURN}"  # still open
    )
    assert [c.lookup for c in iter_pretraining_lookups(text)] == [Lookup("B", "S")]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"born in {DB_START} Ko Itakura{DB_SEP} Birthplace{DB_RETURN}", Lookup("Ko Itakura", "Birthplace")),
        (f"x{DB_START}A{DB_SEP}R{DB_RETURN}  \n", Lookup("A", "R")),
        (f"{DB_START} A{DB_SEP} R{DB_RETURN} V{DB_END} then {DB_START} B{DB_SEP} Father\\'s Origin{DB_RETURN}", Lookup("B", "Father's Origin")),
        (f"{DB_START} A{DB_SEP} R{DB_RETURN} V{DB_END}", None),  # already answered
        (f"{DB_START} A{DB_SEP} R{DB_RETURN} V", None),  # answer being written
        (f"{DB_START} A{DB_RETURN}", None),  # no separator
        (f"{DB_START} {DB_SEP} R{DB_RETURN}", None),  # empty entity
        (f"{DB_START} A{DB_SEP} {DB_RETURN}", None),  # empty relation
        (f"{DB_START} A {DB_START} B{DB_SEP} R{DB_RETURN}", None),  # nested opener
        (f"{DB_START} A{DB_SEP} B{DB_SEP} R{DB_RETURN}", None),  # two separators
        (f"{DB_SEP} R{DB_RETURN}", None),  # never opened
        ("plain text", None),
        ("", None),
    ],
)  # fmt: skip
def test_parse_pending_lookup(text, expected):
    assert parse_pending_lookup(text) == expected


# ---------------------------------------------------------------------------------------------
# The paper's files


def _paper_examples():
    if not PAPER_DATA.is_dir():
        pytest.skip(f"{PAPER_DATA} is absent")
    for path in sorted(PAPER_DATA.glob("*_cleaned.json")):
        for i, example in enumerate(json.loads(path.read_text(encoding="utf-8"))["examples"]):
            yield path.name, i, example


def test_paper_files_calls_recovered_and_standard_text():
    """>= 99.5% of the calls recovered; every other one reported; the Standard text as the raw text.

    The annotators rewrote some passages (the dwiki files drop the title line; GPT-4o rewords here
    and there), so the stripped text can only equal the raw text where they did not: the floors
    below hold the rates measured when this test was written (squad-train1k 509/990).
    """
    recovered, reasons = 0, collections.Counter()
    matches = collections.Counter()
    totals = collections.Counter()
    for name, i, example in _paper_examples():
        annotated = example["annotated_text"]
        doc = parse_annotated(annotated, f"{name}[{i}]")
        assert len(doc.calls) + len(doc.problems) == annotated.count("dblookup(")
        recovered += len(doc.calls)
        reasons.update(p.reason for p in doc.problems)
        stripped = strip_lookups(annotated)
        assert strip_lookups(to_pretraining_text(annotated)) == stripped
        totals[name] += 1
        matches[name] += stripped == example["text"]
    total = recovered + sum(reasons.values())
    logger.info("recovered %d of %d calls; problems %s; standard text %s", recovered, total, reasons, matches)
    assert total > 14_000
    assert recovered / total >= 0.995
    assert matches["squad-train1k_chatgpt_gpt4o-v7.1_cleaned.json"] >= 500
    assert sum(matches.values()) / sum(totals.values()) >= 0.30
