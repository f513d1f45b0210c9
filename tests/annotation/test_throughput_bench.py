"""The throughput benchmark runs at a toy size: every concurrency annotates every text, ratios are
against the concurrency-1 baseline of the same run, and the server saw the concurrency asked for."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.annotation_throughput import main


def test_benchmark_writes_rows_against_its_own_baseline(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--out", str(out), "--texts", "8", "--concurrency", "1,4", "--delay-ms", "20,40"]) == 0
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [r["concurrency"] for r in rows] == [1, 4] and all(r["texts"] == 8 for r in rows)
    assert [r["max_in_flight"] for r in rows] == [1, 4]
    assert rows[0]["ratio"] == 1.0
    assert rows[1]["ratio"] == pytest.approx(rows[1]["texts_per_s"] / rows[0]["texts_per_s"])
    assert result["target"]["concurrency"] == 16 and result["target"]["measured"] is None
    assert "ratio" in capsys.readouterr().out
