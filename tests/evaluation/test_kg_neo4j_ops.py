"""The Neo4j maintenance benchmark at a toy size: variants take turns, the ratios are paired per
repetition, the text index is back when it ends, and the database is left empty."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.kg_neo4j_ops import main
from tests.neo4j_support import neo4j_test_uri


def test_a_neo4j_target_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["--facts", "10"])
    assert "--neo4j is required" in capsys.readouterr().err


@pytest.mark.neo4j
def test_a_toy_run_times_each_variant_in_turn_and_restores_the_index(neo4j_store, tmp_path, capsys):
    out = tmp_path / "ops.json"
    args = ["--neo4j", neo4j_test_uri(), "--facts", "400", "--undo-facts", "300", "--searches", "5"]
    args += ["--undo-batch-size", "100"]
    assert main([*args, "--repeats", "3", "--out", str(out)]) == 0
    results = json.loads(out.read_text())

    assert results["facts"] > 0
    for section, sides in (("check", ("check_s", "before_s")), ("search", ("indexed_ms_per_search",))):
        figures = results[section]
        assert figures["speedup"]["n"] == 3 and figures["speedup"]["median"] > 0
        for side in sides:
            assert figures[side]["n"] == 3 and figures[side]["min"] <= figures[side]["median"]
    assert results["search"]["scan_ms_per_search"]["n"] == 3
    assert results["search"]["entity_nodes"] > 0
    undo = results["undo"]
    assert (
        undo["facts"] > 0 and undo["batches"] == -(-undo["facts"] // 100) and undo["one_transaction"] == "ok"
    )

    printed = capsys.readouterr().out
    assert "check:" in printed and "paired, 3 repetitions" in printed and str(out) in printed
    # the scan's dropped index is made again, and the benchmark clears what it wrote
    indexes = neo4j_store.run_cypher("SHOW INDEXES YIELD name, state RETURN name, state")
    assert {"name": "lmlm_entity_key_text", "state": "ONLINE"} in indexes
    assert neo4j_store.count() == 0
