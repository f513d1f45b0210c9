"""FActScore through the openai package against a local chat-completions server."""

from __future__ import annotations

import json
import math

import pytest

from lmlm.evaluation.factscore import (
    FactScoreArgs,
    GenerationFacts,
    aggregate,
    length_penalty,
    read_verdict,
    run_factscore,
)
from lmlm.kg.errors import InputFormatError
from tests.evaluation.chat_server import ChatServer

KEY = "test-key-from-the-environment"


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("LMLM_TEST_JUDGE_KEY", KEY)
    with ChatServer(KEY) as s:
        yield s


def _write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_facts_are_extracted_judged_and_scored_with_the_length_penalty(server, tmp_path):
    generations = _write(
        tmp_path / "g.jsonl",
        [
            {
                "system": "lmlm",
                "topic": "Ada Kalo",
                "output": "Ada Kalo was born in Velfalls. She works as a pilot and she received the Lantern Award.",
                "passages": ["Ada Kalo: Place of birth is Velfalls.", "Ada Kalo: Occupation is chef."],
            },
            {
                "system": "lmlm",
                "topic": "Ada Kalo",
                "output": "",
                "passages": ["Ada Kalo: Occupation is chef."],
            },
        ],
    )
    args = FactScoreArgs(model="judge-1", base_url=server.base_url, api_key_env="LMLM_TEST_JUDGE_KEY")
    report = run_factscore(args, generations, tmp_path / "out", show_progress=False)
    lmlm = report["systems"]["lmlm"]
    # 3 facts (one sentence, then one split at " and "), 1 supported; the empty output abstains
    assert (
        lmlm["facts"] == 3 and lmlm["supported"] == 1 and lmlm["responded"] == 1 and lmlm["generations"] == 2
    )
    assert lmlm["factscore_no_penalty"] == pytest.approx(1 / 3, abs=1e-4)
    assert lmlm["factscore"] == pytest.approx(1 / 3 * math.exp(1 - 10 / 3), abs=1e-4)
    assert lmlm["items"][0]["supported"] == [True, False, False]
    assert report["requests"] == 2 + 3 == len(server.requests)
    assert all(r["auth"] == f"Bearer {KEY}" and r["body"]["model"] == "judge-1" for r in server.requests)
    assert all(r["body"]["temperature"] == 0 for r in server.requests)
    assert json.loads((tmp_path / "out" / "factscore.json").read_text())["systems"]["lmlm"]["facts"] == 3


def test_world_passages_stand_in_when_a_record_has_none(server, tmp_path):
    from lmlm.evaluation.world_sets import WorldSets
    from lmlm.train.world import WorldDataConfig, write_world

    write_world(tmp_path / "w", WorldDataConfig(people=12, names="given", complete=True))
    person = WorldSets(tmp_path / "w").world.people[0]
    place = person.facts["Place of birth"]
    generations = _write(
        tmp_path / "g.jsonl", [{"topic": person.name, "output": f"{person.name} was born in {place}."}]
    )
    args = FactScoreArgs(base_url=server.base_url, api_key_env="LMLM_TEST_JUDGE_KEY", gamma=0)
    report = run_factscore(
        args, generations, tmp_path / "o", world_dir=str(tmp_path / "w"), show_progress=False
    )
    assert report["systems"]["model"]["factscore"] == 1.0
    with pytest.raises(ValueError, match="--world"):
        run_factscore(args, generations, tmp_path / "o", show_progress=False)


def test_the_command_reads_its_flags(server, tmp_path, capsys):
    from lmlm.cli import main

    generations = _write(
        tmp_path / "g.jsonl", [{"topic": "Ko", "output": "Ko was born in Oslo.", "passages": ["Oslo"]}]
    )
    argv = ["eval", "factscore", "--generations", generations, "--out", str(tmp_path / "o"), "--json"]
    argv += [
        "--base-url",
        server.base_url,
        "--api-key-env",
        "LMLM_TEST_JUDGE_KEY",
        "--model",
        "judge-2",
        "--no-progress",
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["systems"]["model"]["factscore_no_penalty"] == 1.0
    assert server.requests[-1]["body"]["model"] == "judge-2"


def test_the_key_comes_only_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LMLM_TEST_JUDGE_KEY", raising=False)
    generations = _write(tmp_path / "g.jsonl", [{"topic": "t", "output": "x.", "passages": []}])
    args = FactScoreArgs(base_url="http://127.0.0.1:9/v1", api_key_env="LMLM_TEST_JUDGE_KEY")
    with pytest.raises(ValueError, match=r"\$LMLM_TEST_JUDGE_KEY"):
        run_factscore(args, generations, tmp_path / "o", show_progress=False)


def test_bad_records_and_verdicts_and_penalty(tmp_path):
    bad = _write(tmp_path / "b.jsonl", [{"topic": "t", "output": "x", "passages": "not a list"}])
    with pytest.raises(InputFormatError, match="record 1"):
        run_factscore(FactScoreArgs(), bad, tmp_path / "o", show_progress=False)
    assert read_verdict("True.") and not read_verdict("False") and read_verdict("False... no, true")
    assert not read_verdict("I cannot tell") and read_verdict("Yes")
    assert length_penalty(5, 10) == pytest.approx(math.exp(-1)) and length_penalty(12, 10) == 1.0
    assert length_penalty(3, 0) == 1.0
    summary = aggregate(
        [GenerationFacts("t", ("a", "b"), (True, False)), GenerationFacts("t", (), ())], gamma=0
    )
    assert summary["factscore"] == 0.5 and summary["responded"] == 1
