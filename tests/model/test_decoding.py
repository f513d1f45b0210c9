"""Lookup decoding with a model that really writes lookups (the session's mini demo) and the real
resolver over its embedded store: faithfulness to the paper's loop, provenance, edits, failures."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from lmlm import load_lmlm
from lmlm.cli import main
from lmlm.demo_build import DemoPaths
from lmlm.kg import KnowledgeGraph, ResolverConfig
from lmlm.kg.syntax import LOOKUP_TOKENS
from lmlm.model import DecodingArgs, LookupDecoder, RowFinished, TextDelta
from lmlm.model.reference import reference_generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prompts(mini_demo):
    records = [json.loads(line) for line in (mini_demo.world / "prompts.jsonl").read_text().splitlines()]
    return [r["prompt"] for r in records[:8]]


@pytest.fixture(scope="module")
def kg(mini_demo, tmp_path_factory):
    """A copy of the mini demo's store: the tests below edit and forget facts."""
    store = tmp_path_factory.mktemp("decoding") / "kg"
    shutil.copytree(mini_demo.kg, store)
    graph = KnowledgeGraph.open(store)
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def model(mini_demo, kg):
    return load_lmlm(mini_demo.model("lmlm"), kg, resolver_config=ResolverConfig(fuzzy=False))


OPTION_SETS = [
    {},
    {"logit_bias": "paper"},
    {"repetition_penalty": 1.3},
    {"max_lookups": 1},
    {"ignore_eos": True},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: ",".join(o) or "default")
def test_greedy_output_equals_the_papers_loop(model, prompts, options):
    args = DecodingArgs(max_new_tokens=24, **options)
    ours = LookupDecoder(model, model.lmlm_tokenizer, model.lookup_fn, args).generate(prompts)
    for prompt, out in zip(prompts, ours):
        ref = reference_generate(model, model.lmlm_tokenizer, model.lookup_fn, prompt, args)
        assert out.raw_text == ref.raw_text
        assert [(r.entity, r.relation, r.value, r.path) for r in out.lookups] == [
            (r.entity, r.relation, r.value, r.path) for r in ref.lookups
        ]
        assert out.text_tokens == ref.text_tokens
    # the comparison covered real lookups: most prompts make one (a prompt may make none)
    assert sum(bool(o.lookups) for o in ours) >= len(prompts) * 3 // 4
    if "max_lookups" in options:
        assert all(len(o.lookups) <= 1 for o in ours)
    else:
        assert sum(len(o.lookups) for o in ours) >= len(prompts)


def test_a_batch_gives_what_one_prompt_at_a_time_gives(model, prompts):
    batched = model.generate_outputs(prompts, max_new_tokens=24)
    for prompt, out in zip(prompts, batched):
        assert model.generate_outputs(prompt, max_new_tokens=24)[0].raw_text == out.raw_text


def test_every_lookup_says_where_its_value_came_from(model, kg, prompts):
    outputs = model.generate_outputs(prompts, max_new_tokens=24)
    exact = [(o, r) for o in outputs for r in o.lookups if r.path == "exact"]
    assert exact
    for out, record in exact:
        stored = kg.lookup(record.entity, record.relation)
        assert (record.value, record.fact_id, record.score) == (stored.value, stored.fact_id, 1.0)
        start, end = record.span
        assert 0 <= start <= end <= len(out.text)
    # (whether the words at the span repeat the value is the model's skill: the demo report's
    # faithful_share; the decoder only has to point at the right place)
    for out in outputs:
        assert not any(token in out.text for token in LOOKUP_TOKENS)
        assert out.text == model.post_process(out.raw_text)


def test_editing_and_forgetting_a_fact_changes_the_next_output_without_retraining(model, kg, prompts):
    # the first lookup of an output is made before any looked-up value can change the text
    outputs = model.generate_outputs(prompts, max_new_tokens=24)
    prompt, first = next(
        (o.prompt, o.lookups[0]) for o in outputs if o.lookups and o.lookups[0].path == "exact"
    )
    edit = kg.set_fact(first.entity, first.relation, "Edited Value")
    try:
        record = model.generate_outputs(prompt, max_new_tokens=24)[0].lookups[0]
        assert (record.entity, record.relation) == (first.entity, first.relation)
        assert record.value == "Edited Value" and record.fact_id == edit.added[0].id
        forget = kg.forget(first.entity, first.relation)
        record = model.generate_outputs(prompt, max_new_tokens=24)[0].lookups[0]
        assert (record.value, record.path, record.fact_id) == ("unknown", "miss", None)
        kg.undo(forget.id)
    finally:
        kg.undo(edit.id)
    assert kg.lookup(first.entity, first.relation).value == first.value


def test_an_empty_store_answers_unknown(model, prompts, tmp_path):
    with KnowledgeGraph.open(tmp_path / "empty") as empty:
        out = load_lmlm(model.name_or_path, empty).generate_outputs(prompts[:2], max_new_tokens=16)
    records = [r for o in out for r in o.lookups]
    assert records and all((r.value, r.path) == ("unknown", "miss") for r in records)


