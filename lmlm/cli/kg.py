"""``lmlm kg ...``: the knowledge graph from the shell.

``--store`` takes a directory (the embedded store) or a ``bolt://``/``neo4j://`` URI (Neo4j, with
``NEO4J_USER``/``NEO4J_PASSWORD`` from the environment); default ``$LMLM_STORE`` or
``$LMLM_HOME/kg``. Exact lookups never load the embedding model.

Only ``import`` and ``set`` create a store that does not exist (and remove it again when they fail
before storing anything: a bad first file leaves no empty store behind); every other command (the reads,
and the edits that need facts to act on: forget, merge, undo, clear, index) refuses one with an error
naming the path, so a mistyped ``--store`` is never an empty store that answers "miss". A store whose
files cannot be written is read as usual; a command that would write to it says that it is read-only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from lmlm.cli.common import (
    add_command,
    add_dataclass_arguments,
    add_output_flags,
    dataclass_from_args,
    emit,
    print_json,
)
from lmlm.kg.errors import KnowledgeStoreError
from lmlm.kg.formats import FORMATS
from lmlm.kg.knowledge_graph import (
    AUTO_COMPRESS_FACTS,
    INDEX_KINDS,
    KnowledgeGraph,
    default_store_location,
    is_neo4j_uri,
)
from lmlm.kg.resolver import ResolverConfig
from lmlm.kg.store import Change
from lmlm.kg.vector_index import COMPRESSED_KIND

INDEX_KIND_HELP = (
    f"kind of a newly built fuzzy index: auto (flat, exact search, below {AUTO_COMPRESS_FACTS:,} facts; "
    f"the compressed {COMPRESSED_KIND} from there), flat, or {COMPRESSED_KIND} (alias compressed). "
    "A saved index keeps its kind until `index --rebuild`"
)


def register(groups) -> None:
    kg = groups.add_parser("kg", help="the knowledge graph: import, look up, edit, forget, export")
    kg.add_argument("--store", default=None, help="store directory or bolt://, neo4j:// URI")
    kg.add_argument("--index-kind", choices=INDEX_KINDS, default="auto", help=INDEX_KIND_HELP)
    add_output_flags(kg, top=True)
    commands = kg.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        return add_command(commands, name, func, help)

    p = command("import", cmd_import, "import triples: paper database JSON, annotated documents, JSONL, CSV")
    p.add_argument("files", nargs="+")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: told by extension and content")
    p.add_argument("--lenient", action="store_true", help="skip lookup calls that cannot be parsed (listed)")
    p.add_argument(
        "--no-index",
        action="store_true",
        help="do not update the fuzzy index now (it catches up on first fuzzy use)",
    )

    p = command("lookup", cmd_lookup, "resolve ENTITY RELATION: exact, then fuzzy, then the fallback")
    p.add_argument("entity")
    p.add_argument("relation")
    add_dataclass_arguments(p, ResolverConfig, exclude=("cache_size",))
    p.add_argument("--all", action="store_true", help="list every stored value, newest first")

    p = command("set", cmd_set, "set ENTITY RELATION VALUE (replaces other values unless --add)")
    p.add_argument("entity")
    p.add_argument("relation")
    p.add_argument("value")
    p.add_argument("--add", action="store_true", help="keep the other values beside the new one")
    p.add_argument("--source", default=None)

    p = command("forget", cmd_forget, "forget ENTITY [RELATION], or one fact with --fact-id")
    p.add_argument("entity", nargs="?")
    p.add_argument("relation", nargs="?")
    p.add_argument("--fact-id", default=None)
    p.add_argument(
        "--include-values", action="store_true", help="also forget facts where ENTITY is the value"
    )
    p.add_argument(
        "--audit", action="store_true", help="list remaining facts whose keys are near the forgotten ones"
    )
    p.add_argument("--audit-threshold", type=float, default=0.6)

    p = command("merge", cmd_merge, "merge OTHER into KEEP: OTHER's facts move, OTHER stays as an alias")
    p.add_argument("keep")
    p.add_argument("other")

    p = command("history", cmd_history, "the change log, newest first")
    p.add_argument("--limit", type=int, default=20)
    p = command("undo", cmd_undo, "undo a change (as a new change)")
    p.add_argument("change_id", type=int)

    p = command("export", cmd_export, "export every fact: .json (the paper's database format) or .jsonl")
    p.add_argument("file")
    p.add_argument("--format", choices=["database", "jsonl"], default=None)

    command("stats", cmd_stats, "counts of facts, entities, relations, aliases, changes")
    p = command("check", cmd_check, "check the store's invariants and that the fuzzy index agrees with it")
    p.add_argument("--repair", action="store_true", help="rebuild the fuzzy index if it disagrees")

    p = command("entities", cmd_entities, "search entity names")
    p.add_argument("--search", required=True)
    p.add_argument("--prefix", action="store_true", help="match the start of names (default: anywhere)")
    p.add_argument("--limit", type=int, default=20)

    p = command("facts", cmd_facts, "list an entity's facts")
    p.add_argument("entity")
    p.add_argument("--include-values", action="store_true", help="also facts where it is the value")

    p = command("graph", cmd_graph, "an entity's neighbourhood; --graphml writes it for Gephi/yEd")
    p.add_argument("entity")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--graphml", default=None)

    p = command("index", cmd_index, "bring the fuzzy index up to date, or rebuild it")
    p.add_argument("--rebuild", action="store_true")

    from lmlm.evaluation.calibration_args import CalibrateArgs  # light: no numpy at start-up

    p = command(
        "calibrate",
        cmd_calibrate,
        "choose the resolver's thresholds on queries made from this store's facts (reads only)",
    )
    add_dataclass_arguments(p, CalibrateArgs)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

    p = command("cypher", cmd_cypher, "run a Cypher query on a Neo4j store (read-only unless --write)")
    p.add_argument("query")
    p.add_argument("--param", action="append", default=[], metavar="NAME=JSON", help="query parameter")
    p.add_argument("--write", action="store_true")

    p = command("clear", cmd_clear, "delete every fact, alias and change (asks for --yes)")
    p.add_argument("--yes", action="store_true")


def open_graph(args, *, create: bool = False) -> KnowledgeGraph:
    """The graph of ``--store``; only the commands that may create a store pass ``create``."""
    return KnowledgeGraph.open(args.store, create=create, index_kind=args.index_kind)


@contextlib.contextmanager
def graph_to_write(args) -> Iterator[KnowledgeGraph]:
    """``open_graph(args, create=True)`` for ``import`` and ``set``. An embedded store that this
    command made is removed again when the command fails before any change is stored (a mistyped
    or bad file leaves no empty store for later reads to answer "miss" from)."""
    location = args.store or default_store_location()
    made = None if is_neo4j_uri(location) or Path(location).exists() else Path(location)
    try:
        with open_graph(args, create=True) as kg:
            yield kg
    except BaseException:
        if made is not None:
            _remove_if_unused(made)
        raise


def _remove_if_unused(location: Path) -> None:
    try:
        with KnowledgeGraph.open(location, create=False) as kg:
            stats = kg.store.stats()
    except KnowledgeStoreError:
        return
    if stats.facts == 0 and stats.changes == 0:
        shutil.rmtree(location, ignore_errors=True)


def describe_change(change: Change) -> str:
    lines = [f"change {change.id}: {change.summary}"]
    lines += [f"  - {f.entity} | {f.relation} | {f.value}" for f in change.removed[:20]]
    lines += [f"  + {f.entity} | {f.relation} | {f.value}" for f in change.added[:20]]
    lines += [f"  alias {a.alias} -> {a.entity}" for a in change.aliases_added]
    return "\n".join(lines)


def describe_history_line(change: Change) -> str:
    """One line of ``history``: id, op, summary, and whether it was undone or did not finish."""
    line = f"{change.id:>6}  {change.op:<13} {change.summary}"
    if not change.complete:
        line += f"  [{change.progress_note()}; `undo {change.id}` removes it]"
    return line + (f"  [undone by {change.undone_by}]" if change.undone_by else "")


# ---------------------------------------------------------------- commands
def cmd_import(args) -> int:
    with graph_to_write(args) as kg:
        results = kg.import_files(
            args.files, fmt=args.format, progress=not args.json, strict=not args.lenient
        )
        out = []
        for path, (report, problems) in zip(args.files, results):
            out.append({"file": path, **report.to_dict(), "problems": [p.describe() for p in problems]})
            if not args.json and report.change_id is None:
                print(f"{path}: no facts in the file; nothing imported")
            elif not args.json:
                print(
                    f"{path}: {report.added} added, {report.duplicates} already stored, change {report.change_id}"
                )
                for p in problems[:20]:
                    print(f"  skipped: {p.describe()}", file=sys.stderr)
                if len(problems) > 20:
                    print(f"  ... and {len(problems) - 20} more skipped calls", file=sys.stderr)
        if not args.no_index:
            kg.build_fuzzy_index(show_progress=not args.json)
        if args.json:
            print_json(out)
    return 0


def cmd_lookup(args) -> int:
    config = dataclass_from_args(ResolverConfig, args)
    with open_graph(args) as kg:
        if args.all:
            facts = kg.store.lookup(args.entity, args.relation)
            emit(
                args, [f.to_dict() for f in facts], "\n".join(f"{f.value}\t{f.id}" for f in facts) or "(none)"
            )
            return 0 if facts else 2
        res = kg.lookup(args.entity, args.relation, config)
        text = f"{res.value}\t({res.path}, score {res.score:.3f}, fact {res.fact_id})"
        if res.path == "fuzzy":
            text += f"\n  matched: {res.entity} | {res.relation}"
        emit(
            args,
            res.to_dict(),
            text if res.value is not None else f"(no value)\t({res.path}, best score {res.score:.3f})",
        )
        return 0 if res.value is not None else 2


def cmd_set(args) -> int:
    with graph_to_write(args) as kg:
        change = kg.set_fact(args.entity, args.relation, args.value, replace=not args.add, source=args.source)
        emit(args, change.to_dict(), describe_change(change))
    return 0


def cmd_forget(args) -> int:
    with open_graph(args) as kg:
        if args.fact_id:
            change = kg.forget_fact(args.fact_id)
        elif args.entity:
            change = kg.forget(args.entity, args.relation, include_as_value=args.include_values)
        else:
            raise ValueError("forget needs ENTITY [RELATION] or --fact-id")
        out = change.to_dict()
        text = describe_change(change)
        if args.audit:
            leaks = kg.leak_audit(change, threshold=args.audit_threshold)
            out["leak_audit"] = [c.to_dict() for c in leaks]
            text += (
                "\nnear keys still stored (consider forgetting them too):\n"
                if leaks
                else "\nno near keys above the threshold"
            )
            text += "\n".join(f"  {c.score:.3f}  {c.entity} | {c.relation}" for c in leaks)
        emit(args, out, text)
    return 0


def cmd_merge(args) -> int:
    with open_graph(args) as kg:
        change = kg.merge_entities(args.keep, args.other)
        emit(args, change.to_dict(), describe_change(change))
    return 0


def cmd_history(args) -> int:
    with open_graph(args) as kg:
        changes = kg.store.history(limit=args.limit)
        text = "\n".join(describe_history_line(c) for c in changes)
        emit(args, [c.to_dict(with_facts=False) for c in changes], text or "(no changes)")
    return 0


def cmd_undo(args) -> int:
    with open_graph(args) as kg:
        change = kg.undo(args.change_id)
        emit(args, change.to_dict(), describe_change(change))
    return 0


def cmd_export(args) -> int:
    from lmlm.kg.formats import write_jsonl, write_paper_database

    fmt = args.format or ("jsonl" if args.file.endswith(".jsonl") else "database")
    with open_graph(args) as kg:
        facts = list(kg.store.iter_facts())
        (write_jsonl if fmt == "jsonl" else write_paper_database)(facts, args.file)
        emit(
            args,
            {"file": args.file, "format": fmt, "facts": len(facts)},
            f"wrote {len(facts)} facts to {args.file}",
        )
    return 0


def cmd_stats(args) -> int:
    with open_graph(args) as kg:
        stats = kg.store.stats()
        text = "\n".join(f"{k:>10}: {v}" for k, v in stats.to_dict().items())
        emit(args, stats.to_dict(), text)
    return 0


def cmd_check(args) -> int:
    with open_graph(args) as kg:
        problems = kg.check()
        if problems and args.repair:
            kg.build_fuzzy_index(rebuild=True)
            problems = kg.check()
        emit(
            args,
            {"consistent": not problems, "problems": problems},
            "consistent" if not problems else "\n".join(problems),
        )
        return 0 if not problems else 3


def cmd_entities(args) -> int:
    with open_graph(args) as kg:
        names = kg.store.search_entities(
            args.search, mode="prefix" if args.prefix else "substring", limit=args.limit
        )
        emit(args, names, "\n".join(names) or "(none)")
    return 0


def cmd_facts(args) -> int:
    with open_graph(args) as kg:
        facts = kg.store.facts_of(args.entity, as_value=args.include_values)
        text = "\n".join(f"{f.entity} | {f.relation} | {f.value}\t{f.id}" for f in facts)
        emit(args, [f.to_dict() for f in facts], text or "(none)")
    return 0


def cmd_graph(args) -> int:
    import networkx as nx

    with open_graph(args) as kg:
        graph = kg.neighbourhood(args.entity, depth=args.depth)
        if args.graphml:
            nx.write_graphml(graph, args.graphml)
        edges = [
            {
                "from": graph.nodes[u]["name"],
                "relation": d["relation"],
                "to": graph.nodes[v]["name"],
                "fact_id": d["fact_id"],
            }
            for u, v, d in graph.edges(data=True)
        ]
        text = "\n".join(f"{e['from']} --{e['relation']}--> {e['to']}" for e in edges) or "(none)"
        emit(args, {"nodes": graph.number_of_nodes(), "edges": edges}, text)
    return 0


def cmd_index(args) -> int:
    with open_graph(args) as kg:
        keys = kg.build_fuzzy_index(rebuild=args.rebuild, show_progress=not args.json)
        emit(args, {"keys": keys, "directory": str(kg.index_dir)}, f"{keys} keys indexed in {kg.index_dir}")
    return 0


def cmd_calibrate(args) -> int:
    from lmlm.evaluation.calibration import calibrate, summary, write
    from lmlm.evaluation.calibration_args import CalibrateArgs
    from lmlm.evaluation.fuzzy_modes import CachingEmbedder

    settings = dataclass_from_args(CalibrateArgs, args)
    location = args.store or default_store_location()
    # Read only: a calibration never writes, and the fuzzy index it cannot save stays in memory.
    with KnowledgeGraph.open(
        location, create=False, read_only=True, index_kind=args.index_kind, embedder=CachingEmbedder()
    ) as kg:
        report = calibrate(kg, settings, progress=args.progress and not args.json)
    text = summary(report)
    if settings.out:
        written = write(report, settings.out)
        text += "\nwrote " + " and ".join(str(p) for p in written)
    emit(args, report, text)
    return 0


def cmd_cypher(args) -> int:
    if not is_neo4j_uri(args.store or ""):
        raise ValueError("`lmlm kg cypher` needs a Neo4j store: --store bolt://HOST:PORT")
    params = {}
    for item in args.param:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r}: expected NAME=JSON")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    with open_graph(args) as kg:
        rows = kg.store.run_cypher(args.query, params, write=args.write)
        emit(
            args, rows, "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows) or "(no rows)"
        )
    return 0


def cmd_clear(args) -> int:
    if not args.yes:
        raise ValueError("clear deletes everything in the store: pass --yes")
    with open_graph(args) as kg:
        kg.store.clear()
        if Path(kg.index_dir).exists():
            import shutil

            shutil.rmtree(kg.index_dir)
        emit(args, {"cleared": kg.store.location}, f"cleared {kg.store.location}")
    return 0
