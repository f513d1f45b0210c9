"""The name-index benchmark on a small store: the three ways of holding names agree, its JSON is
written, and an --added the index would rebuild at is refused."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.name_index import NameIndexArgs, main


def test_a_small_run_agrees_and_writes_ratios(tmp_path, capsys):
    out = tmp_path / "name_index.json"
    argv = ["--names", "3000", "--added", "300", "--queries", "40", "--repeats", "2", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert report["same_names_as_one_build"] == {"one build": True, "kept aside": True, "scanned": True}
    assert set(report["ratio_to_one_build"]) == {"one build", "kept aside", "scanned"}
    assert report["ratio_to_one_build"]["one build"]["median"] == 1.0
    assert all(s["n"] == 2 and s["median"] > 0 for s in report["ms_per_search"].values())
    assert "x one build" in capsys.readouterr().out


def test_more_added_names_than_the_index_keeps_aside_are_refused():
    with pytest.raises(ValueError, match="--added must be between 0 and a tenth of --names"):
        NameIndexArgs(names=1000, added=101)