def test_a_failing_resolver_applies_the_policy_and_logs(model, prompts, caplog):
    def broken(lookups):
        raise RuntimeError("store went away")

    decoder = LookupDecoder(model, model.lmlm_tokenizer, broken, DecodingArgs(max_new_tokens=16))
    with caplog.at_level(logging.WARNING, logger="lmlm.model"):
        out = decoder.generate(prompts[:2])
    records = [r for o in out for r in o.lookups]
    assert records and all(r.path == "error" and r.value == "unknown" for r in records)
    assert "store went away" in records[0].error and "store went away" in caplog.text


def test_lookups_disabled_never_calls_the_resolver(model, prompts):
    calls = []

    def counting(lookups):
        calls.append(lookups)
        return model.lookup_fn(lookups)

    args = DecodingArgs(max_new_tokens=16, enable_lookup=False)
    out = LookupDecoder(model, model.lmlm_tokenizer, counting, args).generate(prompts[:3])
    assert calls == []
    assert all(r.path == "model" for o in out for r in o.lookups)


def test_streamed_pieces_add_up_to_the_final_text(model, prompts):
    pieces: dict[int, str] = {}
    finished = {}
    for event in model.stream_with_lookup(prompts[:3], max_new_tokens=20):
        if isinstance(event, TextDelta):
            pieces[event.index] = pieces.get(event.index, "") + event.text
        else:
            assert isinstance(event, RowFinished)
            finished[event.index] = event.output
    assert sorted(finished) == [0, 1, 2]
    for index, output in finished.items():
        assert pieces.get(index, "") == output.text


def _misspelt(prompt: str) -> str:
    name = prompt.split(" was ")[0].split(" works ")[0].split(" studied ")[0]
    return prompt.replace(name, name[:-1] + ("x" if name[-1] != "x" else "y"))


def test_top1_fallback_of_the_resolver_answers_a_misspelt_name_with_the_nearest_fact(model, kg, prompts):
    top1 = load_lmlm(model.name_or_path, kg, resolver_config=ResolverConfig(fallback="top1"))
    out = top1.generate_outputs([_misspelt(prompts[0])], max_new_tokens=16)[0]
    assert out.lookups and all(r.value != "unknown" and r.path in ("exact", "fuzzy") for r in out.lookups)


@pytest.mark.parametrize("reported", [True, False])
def test_lmlm_generate_decodes_the_demo_model_as_its_report_did(
    mini_demo, prompts, capsys, tmp_path, reported
):
    # a copy of the mini demo whose report says how it was decoded
    home = tmp_path / "home"
    shutil.copytree(mini_demo.root, home / "demo")
    report = json.loads((home / "demo" / "report.json").read_text(encoding="utf-8"))
    report["decoding"]["entities_from_context"] = reported
    (home / "demo" / "report.json").write_text(json.dumps(report), encoding="utf-8")
    demo = DemoPaths(home / "demo")
    own = ["--model", str(demo.model("lmlm")), "--store", str(demo.kg)]
    cases = [  # flags -> entities_from_context: the report's with the demo model, off with one's own
        ([], reported),
        (own, False),
        ([*own, "--entities-from-context"], True),
        (["--no-entities-from-context"], False),
    ]
    for flags, expected in cases:
        argv = ["generate", prompts[0], "--max-new-tokens", "4", "--json", *flags]
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("LMLM_HOME", str(home))
            assert main(argv) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["decoding"]["entities_from_context"] is expected, flags
        assert data["model"] == str(demo.model("lmlm")) and data["store"] == str(demo.kg)


def test_lmlm_generate_command_prints_json_with_provenance(mini_demo, prompts, capsys):
    argv = ["generate", prompts[0], prompts[1], "--model", str(mini_demo.model("lmlm"))]
    assert main([*argv, "--store", str(mini_demo.kg), "--max-new-tokens", "16", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [o["prompt"] for o in data["outputs"]] == prompts[:2]
    assert any(r["path"] == "exact" and r["fact_id"] for o in data["outputs"] for r in o["lookups"])
    assert main([*argv, "--store", str(mini_demo.kg), "--max-new-tokens", "8", "--stream"]) == 0
    assert prompts[0] in capsys.readouterr().out
    # --fallback is the resolver's policy: top1 answers a misspelt name instead of a miss
    argv = [
        "generate",
        _misspelt(prompts[0]),
        "--model",
        str(mini_demo.model("lmlm")),
        "--store",
        str(mini_demo.kg),
    ]
    assert main([*argv, "--max-new-tokens", "16", "--fallback", "top1", "--json"]) == 0
    lookups = json.loads(capsys.readouterr().out)["outputs"][0]["lookups"]
    assert lookups and all(r["path"] in ("exact", "fuzzy") and r["value"] != "unknown" for r in lookups)
    # every resolver flag reaches the resolver (those `lmlm kg calibrate` prints): without the fuzzy
    # path the misspelt name's lookups miss instead
    flags = ["--no-fuzzy", "--relation-threshold", "0.7", "--reference-cosine", "0.6"]
    assert main([*argv, "--max-new-tokens", "16", *flags, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    resolver = {k: data["resolver"][k] for k in ("fuzzy", "relation_threshold", "reference_cosine")}
    assert resolver == {"fuzzy": False, "relation_threshold": 0.7, "reference_cosine": 0.6}
    lookups = data["outputs"][0]["lookups"]
    assert lookups and all(r["path"] in ("exact", "miss") for r in lookups)
