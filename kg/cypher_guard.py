"""What a read-only user query (``lmlm kg cypher`` without ``--write``, ``run_cypher(write=False)``,
the app's query page) may do, checked before it reaches the server.

A read transaction stops a query from writing to the graph, but not from reading files on the server
(``LOAD CSV FROM 'file:///...'``), calling procedures that act on the server (``db.clearQueryCaches()``,
``dbms.*``), committing on its own (``CALL { ... } IN TRANSACTIONS``), switching database (``USE``)
or ending other sessions' transactions (``TERMINATE TRANSACTIONS``). The check is conservative: it
reads the query with its comments and string literals blanked out and refuses any of these, and any
``CALL`` of a procedure that is not on :data:`READ_ONLY_PROCEDURES`, even where the server would
have refused it too. Functions are not restricted: Neo4j's own have no side effects (a server with
plugins that add some should not take user queries from people it does not trust). With ``write``
nothing is refused here: the server's own settings (``server.directories.import``) then limit what
``LOAD CSV`` may read.
"""

from __future__ import annotations

import re

from .errors import QueryRefusedError

# Procedures that only read the schema or query an index; compared case-insensitively.
READ_ONLY_PROCEDURES = frozenset(
    name.lower()
    for name in (
        "db.labels",
        "db.relationshipTypes",
        "db.propertyKeys",
        "db.schema.visualization",
        "db.schema.nodeTypeProperties",
        "db.schema.relTypeProperties",
        "db.index.fulltext.queryNodes",
        "db.index.fulltext.queryRelationships",
        "dbms.components",
    )
)

_FORBIDDEN = (
    (re.compile(r"\bLOAD\s+CSV\b", re.I), "uses LOAD CSV, which reads files on the server"),
    (
        re.compile(r"\bIN\s+(?:\S+\s+){0,2}TRANSACTIONS\b", re.I),
        "runs IN TRANSACTIONS, which commits on its own",
    ),
    (re.compile(r"(?:^|\{|\bUNION(?:\s+ALL)?)\s*USE\b", re.I), "switches database with USE"),
    (re.compile(r"\bTERMINATE\s+TRANSACTIONS?\b", re.I), "terminates transactions"),
)
_CALL = re.compile(r"\bCALL\b\s*", re.I)
_PROCEDURE_NAME = re.compile(r"[A-Za-z_][\w$]*(?:\s*\.\s*[A-Za-z_][\w$]*)*")


def refuse_unsafe_read_query(query: str) -> None:
    """Raise QueryRefusedError if a read-only ``query`` does any of what the module docstring lists."""
    code = code_only(query)
    for pattern, reason in _FORBIDDEN:
        if pattern.search(code):
            _refuse(reason)
    for call in _CALL.finditer(code):
        rest = code[call.end() :]
        if rest.startswith(("{", "(")):  # a subquery: CALL { ... } or CALL (x) { ... }
            continue
        name = _PROCEDURE_NAME.match(rest)
        procedure = re.sub(r"\s+", "", name.group(0)) if name else rest[:40].strip()
        if procedure.lower() not in READ_ONLY_PROCEDURES:
            allowed = ", ".join(sorted(READ_ONLY_PROCEDURES))
            _refuse(f"calls the procedure {procedure!r}, which is not one of the read-only ones ({allowed})")


def code_only(query: str) -> str:
    """The query with comments and string literals blanked out and backquoted names unquoted (their
    other characters as ``_``), so that nothing inside them is taken for a keyword."""
    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        if query.startswith("//", i):
            end = query.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif query[i] in "'\"":
            i = _string_end(query, i)
            out.append(" '' ")
        elif query[i] == "`":
            end = i + 1
            while end < n and not (query[end] == "`" and not query.startswith("``", end)):
                end += 2 if query.startswith("``", end) else 1
            out.append(re.sub(r"[^\w.$]", "_", query[i + 1 : end]) or "_")
            i = end + 1
        else:
            out.append(query[i])
            i += 1
    return "".join(out)


def _string_end(query: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (backslash escapes; unterminated: the end)."""
    quote, i = query[start], start + 1
    while i < len(query) and query[i] != quote:
        i += 2 if query[i] == "\\" else 1
    return i + 1


def _refuse(reason: str) -> None:
    raise QueryRefusedError(
        f"refused: the query {reason}. Read-only queries may not; run it with write access "
        "(`lmlm kg cypher --write`, run_cypher(write=True)) if you mean to"
    )
