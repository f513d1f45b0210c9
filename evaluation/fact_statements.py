"""Where the facts in generated text come from: an exact lookup, another lookup, or the weights.

For each output, the facts it states are (a) its lookups and (b) every known value of the
knowledge graph (a place, an organisation, a date, a person, ...) written in the clean text
outside the spans that lookups produced and not after a lookup of the same value in the same
output: a fact the model wrote from its weights. A value written before a later lookup of it
counts against the model (the lookup did not put it there). The headline figure, ``exact_share``, is the share of
stated facts that came through a lookup whose entity and relation resolve exactly in the store;
``faithful_share`` also asks that the words after the lookup repeat its value (after an article), and
``subject_share`` that the lookup is about the person the prompt names (not a look-alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class FactStatementReport:
    outputs: int
    stated: int
    lookups: int
    exact_lookups: int
    fuzzy_lookups: int
    missed_lookups: int
    unlooked_values: int
    exact_copied: int
    subject_exact: int
    exact_share: float
    faithful_share: float
    subject_share: float
    lookups_per_output: float
    examples_unlooked: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _vocabulary_pattern(values: Iterable[str]) -> re.Pattern | None:
    words = sorted({v.strip() for v in values if len(v.strip()) >= 3}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


_ARTICLE = re.compile(r"(?:an?|the) ", re.IGNORECASE)


def _copies(text: str, pos: int, value: str) -> bool:
    """Whether the words at ``pos`` repeat ``value`` (after an article: ``an engineer``, ``the
    Kalo Institute``) up to a word boundary."""
    article = _ARTICLE.match(text, pos)
    start = article.end() if article and not value.lower().startswith(article.group(0).lower()) else pos
    end = start + len(value)
    return text[start:end].lower() == value.lower() and not text[end : end + 1].isalnum()


def score_fact_statements(
    outputs: Sequence, subjects: Sequence[str], known_values: Iterable[str], *, max_examples: int = 10
) -> FactStatementReport:
    """``outputs`` are ``GenerationOutput`` s, ``subjects`` the person each prompt is about (their
    name is the subject, not a fact), ``known_values`` every value in the knowledge graph."""
    pattern = _vocabulary_pattern(known_values)
    lookups = exact = fuzzy = missed = unlooked = copied = about_subject = 0
    examples: list[dict] = []
    for output, subject in zip(outputs, subjects):
        spans = [r.span for r in output.lookups if r.span]
        # each looked-up value with where its lookup stands (the words after it start there)
        looked_up = [((r.value or "").strip().lower(), r.span[0]) for r in output.lookups if r.span]
        for record in output.lookups:
            lookups += 1
            exact += record.path == "exact"
            if record.path == "exact" and record.span and record.value:
                copied += _copies(output.text, record.span[0], record.value.strip())
            about_subject += record.path == "exact" and record.entity == subject
            fuzzy += record.path == "fuzzy"
            missed += record.path not in ("exact", "fuzzy")
        if pattern is None:
            continue
        for match in pattern.finditer(output.text):
            word = match.group(0)
            if word == subject or any(v == word.lower() and at <= match.start() for v, at in looked_up):
                continue
            if any(start <= match.start() < end for start, end in spans):
                continue
            unlooked += 1
            if len(examples) < max_examples:
                examples.append({"prompt": output.prompt, "value": word, "text": output.text})
    stated = lookups + unlooked
    return FactStatementReport(
        outputs=len(outputs),
        stated=stated,
        lookups=lookups,
        exact_lookups=exact,
        fuzzy_lookups=fuzzy,
        missed_lookups=missed,
        unlooked_values=unlooked,
        exact_copied=copied,
        subject_exact=about_subject,
        exact_share=round(exact / stated, 4) if stated else 0.0,
        faithful_share=round(copied / stated, 4) if stated else 0.0,
        subject_share=round(about_subject / lookups, 4) if lookups else 0.0,
        lookups_per_output=round(lookups / len(outputs), 3) if outputs else 0.0,
        examples_unlooked=examples,
    )
