"""The `lmlm kg` command-line contract, on both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmlm.cli import build_parser, main
from lmlm.cli.common import dataclass_from_args
from lmlm.kg.resolver import ResolverConfig

JSONL = [
    {"entity": "Ko Itakura", "relation": "Birthplace", "value": "Yokohama", "source": "doc-1"},
    {"entity": "Ko Itakura", "relation": "Team", "value": "Borussia Mönchengladbach"},
    {"entity": "Yokohama", "relation": "Country", "value": "Japan"},
]


@pytest.fixture
def location(store, tmp_path, monkeypatch):
    """The --store argument for each backend; LMLM_HOME points at a temporary folder."""
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    return store.location if store.backend == "neo4j" else str(tmp_path / "store")


@pytest.fixture
def facts_file(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in JSONL) + "\n", encoding="utf-8")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_import_lookup_edit_cycle(capsys, location, facts_file):
    [report] = run_json(capsys, "kg", "--store", location, "import", str(facts_file), "--no-index")
    assert (report["added"], report["duplicates"]) == (3, 0)
    got = run_json(capsys, "kg", "--store", location, "lookup", "ko itakura", "BIRTHPLACE")
    assert set(got) == {"value", "path", "score", "fact_id"}
    assert (got["value"], got["path"], got["score"]) == ("Yokohama", "exact", 1.0)

    change = run_json(capsys, "kg", "--store", location, "set", "Ko Itakura", "Birthplace", "Kawasaki")
    assert (
        run_json(capsys, "kg", "--store", location, "lookup", "Ko Itakura", "Birthplace")["value"]
        == "Kawasaki"
    )
    history = run_json(capsys, "kg", "--store", location, "history")
    assert [c["op"] for c in history] == ["set", "import"]
    run_json(capsys, "kg", "--store", location, "undo", str(change["id"]))
    assert (
        run_json(capsys, "kg", "--store", location, "lookup", "Ko Itakura", "Birthplace")["value"]
        == "Yokohama"
    )

    forgotten = run_json(capsys, "kg", "--store", location, "forget", "Yokohama")
    assert [f["relation"] for f in forgotten["removed"]] == ["Country"]
    code, out, _ = run(capsys, "kg", "--store", location, "lookup", "Yokohama", "Country", "--no-fuzzy")
    assert code == 2 and "no value" in out
    stats = run_json(capsys, "kg", "--store", location, "stats")
    assert stats["facts"] == 2 and stats["changes"] == 4


def test_json_flag_on_group_or_command(capsys, location, facts_file):
    run(capsys, "kg", "--store", location, "import", str(facts_file), "--no-index")
    a = run_json(capsys, "kg", "--store", location, "lookup", "Yokohama", "Country")
    code, out, _ = run(capsys, "kg", "--json", "--store", location, "lookup", "Yokohama", "Country")
    assert code == 0 and json.loads(out) == a


def test_entities_facts_graph_export_check(capsys, location, facts_file, tmp_path):
    run(capsys, "kg", "--store", location, "import", str(facts_file), "--no-index")
    assert run_json(capsys, "kg", "--store", location, "entities", "--search", "itak") == ["Ko Itakura"]
    facts = run_json(capsys, "kg", "--store", location, "facts", "Ko Itakura")
    assert [f["relation"] for f in facts] == ["Birthplace", "Team"]
    graphml = tmp_path / "ko.graphml"
    graph = run_json(
        capsys, "kg", "--store", location, "graph", "Ko Itakura", "--depth", "2", "--graphml", str(graphml)
    )
    assert {(e["from"], e["to"]) for e in graph["edges"]} >= {
        ("Ko Itakura", "Yokohama"),
        ("Yokohama", "Japan"),
    }
    assert "<graphml" in graphml.read_text(encoding="utf-8")
    exported = tmp_path / "out.json"
    run_json(capsys, "kg", "--store", location, "export", str(exported))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert sorted(map(tuple, data["triplets"])) == sorted(
        (r["entity"], r["relation"], r["value"]) for r in JSONL
    )
    assert run_json(capsys, "kg", "--store", location, "check") == {"consistent": True, "problems": []}


def test_bad_file_names_line_and_imports_nothing(capsys, location, facts_file, tmp_path):
    run(capsys, "kg", "--store", location, "import", str(facts_file), "--no-index")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(JSONL[0]) + "\n" + '{"entity": "A", "relation": "r"}\n', encoding="utf-8")
    code, _, err = run(capsys, "kg", "--store", location, "import", str(bad), "--no-index")
    assert code == 1
    assert str(bad) in err and "line 2" in err and "value" in err
    assert err.count("\n") == 1  # one line, no traceback
    assert run_json(capsys, "kg", "--store", location, "stats")["facts"] == 3


def test_fuzzy_lookup_and_forget_audit(capsys, location, facts_file):
    run(capsys, "kg", "--store", location, "import", str(facts_file))
    got = run_json(capsys, "kg", "--store", location, "lookup", "Ko Itakura", "place of birth")
    assert (got["value"], got["path"]) == ("Yokohama", "fuzzy")
    run(capsys, "kg", "--store", location, "set", "K. Itakura", "Birthplace", "Yokohama")
    out = run_json(capsys, "kg", "--store", location, "forget", "Ko Itakura", "Birthplace", "--audit")
    assert out["leak_audit"][0]["entity"] == "K. Itakura"
    code, text, _ = run(capsys, "kg", "--store", location, "lookup", "Ko Itakura", "Birthplace", "--json")
    got = json.loads(text)
    assert code == 2 and (got["value"], got["path"]) == (None, "miss")  # exit 2: no value


def test_import_builds_the_compressed_index_from_the_auto_threshold(
    capsys, location, facts_file, monkeypatch
):
    """No --index-kind: the graph's `auto` decides (the README's compressed index from 100k facts)."""
    from lmlm.kg import knowledge_graph

    monkeypatch.setattr(knowledge_graph, "AUTO_COMPRESS_FACTS", 3)  # JSONL holds 3 facts
    run_json(capsys, "kg", "--store", location, "import", str(facts_file))
    index = run_json(capsys, "kg", "--store", location, "index")
    meta = json.loads((Path(index["directory"]) / "meta.json").read_text(encoding="utf-8"))
    assert (meta["kind"], meta["keys"]) == ("ivfrabitq", 3)
    run_json(capsys, "kg", "--store", location, "--index-kind", "flat", "index", "--rebuild")
    meta = json.loads((Path(index["directory"]) / "meta.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "flat"


def test_index_kind_flag_takes_the_index_module_kinds(capsys):
    from lmlm.kg.vector_index import KIND_ALIASES, KINDS

    with pytest.raises(SystemExit) as info:
        main(["kg", "--help"])
    assert info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "ivfpq" not in help_text and "{auto,flat,ivfrabitq,compressed}" in help_text
    for kind in ("auto", *KINDS, *KIND_ALIASES):
        assert build_parser().parse_args(["kg", "--index-kind", kind, "stats"]).index_kind == kind
    with pytest.raises(SystemExit) as info:
        main(["kg", "--index-kind", "ivfpq", "stats"])
    assert info.value.code == 2 and "invalid choice: 'ivfpq'" in capsys.readouterr().err


def test_lookup_flags_are_the_resolver_config(capsys, tmp_path):
    argv = ["kg", "--store", str(tmp_path / "s"), "lookup", "A", "r"]
    args = build_parser().parse_args(argv + ["--mode", "flat", "--threshold", "0.7", "--no-fuzzy"])
    assert dataclass_from_args(ResolverConfig, args) == ResolverConfig(
        mode="flat", threshold=0.7, fuzzy=False
    )
    assert dataclass_from_args(ResolverConfig, build_parser().parse_args(argv)) == ResolverConfig()
    code, _, err = run(capsys, *argv, "--threshold", "1.5")
    assert code == 1 and "threshold" in err and "1.5" in err
    with pytest.raises(SystemExit):
        main(argv + ["--fallback", "guess"])
    assert "invalid choice: 'guess'" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    for command in [
        "import",
        "lookup",
        "set",
        "forget",
        "merge",
        "history",
        "undo",
        "export",
        "stats",
        "check",
        "entities",
        "facts",
        "graph",
        "index",
        "cypher",
        "clear",
    ]:
        with pytest.raises(SystemExit) as info:
            main(["kg", command, "--help"])
        assert info.value.code == 0
        assert "usage: lmlm kg" in capsys.readouterr().out


def lmlm_subprocess(*argv, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-c", "import sys; from lmlm.cli import main; sys.exit(main(sys.argv[1:]))", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_exact_lookup_does_not_load_torch(tmp_path, facts_file):
    store = str(tmp_path / "store")
    assert lmlm_subprocess("kg", "--store", store, "import", str(facts_file), "--no-index").returncode == 0
    code = (
        "import sys; from lmlm.cli import main; main(sys.argv[1:]);"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules, 'torch loaded'"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, "kg", "--store", store, "lookup", "Ko Itakura", "Team"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Borussia" in proc.stdout
    assert (
        time.perf_counter() - start < 10
    )  # generous: the figure is in the benchmark, this catches a model load


def test_unreachable_neo4j_is_one_line_naming_the_uri():
    start = time.perf_counter()
    proc = lmlm_subprocess("kg", "--store", "bolt://127.0.0.1:1", "stats", timeout=30)
    assert proc.returncode == 1
    assert "bolt://127.0.0.1:1" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert time.perf_counter() - start < 15


def test_cypher_needs_neo4j(capsys, tmp_path):
    code, _, err = run(capsys, "kg", "--store", str(tmp_path / "s"), "cypher", "RETURN 1")
    assert code == 1 and "Neo4j" in err


@pytest.mark.neo4j
def test_cypher_read_only_unless_write(capsys, neo4j_store):
    store = neo4j_store
    rows = run_json(
        capsys, "kg", "--store", store.location, "cypher", "RETURN $x + 1 AS y", "--param", "x=41"
    )
    assert rows == [{"y": 42}]
    code, _, err = run(capsys, "kg", "--store", store.location, "cypher", "CREATE (:Scratch {n: 1})")
    assert code == 1 and err.startswith("error:")
    rows = run_json(
        capsys,
        "kg",
        "--store",
        store.location,
        "cypher",
        "CREATE (s:Scratch {n: 1}) RETURN s.n AS n",
        "--write",
    )
    assert rows == [{"n": 1}]
    run(capsys, "kg", "--store", store.location, "cypher", "MATCH (s:Scratch) DELETE s", "--write")


READ_COMMANDS = [
    ["lookup", "Ko Itakura", "Team"],
    ["facts", "Ko Itakura"],
    ["entities", "--search", "ko"],
    ["graph", "Ko Itakura"],
    ["history"],
    ["stats"],
    ["export", "out.json"],
    ["check"],
    ["index"],
    ["forget", "Ko Itakura"],
    ["merge", "A", "B"],
    ["undo", "1"],
    ["clear", "--yes"],
]


@pytest.mark.parametrize("argv", READ_COMMANDS, ids=lambda argv: argv[0])
def test_a_mistyped_store_is_an_error_not_an_empty_store(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "my-kgg"
    code, out, err = run(capsys, "kg", "--store", str(typo), *argv)
    assert code == 1 and out == ""
    assert (
        err
        == f"error: {typo}: no store here (no such directory); `lmlm kg import` or `lmlm kg set` creates one\n"
    )
    assert not typo.exists() and not (tmp_path / "out.json").exists()


def test_only_import_and_set_create_a_store(capsys, tmp_path, facts_file):
    created = tmp_path / "new"
    assert run(capsys, "kg", "--store", str(created), "set", "A", "r", "v")[0] == 0
    assert run_json(capsys, "kg", "--store", str(created), "stats")["facts"] == 1
    imported = tmp_path / "imported"
    run_json(capsys, "kg", "--store", str(imported), "import", str(facts_file), "--no-index")
    assert run_json(capsys, "kg", "--store", str(imported), "stats")["facts"] == 3


def test_a_store_made_by_a_failing_import_or_set_is_removed_again(capsys, tmp_path, facts_file, monkeypatch):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,relation,value\nKo Itakura,Birthplace,Yokohama\nBad,,x\n", encoding="utf-8")
    failing = {
        "bad file": ["import", str(bad)],
        "missing file": ["import", str(tmp_path / "missing.csv")],
        "bad fact": ["set", "Ko Itakura", "", "Yokohama"],
    }
    for name, argv in failing.items():
        new = tmp_path / name
        code, _, err = run(capsys, "kg", "--store", str(new), *argv)
        assert code == 1 and err.startswith("error: ")
        assert not new.exists(), name  # a later read says "no store here", not "miss"
        code, _, err = run(capsys, "kg", "--store", str(new), "lookup", "Ko Itakura", "Birthplace")
        assert code == 1 and "no store here" in err

    # a store that held something, or was there before, stays as it was
    kept = tmp_path / "kept"
    code, _, err = run(capsys, "kg", "--store", str(kept), "import", str(facts_file), str(bad), "--no-index")
    assert code == 1 and "bad.csv: line 3: relation is empty" in err
    assert run_json(capsys, "kg", "--store", str(kept), "stats")["facts"] == 3
    empty = tmp_path / "empty-made-before"
    empty.mkdir()
    assert run(capsys, "kg", "--store", str(empty), "import", str(bad))[0] == 1
    assert empty.is_dir()


@pytest.mark.parametrize("content", ["", "\n\n", "entity,relation,value\n"], ids=["empty", "blank", "header"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".json"])
def test_importing_a_file_with_no_records_logs_no_change(capsys, location, tmp_path, suffix, content):
    if content.startswith("entity") and suffix != ".csv":
        content = ""
    path = tmp_path / f"empty{suffix}"
    path.write_text(content, encoding="utf-8")
    code, out, _ = run(capsys, "kg", "--store", location, "import", str(path), "--no-index")
    assert code == 0 and out == f"{path}: no facts in the file; nothing imported\n"
    assert run_json(capsys, "kg", "--store", location, "history") == []


@pytest.mark.neo4j
def test_cypher_refuses_what_reaches_past_the_graph_without_write(capsys, neo4j_store):
    for query in ("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row", "CALL db.clearQueryCaches()"):
        code, out, err = run(capsys, "kg", "--store", neo4j_store.location, "cypher", query)
        assert code == 1 and out == "" and err.startswith("error: refused: the query")
        assert "--write" in err and err.count("\n") == 1


@pytest.mark.neo4j
def test_history_and_check_show_an_interrupted_import(capsys, neo4j_store):
    from lmlm.kg.errors import ImportInterruptedError
    from lmlm.kg.facts import Triple

    def failing():
        for i in range(25):
            yield Triple(f"person {i}", "age", str(i))
        raise RuntimeError("reader failed")

    with pytest.raises(ImportInterruptedError):
        neo4j_store.import_triples(failing(), batch_size=10, summary="import people.jsonl")
    code, out, _ = run(capsys, "kg", "--store", neo4j_store.location, "history")
    [line] = out.splitlines()
    assert line.split()[1:3] == ["import", "import"] and "people.jsonl" in line
    assert "[interrupted: 2 of an unknown number of batches committed; `undo" in line
    [change] = run_json(capsys, "kg", "--store", neo4j_store.location, "history")
    assert (change["state"], change["committed_batches"], change["added_count"]) == ("interrupted", 2, 20)
    code, out, _ = run(capsys, "kg", "--store", neo4j_store.location, "check")
    assert code == 3 and "(import people.jsonl) is interrupted: 2 of" in out
