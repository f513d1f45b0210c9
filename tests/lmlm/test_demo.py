"""``lmlm demo`` and ``lmlm demo build``: flags onto ``DemoConfig``, and the session's mini demo (same
flags: nothing rebuilds)."""

from __future__ import annotations

import json

import pytest

from lmlm.cli import build_parser, main
from lmlm.cli.common import dataclass_from_args
from lmlm.demo_build import DemoConfig, build_demo
from lmlm.demo_report import TARGETS
from lmlm.kg import KnowledgeGraph
from tests.conftest import MINI_DEMO_FLAGS


def _flags() -> list[str]:
    def flag(name: str, value) -> str:
        dashed = name.replace("_", "-")
        if isinstance(value, bool):
            return f"--{dashed}" if value else f"--no-{dashed}"
        return f"--{dashed}={value}"

    return [flag(name, value) for name, value in MINI_DEMO_FLAGS.items()]


@pytest.mark.slow
def test_a_second_build_reuses_every_stage(mini_demo):
    before = mini_demo.stamps.read_text()
    report = build_demo(mini_demo.root, DemoConfig(**MINI_DEMO_FLAGS), say=lambda _m: None)
    assert mini_demo.stamps.read_text() == before
    assert set(json.loads(before)) == {"world", "tokenizer", "lmlm", "standard", "kg", "report"}
    facts = report["facts"]
    assert report["prompts"] == MINI_DEMO_FLAGS["eval_prompts"] and facts["lookups"] > 0
    assert 0 <= facts["exact_share"] <= 1 and facts["stated"] >= facts["lookups"]


def test_the_report_carries_every_figure_for_both_models_and_the_forgetting_check(mini_demo):
    report = json.loads(mini_demo.report.read_text())
    for model in ("lmlm", "standard"):
        grounded = report[model]["grounded"]
        assert grounded["outputs"] == MINI_DEMO_FLAGS["eval_prompts"] and grounded["stated"] > 0
        assert grounded["true"] <= grounded["stated"] and 0 <= grounded["precision"] <= 1
    assert report["lmlm"]["grounded"]["through_lookup"] > 0
    assert report["standard"]["grounded"]["through_lookup"] == 0  # it makes no lookups
    assert report["decoding"]["entities_from_context"] is MINI_DEMO_FLAGS["entities_from_context"]
    forgetting = report["forgetting"]
    assert forgetting["relation"]["forgotten"] == "Place of birth"
    for check in ("relation", "relation_fuzzy_resolver", "people", "people_fuzzy_resolver"):
        assert forgetting[check]["outputs"] == MINI_DEMO_FLAGS["eval_prompts"]
        assert 0 <= forgetting[check]["stating"] <= forgetting[check]["outputs"]
    # the forgotten facts were looked up and missed: the model wrote that they are unknown
    assert forgetting["people"]["misses"] > 0
    training = report["training"]
    assert training["lmlm"]["steps"] > 0 and training["standard"]["tokens"] > 0
    assert training["seconds"] == round(training["lmlm"]["seconds"] + training["standard"]["seconds"], 1)
    assert set(report["stages"]) == {"world", "tokenizer", "lmlm", "standard", "kg", "report"}
    assert [t["figure"] for t in report["targets"]] == [t[0] for t in TARGETS]
    assert all(isinstance(t["met"], bool) for t in report["targets"])
    # the evaluation worked on copies: the demo's store still holds every fact
    with KnowledgeGraph.open(mini_demo.kg) as kg:
        assert kg.lookup(report["samples"][0]["lookups"][0]["entity"], "Place of birth").path == "exact"


@pytest.mark.slow
def test_changing_a_training_setting_rebuilds_from_that_stage_on(mini_demo, tmp_path):
    stamps = json.loads(mini_demo.stamps.read_text())
    config = DemoConfig(**{**MINI_DEMO_FLAGS, "max_new_tokens": 8})
    said: list[str] = []
    build_demo(mini_demo.root, config, say=said.append, show_progress=False)
    assert said == ["demo build: report ...", said[1]] and said[1].startswith("demo build: report done")
    after = json.loads(mini_demo.stamps.read_text())
    assert {k: v for k, v in after.items() if k != "report"} == {
        k: v for k, v in stamps.items() if k != "report"
    }
    build_demo(mini_demo.root, DemoConfig(**MINI_DEMO_FLAGS), say=lambda _m: None)  # back as it was


