"""``lmlm eval``: the quick suite end to end on the session's mini demo (the unlearning experiment at
its smallest size included), the report, and the unlearn command's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lmlm.cli import build_parser, main
from lmlm.evaluation.world_sets import WorldSets
from lmlm.kg.knowledge_graph import open_store

pytestmark = pytest.mark.slow

FILES = (
    "perplexity/perplexity.json",
    "perplexity/perplexity.png",
    "completion/completion.json",
    "completion/completion.png",
    "precision/precision.json",
    "precision/precision.png",
    "precision/precision_outputs.jsonl",
    "unlearning/unlearning.json",
    "unlearning/unlearning.md",
    "unlearning/unlearning.png",
    "suite.json",
    "report.md",
)


@pytest.fixture(scope="module")
def suite(mini_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "suite"
    code = main(
        ["eval", "suite", "--quick", "--demo", str(mini_demo.root), "--out", str(out), "--no-progress"]
    )
    assert code == 0
    return out


def test_the_quick_suite_writes_every_result(suite):
    missing = [name for name in FILES if not (suite / name).is_file()]
    assert not missing
    summary = json.loads((suite / "suite.json").read_text())
    assert set(summary["seconds"]) == {"perplexity", "completion", "precision", "unlearning"}


def test_perplexities_compare_lmlm_and_standard(suite):
    sets = json.loads((suite / "perplexity" / "perplexity.json").read_text())["sets"]
    assert set(sets) == {"eval", "heldout"}
    for rows in sets.values():
        assert set(rows) == {"standard", "lmlm_static", "lmlm_dynamic"}
        assert rows["standard"]["original_tokens"] == rows["lmlm_static"]["original_tokens"]
        assert rows["lmlm_dynamic"]["original_tokens"] == rows["standard"]["original_tokens"]
        assert rows["lmlm_static"]["tokens"]["entity"] > 0 and rows["standard"]["tokens"]["entity"] == 0
    dynamic = sets["heldout"]["lmlm_dynamic"]
    assert dynamic["lookups"] > 0 and dynamic["lookup_paths"].get("exact", 0) > 0  # the model looks facts up


def test_precision_scores_each_system_and_keeps_the_generations(suite):
    report = json.loads((suite / "precision" / "precision.json").read_text())
    assert set(report["systems"]) == {"lmlm", "lmlm_no_lookup", "standard"}
    assert report["systems"]["lmlm"]["stated"] > 0  # the mini LMLM states facts through its lookups
    outputs = (suite / "precision" / "precision_outputs.jsonl").read_text().splitlines()
    assert len(outputs) == 3 * report["prompts"]


def test_unlearning_rows_and_deletion(suite, mini_demo):
    report = json.loads((suite / "unlearning" / "unlearning.json").read_text())
    rows = {(r["model"], r["method"]): r for r in report["rows"]}
    methods = [(m, k) for k in ("ga", "gd", "npo") for m in ("standard", "lmlm")]
    assert set(rows) == {("lmlm", "original"), ("standard", "original"), ("lmlm", "delete")} | {
        ("lmlm", "retain"),
        ("standard", "retain"),
        *methods,
    }
    forget = WorldSets(mini_demo.world).split("forget_10").forget
    delete = rows["lmlm", "delete"]
    store = open_store(mini_demo.kg, create=False, read_only=True)
    try:  # the demo leaves some facts out of the store, so count what it holds about them
        stored = sum(len(store.facts_of(person)) for person in forget)
    finally:
        store.close()
    assert 0 < stored <= 9 * len(forget) and len(forget) == delete["forget_people"]
    assert delete["run"]["facts_removed"] == stored
    assert delete["through_fuzzy"] == 0 and delete["fuzzy_probe_leaked"] == 0
    # before deletion the probe finds the forget facts the store holds (not those the demo left out)
    assert (
        0
        < rows["lmlm", "original"]["fuzzy_probe_leaked"]
        <= len(rows["lmlm", "original"]["eval"]["forget_ratios"])
    )
    assert delete["utility_change_points"] == pytest.approx(0.0, abs=1e-6)  # retain facts and text untouched
    assert delete["seconds"] is not None and delete["stated"] <= rows["lmlm", "original"]["stated"]
    assert rows["lmlm", "retain"]["forget_quality"] == pytest.approx(1.0)  # the reference against itself
    assert all(rows[m]["seconds"] > 0 and rows[m]["run"]["steps"] >= 1 for m in methods)
    assert rows["standard", "original"]["fuzzy_probe_leaked"] is None  # no store
    assert "| forget_10" in (suite / "unlearning" / "unlearning.md").read_text()


def test_report_gathers_sections_with_plots(suite, tmp_path):
    out = tmp_path / "r" / "page.md"
    assert main(["eval", "report", str(suite), "--output", str(out)]) == 0
    text = out.read_text()
    for title in ("### Perplexity", "### Knowledge completion", "### Factual precision", "### Unlearning"):
        assert title in text
    images = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(images) == 4 and all((out.parent / image).is_file() for image in images)
    with pytest.raises(ValueError, match="no results"):
        main_report = build_parser().parse_args(["eval", "report", str(tmp_path / "r")])
        main_report.func(main_report)


def test_the_suite_refuses_other_models_for_the_unlearning_part_before_any_work(mini_demo, tmp_path, capsys):
    out = tmp_path / "suite"
    argv = ["eval", "suite", "--quick", "--demo", str(mini_demo.root), "--out", str(out), "--no-progress"]
    assert main([*argv, "--lmlm", str(mini_demo.model("standard"))]) == 1
    assert "--lmlm: the unlearning part runs on a demo directory's own models" in capsys.readouterr().err
    assert not (out / "perplexity").exists()


def test_fact_items_ask_only_for_stored_facts_written_as_the_corpus_writes_them(mini_demo):
    world = WorldSets(mini_demo.world)
    items = world.fact_items()
    asked = {(f.person, f.relation) for f in items}
    absent = {(person, r) for person, relations in world.absent.items() for r in relations}
    assert absent and not asked & absent  # the corpus says these values are unknown
    stored = {
        (t.entity, t.relation) for t in open_store(mini_demo.kg, create=False, read_only=True).iter_facts()
    }
    assert asked <= stored
    employer = next(f for f in items if f.relation == "Employer")
    assert employer.answer == f"the {employer.value}"  # "works for the Kalo Institute"


@pytest.mark.parametrize("flag", ["--no-progress", None])
def test_no_progress_also_silences_the_bars_of_each_model_load(mini_demo, tmp_path, flag):
    argv = ["eval", "precision", "--demo", str(mini_demo.root), "--out", str(tmp_path / "p")]
    argv += ["--limit", "2", "--max-new-tokens", "4", *([flag] if flag else [])]
    code = f"import sys; from lmlm.cli import main; sys.exit(main({argv!r}))"
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}  # a user's choice
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert ("Loading weights" in proc.stderr) == (flag is None)  # transformers' bar, one per load
