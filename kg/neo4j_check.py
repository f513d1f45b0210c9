"""``check()`` on Neo4j: the invariants of the graph model (see :mod:`lmlm.kg.neo4j_store`).

Most are one query each that finds a kind of problem (first ``CHECK_LIMIT`` of each). What only Python
can check (a fact's id against its triple, the stored keys against the display strings, the nodes'
key hashes) is read once, one page of facts at a time: reading every fact is most of the time
``check`` takes, so it happens in one pass.
"""

from __future__ import annotations

from collections.abc import Callable

from .facts import fact_id_from_keys, normalize_key
from .neo4j_tx import COUNTERS, key_hash

CHECK_LIMIT = 20  # problems listed per kind
PAGE = 10_000  # facts read per query

Read = Callable[..., list[dict]]  # Neo4jStore._read: a query file's name and parameters -> records

# a query that finds one kind of problem, and how to say each one
_CHECKS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("find_duplicate_fact_ids", lambda r: f"fact id {r['id']} is stored {r['n']} times"),
    (
        "find_malformed_facts",
        lambda r: f"FACT {r['element_id']} (id {r['id']}) lacks a property or does not join two Entity nodes",
    ),
    ("find_orphan_entities", lambda r: f"entity node {short(r['name'])} has no facts and no aliases"),
    (
        "find_bad_aliases",
        lambda r: f"alias {short(r['alias'])} points to {r['targets']} entities instead of one",
    ),
    (
        "find_alias_chains",
        lambda r: f"alias {short(r['alias'])} points to {short(r['entity'])}, which is itself an alias",
    ),
    (
        "find_facts_without_change",
        lambda r: f"fact {r['id']} names change {r['change_id']}, which is not in the log",
    ),
)


def check_graph(read: Read) -> list[str]:
    """The problems the server finds by itself: one query per kind, and the counters."""
    problems = [describe(r) for name, describe in _CHECKS for r in read(name, limit=CHECK_LIMIT)]
    [c] = read("find_counter_state", name=COUNTERS)
    for what, nxt, top in (
        ("change id", c["next_change"], c["max_change"]),
        ("seq", c["next_seq"], c["max_seq"]),
    ):
        if top is not None and (nxt is None or nxt <= top):
            problems.append(f"the {what} counter ({nxt}) is not above the largest {what} in use ({top})")
    return problems


def check_fact_rows(read: Read) -> list[str]:
    """Every fact once, in seq order: its id against its triple, its stored relation key against its
    relation, and its two nodes' keys and key hashes against its entity and value."""
    problems: list[str] = []
    after = 0
    while len(problems) < CHECK_LIMIT and (rows := read("find_fact_keys_page", after=after, limit=PAGE)):
        for r in rows:
            problems += _row_problems(r)
        after = rows[-1]["seq"]
    return problems[:CHECK_LIMIT]


def _row_problems(r: dict) -> list[str]:
    if r["entity"] is None or r["relation"] is None or r["value"] is None:
        return []  # a malformed fact: find_malformed_facts names it
    ek, rk, vk = normalize_key(r["entity"]), normalize_key(r["relation"]), normalize_key(r["value"])
    out = (
        [f"fact {r['id']} has an id that does not match its triple"]
        if fact_id_from_keys(ek, rk, vk) != r["id"]
        else []
    )
    checks = (
        ("relation key", rk, r["relation_key"]),
        ("entity node key", ek, r["ekey"]),
        ("value node key", vk, r["vkey"]),
        ("entity node hash", key_hash(r["ekey"] or ""), r["ekh"]),
        ("value node hash", key_hash(r["vkey"] or ""), r["vkh"]),
    )
    return out + [
        f"fact {r['id']}: {what} {short(got)} should be {short(want)}"
        for what, want, got in checks
        if want != got
    ]


def short(text: str | None, width: int = 80) -> str:
    text = repr(text)
    return text if len(text) <= width else text[: width - 5] + "...'"
