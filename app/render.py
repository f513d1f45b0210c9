"""Text from the store and the model, made safe for Streamlit's Markdown.

Nothing is ever rendered as HTML (the app never passes ``unsafe_allow_html``): Streamlit escapes
HTML tags in Markdown, and :func:`escape_markdown` escapes the Markdown syntax itself, so a fact
named ``<script>`` or ``**x**`` or ``:red[x]`` shows exactly as written. Looked-up values are
marked with Streamlit's ``:color-background[...]`` syntax around the escaped text, and carry a
link to the fact whose title (shown on hover) says where the value came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from lmlm.model import GenerationOutput, LookupRecord

Span = tuple[int, int]

PATH_COLORS = {
    "exact": "green",
    "fuzzy": "orange",
    "miss": "red",
    "model": "gray",
    "error": "violet",
    "unwritten": "red",
}
PATH_HELP = {
    "exact": "found exactly in the store",
    "fuzzy": "found through the fuzzy index (a near key)",
    "miss": "not in the store",
    "model": "written by the model from its weights (lookups off)",
    "error": "the lookup failed",
    "invalid": "a malformed lookup",
    "unwritten": "not asked: its entity is not written before it (entities-from-context)",
}
FACTS_PAGE = "facts"  # the Facts page's url path: a value's link opens its fact there

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; these start Markdown syntax
# (and Streamlit's :color[...], $math$ and "<-" arrows).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&=\"'^])")
# Streamlit turns :shortcode: into emoji and icons after escapes are resolved, so a word joiner
# goes after the first colon of anything that looks like one.
_SHORTCODE = re.compile(r"(?<=:)(?=[\w+\-/]+:)")
_WORD_JOINER = "\u2060"
_NEWLINES = re.compile(r"\r\n?|\n")


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that displays exactly ``text`` (line breaks kept as breaks)."""
    text = _SHORTCODE.sub(_WORD_JOINER, text)
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return _NEWLINES.sub("  \n", escaped)


def escape_title(text: str) -> str:
    """``text`` inside a Markdown link title ("..."): only quotes and backslashes matter there."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def fact_url(entity: str, fact_id: str | None = None) -> str:
    """The Facts page opened on ``entity`` (and ``fact_id``), relative to the app's root."""
    query = {"entity": entity} | ({"fact": fact_id} if fact_id else {})
    return f"{FACTS_PAGE}?{urlencode(query)}"


def lookup_title(record: LookupRecord) -> str:
    """What a value's hover says: the lookup, how it was answered, its score and its fact."""
    asked = f"{record.entity} | {record.relation}"
    matched = f"{record.matched_entity} | {record.matched_relation}"
    value = "no value" if record.value is None else record.value
    text = f"{asked} = {value} ({record.path}: {PATH_HELP.get(record.path, record.path)}), score {record.score:.2f}"
    if record.path == "fuzzy" and record.matched_entity:
        text += f", matched {matched}"
    if record.fact_id:
        text += f", fact {record.fact_id}"
    return text


def output_markdown(output: GenerationOutput, marks: Sequence[Span] = (), *, links: bool = True) -> str:
    """The prompt (bold) and the output's clean text, each looked-up value highlighted by its path
    with a hover title and a link to its fact; ``marks`` (changed spans) are underlined in bold."""
    spans = {r.span: r for r in output.lookups if r.span is not None and r.span[0] < r.span[1]}
    text = output.text
    cuts = sorted({0, len(text), *(i for s in spans for i in s), *(i for m in marks for i in m)})
    pieces = [f"**{escape_markdown(output.prompt.strip())}**" if output.prompt.strip() else ""]
    for start, end in zip(cuts, cuts[1:]):
        record = next((r for (a, b), r in spans.items() if a <= start and end <= b), None)
        marked = any(a <= start and end <= b for a, b in marks)
        pieces.append(_styled(text[start:end], record, marked, links))
    return "".join(pieces)


def _styled(piece: str, record: LookupRecord | None, marked: bool, links: bool) -> str:
    """One piece of text with its style; spaces at its ends stay outside the markup."""
    core = piece.strip()
    if not core or (record is None and not marked):
        return escape_markdown(piece)
    lead, tail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
    body = escape_markdown(core)
    if marked:
        body = f"**{body}**"
    if record is not None:
        if links and record.fact_id:
            body = f'[{body}]({fact_url(record.matched_entity or record.entity, record.fact_id)} "{escape_title(lookup_title(record))}")'
        body = f":{PATH_COLORS.get(record.path, 'gray')}-background[{body}]"
    if marked:
        body = f":blue[{body}]"
    return f"{escape_markdown(lead)}{body}{escape_markdown(tail)}"


def lookup_rows(outputs: Iterable[GenerationOutput]) -> list[dict]:
    """One row per lookup, for a table beside the text."""
    return [
        {
            "prompt": i + 1,
            "entity": r.entity,
            "relation": r.relation,
            "value": r.value,
            "path": r.path,
            "score": round(r.score, 3),
            "fact_id": r.fact_id,
            "matched": f"{r.matched_entity} | {r.matched_relation}" if r.matched_entity else None,
        }
        for i, out in enumerate(outputs)
        for r in out.lookups
    ]


def legend() -> str:
    return "  ".join(
        f":{color}-background[{path}]"
        for path, color in PATH_COLORS.items()
        if path in ("exact", "fuzzy", "miss")
    )


def short(text: str, width: int = 60) -> str:
    """A label for a node or a button: long names cut, with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
