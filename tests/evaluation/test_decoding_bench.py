"""The decoding benchmark end to end at a toy size on the mini demo: every decoder under the
project's and the paper's settings at the thread counts asked for, interleaved repetitions with
their spread, paired ratios, both query caches off, and the machine written next to the figures."""

from __future__ import annotations

import json

import pytest

from lmlm.evaluation.bench.decoding import SETTINGS, main


def toy_argv(mini_demo, tmp_path, *more: str) -> list[str]:
    argv = ["--model", str(mini_demo.model("lmlm")), "--store", str(mini_demo.kg)]
    argv += ["--prompts", str(mini_demo.world / "prompts.jsonl"), "--tokens", "8", "--batch", "2"]
    argv += ["--b1-prompts", "1", "--check-prompts", "2", "--out", str(tmp_path), *more]
    return argv


@pytest.mark.slow
def test_a_toy_run_times_every_decoder_under_both_settings_and_each_thread_count(mini_demo, tmp_path, capsys):
    more = ["--repeats", "2", "--threads", "1,2", "--big-hidden", "64", "--big-layers", "1"]
    assert main(toy_argv(mini_demo, tmp_path, *more)) == 0
    report = json.loads((tmp_path / "decoding.json").read_text())
    assert (report["tokens"], report["resolver_cache"], report["recent_query_cache"]) == (8, 0, 0)
    assert report["settings"] == {"ours": {}, "paper": SETTINGS["paper"]}
    assert SETTINGS["paper"] == {"repetition_penalty": 1.2, "logit_bias": "paper", "constrain": False}
    assert report["threads"] == {"1 thread": 1, "2 threads": 2}
    assert report["machine"]["usable_cores"] >= 1 and "load_average_after" in report["machine"]
    assert report["embedder"]["precision_used"] in ("fp32", "bf16")
    assert set(report["agreement_demo"]) == {"ours", "paper"}
    assert [r["model"] for r in report["results"]] == ["demo LMLM", "random-weight Llama (scripted)"]
    for result in report["results"]:
        keys = {(r["setting"], r["threads"], r["variant"]) for r in result["rows"]}
        variants = {"reference b1", "ours b1", "ours b2", "plain b1", "plain b2"}
        assert keys == {
            (s, t, v) for s in ("ours", "paper") for t in ("1 thread", "2 threads") for v in variants
        }
        for row in result["rows"]:
            assert len(row["seconds_each"]) == 2 and row["seconds"]["n"] == 2
            assert row["output_per_s"]["min"] <= row["output_per_s"]["median"] <= row["output_per_s"]["max"]
        plain = {r["variant"]: r["output_tokens"] for r in result["rows"] if r["setting"] == "ours"}
        ours = {r["variant"]: r["output_tokens"] for r in result["rows"] if r["setting"] == "ours"}
        assert plain["plain b1"] == ours["ours b1"]  # plain generate writes as many tokens per prompt
        names = {(r["setting"], r["ratio"]) for r in result["ratios"]}
        assert ("paper", "ours b2 / plain b2 (output tokens/s)") in names
        assert ("ours vs paper", "ours b1 [ours] / reference b1 [paper] (text tokens/s)") in names
        assert {r["threads"] for r in result["thread_speedup"]} == {"2 threads vs 1 thread"}
    printed = capsys.readouterr().out
    assert "cache off: every run resolves its own lookups" in printed and "paper settings" in printed


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--threads", "1,zero"], "--threads takes integers >= 1 or 'default'"),
        (["--settings", "ours,fast"], "--settings takes ours, paper"),
        (["--b1-prompts", "3"], "--b1-prompts must be <= --batch"),
        (["--repeats", "0"], "--repeats must be >= 1"),
    ],
)
def test_bad_flags_are_named(mini_demo, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit):
        main(toy_argv(mini_demo, tmp_path, *flags))
    assert message in capsys.readouterr().err