@pytest.mark.slow
def test_demo_run_edits_and_forgets_then_leaves_the_store_as_it_was(mini_demo, monkeypatch, capsys):
    monkeypatch.setenv("LMLM_HOME", str(mini_demo.root.parent))
    with KnowledgeGraph.open(mini_demo.kg) as kg:
        facts_before = kg.store.stats().facts
    assert main(["demo", "--walkthrough", "--json", *_flags()]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {row["path"] for row in data["lookups"]} >= {"exact", "fuzzy", "miss"}
    assert len(data["generated"]) == 3
    edit = data["edit"]
    edited = [
        r
        for r in edit["after_edit"]["lookups"]
        if (r["entity"], r["relation"]) == (edit["entity"], edit["relation"])
    ]
    assert all(r["value"] == edit["new_value"] for r in edited)
    forgotten = [
        r
        for r in edit["after_forget"]["lookups"]
        if (r["entity"], r["relation"]) == (edit["entity"], edit["relation"])
    ]
    assert all(r["path"] == "miss" for r in forgotten)
    assert all(value in edit["after_forget"]["text"] for value in edit["still_stated"])
    assert data["without_lookups"]["lookups"] == []
    with KnowledgeGraph.open(mini_demo.kg) as kg:
        assert kg.store.stats().facts == facts_before
        assert kg.check() == []
        assert kg.lookup(edit["entity"], edit["relation"]).value == edit["old_value"]


@pytest.mark.slow
def test_demo_text_output_shows_each_part(mini_demo, monkeypatch, capsys):
    from transformers.utils import logging as transformers_logging

    monkeypatch.setenv("LMLM_HOME", str(mini_demo.root.parent))
    transformers_logging.enable_progress_bar()
    assert main(["demo", "--walkthrough", *_flags()]) == 0
    assert transformers_logging.is_progress_bar_enabled()  # off during the command only
    out = capsys.readouterr().out
    for part in ("1. Lookups", "2. Generation", "3. Edit the store", "4. The same prompt", "lmlm generate"):
        assert part in out


def test_flags_map_onto_demo_config():
    args = build_parser().parse_args(["demo", "build", *_flags(), "--preset", "tiny-gpt2", "--lr", "0.01"])
    assert (args.action, args.force) == ("build", False)
    assert dataclass_from_args(DemoConfig, args) == DemoConfig(**MINI_DEMO_FLAGS, preset="tiny-gpt2", lr=0.01)
    assert dataclass_from_args(DemoConfig, build_parser().parse_args(["demo"])) == DemoConfig()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--people", "3"], "error: --people must be >= 10, got 3\n"),
        (["--absent-share", "1.5"], "error: --absent-share must be in [0, 1), got 1.5\n"),
    ],
)
def test_bad_demo_settings_are_refused_with_the_flag(flags, message, capsys):
    assert main(["demo", "build", *flags]) == 1
    assert capsys.readouterr().err == message


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--preset", "huge"], "argument --preset: invalid choice: 'huge'"),
        (["--forget-relation", "Favourite colour"], "argument --forget-relation: invalid choice"),
        (["--relation-order", "alphabetical"], "argument --relation-order: invalid choice"),
    ],
)
def test_a_setting_outside_its_choices_is_refused_by_the_parser(flags, named, capsys):
    with pytest.raises(SystemExit):
        main(["demo", *flags])
    assert named in capsys.readouterr().err.splitlines()[-1]


def test_the_edit_step_shows_a_prompt_whose_lookup_is_about_its_own_person():
    from lmlm.cli.demo import _edit_prompt
    from lmlm.model.results import GenerationOutput, LookupRecord

    def out(entity: str, path: str) -> GenerationOutput:
        record = LookupRecord(entity, "Place of birth", "Lofe" if path == "exact" else "unknown", path)
        return GenerationOutput("", "", "", (record,), 4, "eos")

    chosen = [
        {"person": n, "prompt": f"{n} was born in", "relation": "Place of birth"} for n in ("A B", "C D")
    ]
    assert _edit_prompt(chosen, [out("A Bx", "miss"), out("C D", "exact")]) is chosen[1]
    assert _edit_prompt(chosen, [out("A Bx", "miss"), out("C Dx", "miss")]) is chosen[0]  # none: the first
