"""The knowledge-graph benchmark at a toy size: it writes only to a database it is pointed at, refuses
one that holds data unless --force, and times fuzzy lookups with the query caches off."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.kg_bench import main
from lmlm.kg.facts import Triple
from tests.neo4j_support import neo4j_test_uri

TINY = ["--facts", "300", "--skip-fuzzy"]


def test_neo4j_uri_in_the_environment_is_never_a_target(tmp_path, monkeypatch):
    # nothing listens on port 9: a benchmark that took $NEO4J_URI would fail to connect
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")
    out = tmp_path / "kg.json"
    assert main([*TINY, "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert "neo4j" not in results and results["embedded"]["facts"] == results["generated_facts"]
    assert results["args"]["neo4j"] is None


def test_force_needs_a_neo4j_target(capsys):
    with pytest.raises(SystemExit):
        main([*TINY, "--force"])
    assert "--force only applies with --neo4j" in capsys.readouterr().err


@pytest.mark.neo4j
def test_a_database_with_data_is_refused_and_left_intact_unless_forced(neo4j_store, tmp_path, capsys):
    uri, out = neo4j_test_uri(), tmp_path / "kg.json"
    neo4j_store.import_triples([Triple("Ko Itakura", "Birthplace", "Yokohama"), Triple("A", "r", "v")])
    neo4j_store.set_fact("Ko Itakura", "Team", "Gladbach")
    before = sorted((f.entity, f.relation, f.value) for f in neo4j_store.iter_facts())
    changes = neo4j_store.stats().changes

    assert main([*TINY, "--neo4j", uri, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--neo4j {uri}: the database holds 3 facts" in err and "--force" in err
    assert sorted((f.entity, f.relation, f.value) for f in neo4j_store.iter_facts()) == before
    assert neo4j_store.stats().changes == changes and not out.exists()

    assert main([*TINY, "--neo4j", uri, "--force", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["neo4j"]["facts"] == results["generated_facts"] and neo4j_store.count() == 0


@pytest.mark.neo4j
def test_an_empty_database_needs_no_force(neo4j_store, tmp_path):
    out = tmp_path / "kg.json"
    assert main([*TINY, "--neo4j", neo4j_test_uri(), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["neo4j"]["exact_batched_per_s"] > 0


@pytest.mark.slow
def test_fuzzy_lookups_run_with_the_query_caches_off(tmp_path, capsys):
    out = tmp_path / "kg.json"
    assert main(["--facts", "300", "--queries", "10", "--out", str(out)]) == 0
    fuzzy = json.loads(out.read_text())["fuzzy"]
    assert (fuzzy["recent_query_cache"], fuzzy["resolver_cache"]) == (0, 0)
    assert fuzzy["keys"] > 0 and 0 < fuzzy["structured"]["right_key_rate"] <= 1
    used = fuzzy["embedder"]  # what the build rate was measured with
    assert used["precision_used"] in ("bf16", "fp32") and used["large_call_threads"] >= 1
    printed = capsys.readouterr().out
    assert "recent-query cache off" in printed
    assert f"encoder: {used['precision_used']}" in printed and "torch threads for the build" in printed
