"""The decoding benchmark end to end at a toy size on the mini demo, with both query caches off."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.decoding import main


@pytest.mark.slow
def test_a_toy_run_compares_every_decoder_and_says_the_caches_are_off(mini_demo, tmp_path, capsys):
    argv = ["--model", str(mini_demo.model("lmlm")), "--store", str(mini_demo.kg)]
    argv += ["--prompts", str(mini_demo.world / "prompts.jsonl"), "--tokens", "8", "--batch", "2"]
    argv += ["--big-hidden", "64", "--big-layers", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "decoding.json").read_text())
    assert (report["tokens"], report["resolver_cache"], report["recent_query_cache"]) == (8, 0, 0)
    assert [r["model"] for r in report["results"]] == ["demo LMLM", "random-weight Llama (scripted)"]
    for result in report["results"]:
        assert set(result["rows"]) == {"reference b1", "ours b1", "ours b2", "plain b1", "plain b2"}
        assert all(row["output_per_s"] > 0 for row in result["rows"].values())
    assert "cache off: every run resolves its own lookups" in capsys.readouterr().out
