"""The training-throughput benchmark runs end to end at a toy size and reports all three phases."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.train_throughput import main


@pytest.mark.slow
def test_benchmark_writes_all_phases(tmp_path, capsys):
    out = tmp_path / "tp.json"
    argv = ["--out", str(out), "--max-docs", "40", "--vocab-size", "512", "--block-size", "64"]
    argv += [
        "--batch-size",
        "2",
        "--steps",
        "4",
        "--warmup-steps",
        "1",
        "--rounds",
        "1",
        "--pretrain-runs",
        "1",
    ]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert [row["phase"] for row in result["rows"]] == ["encode", "step", "pretrain"]
    for row in result["rows"]:
        assert row["masked_tokens_per_s"] > 0 and row["plain_tokens_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["masked_tokens_per_s"] / row["plain_tokens_per_s"], rel=1e-2)
    assert result["settings"]["documents"] == 40
    assert "ratio" in capsys.readouterr().out
