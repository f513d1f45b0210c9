"""Saved example queries for the Cypher page (package data: one parameterised .cypher file each).

A file starts with ``// title: ...`` and ``// params: {JSON}`` (the parameters and their example
values); the rest is the query. Values are always ``$parameters``, never spliced into the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

PACKAGE = "lmlm.app.cookbook"
SUFFIX = ".cypher"


@dataclass(frozen=True)
class Recipe:
    name: str  # the file's stem
    title: str
    params: dict
    query: str  # the whole file, comments included


@cache
def recipes() -> tuple[Recipe, ...]:
    """Every saved query, by file name."""
    files = sorted(p for p in resources.files(PACKAGE).iterdir() if p.name.endswith(SUFFIX))
    return tuple(parse_recipe(p.name[: -len(SUFFIX)], p.read_text(encoding="utf-8")) for p in files)


def parse_recipe(name: str, text: str) -> Recipe:
    """A recipe from its file; ValueError naming the file when its header is missing or bad."""
    header = {}
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        field, _, value = line[2:].strip().partition(":")
        header.setdefault(field.strip(), value.strip())
    if "title" not in header or "params" not in header:
        raise ValueError(f"{name}{SUFFIX}: needs '// title: ...' and '// params: {{...}}' lines at the top")
    try:
        params = json.loads(header["params"])
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}{SUFFIX}: params line is not JSON: {e.msg}") from e
    if not isinstance(params, dict):
        raise ValueError(f"{name}{SUFFIX}: params must be a JSON object")
    return Recipe(name, header["title"], params, text)
