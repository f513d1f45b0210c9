"""The regenerate benchmark end to end at a toy size on the mini demo: its parts, its baselines from
the same run, the app's click through AppTest, and the demo's store left as it was."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.app_regenerate import main
from lmlm.kg import KnowledgeGraph


@pytest.mark.slow
def test_a_toy_run_times_each_part_against_its_baselines(
    app_demo, indexed_store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    with KnowledgeGraph.open(indexed_store) as kg:
        before = kg.store.stats().to_dict()
    argv = ["--model", str(app_demo.model("lmlm")), "--store", str(indexed_store)]
    argv += ["--prompts-file", str(app_demo.world / "prompts.jsonl"), "--prompts", "2"]
    argv += ["--max-new-tokens", "12", "--repeats", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "app_regenerate.json").read_text())
    parts = report["median_ms"]
    assert set(parts) >= {"store write", "index update", "decode", "decode only", "cold regenerate"}
    total = parts["store write"] + parts["index update"] + parts["decode"]
    assert parts["regenerate total"] == pytest.approx(total, abs=0.2)
    assert report["total_over_decode_only"] == pytest.approx(total / parts["decode only"], rel=0.02)
    assert report["app_click_to_output_ms"] > 0  # the edit made through the Facts page
    assert len(report["last_outputs"]) == 2
    printed = capsys.readouterr().out
    assert "regenerate total / decode only:" in printed and "regenerate total / cold regenerate:" in printed
    with KnowledgeGraph.open(indexed_store) as kg:  # the benchmark edits a copy
        assert kg.store.stats().to_dict() == before
