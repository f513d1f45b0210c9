"""The Neo4j store's Cypher: one parameterised query per file in the ``lmlm.cypher`` package.

Queries are read from package data (``importlib.resources``), so they ship with a plain
``pip install`` as well as an editable one. Code names a query by its file stem, verb first:
``load_query("match_facts_by_keys")``. Values always travel as ``$parameters``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

PACKAGE = "lmlm.cypher"
SUFFIX = ".cypher"

# A statement ends with ';' at the end of a line (schema files hold several statements).
_STATEMENT_END = re.compile(r";[ \t]*(?:\r?\n|$)")


def all_query_names() -> list[str]:
    """Stems of every ``.cypher`` file in the package, sorted."""
    return sorted(
        p.name[: -len(SUFFIX)] for p in resources.files(PACKAGE).iterdir() if p.name.endswith(SUFFIX)
    )


@cache
def load_query(name: str) -> str:
    """The text of ``cypher/<name>.cypher``. Raises ValueError naming the known queries if there is none."""
    path = resources.files(PACKAGE).joinpath(name + SUFFIX)
    if not path.is_file():
        known = ", ".join(all_query_names())
        raise ValueError(f"no Cypher query named {name!r} in {PACKAGE} (known: {known})")
    return path.read_text(encoding="utf-8")


def load_statements(name: str) -> list[str]:
    """The statements of a file that holds several, split at a ';' that ends a line.

    Chunks made only of ``//`` comment lines are dropped. The files this is used for hold schema
    commands, which contain no string literals that could hide a ';'.
    """
    statements = []
    for chunk in _STATEMENT_END.split(load_query(name)):
        code = [line for line in chunk.splitlines() if line.strip() and not line.strip().startswith("//")]
        if code:
            statements.append("\n".join(code))
    return statements
