"""The OpenAI-compatible backend against a local chat-completions server: retries (the openai
client's own) on 429 with Retry-After, 5xx and timeouts; bounded concurrency; failures reported
and sent again on --resume; usage and cost; rejected responses counted; import into a store."""

from __future__ import annotations

import json

import pytest

from lmlm.annotation import BackendConfig, RunConfig, annotate
from lmlm.annotation.chat_server import ChatServer
from lmlm.annotation.output import ANNOTATED, REJECTED, read_records
from lmlm.kg import KnowledgeGraph
from lmlm.kg.syntax import strip_lookups
from tests.annotation.conftest import gold_responder, write_inputs


def _backend(server: ChatServer, **overrides) -> BackendConfig:
    settings = {"model": "test-model", "base_url": server.base_url, "concurrency": 4, "timeout": 2.0}
    return BackendConfig(**(settings | overrides))


def _ids(path) -> list[str]:
    return [r["id"] for r in read_records(path)]


def test_the_clients_retries_get_through_429_5xx_and_timeouts(biographies, tmp_path):
    docs = biographies[:8]
    write_inputs(tmp_path / "in.jsonl", docs)
    faults = {"bio-000": ["429"], "bio-001": ["500", "503"], "bio-002": ["timeout"]}
    with ChatServer(gold_responder(docs), faults=faults, retry_after=1.0, hang=4.0) as server:
        backend = _backend(server, timeout=1.0, max_retries=3, price_input=2.0, price_output=8.0)
        report = annotate([tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), backend)
        first, second = server.attempts_for("bio-000")
        assert [a.outcome for a in server.attempts_for("bio-001")] == ["500", "503", "ok"]
        assert [a.outcome for a in server.attempts_for("bio-002")] == ["timeout", "ok"]
    assert second.at - first.at >= 0.95  # Retry-After: 1 was honoured (the default backoff is 0.5 s)
    run = report["this_run"]
    assert run["completed"] == 8 and run["failed"] == 0 and run["exact"] == 8
    assert run["backend"]["http_errors"] == {"429": 1, "500": 1, "503": 1}
    assert run["backend"]["retries"] >= 4 and run["backend"]["attempts_without_response"] >= 1
    assert run["prompt_tokens"] > 0 and run["completion_tokens"] > 0
    expected_cost = (run["prompt_tokens"] * 2.0 + run["completion_tokens"] * 8.0) / 1e6
    assert run["cost_usd"] == pytest.approx(expected_cost, rel=1e-6)
    records = list(read_records(tmp_path / "out" / ANNOTATED))
    assert sorted(r["id"] for r in records) == [d["id"] for d in docs]
    gold = {d["id"]: d["annotated_text"] for d in docs}
    assert all(r["annotated_text"] == gold[r["id"]] for r in records)


def test_concurrency_is_bounded_and_used(biographies, tmp_path):
    write_inputs(tmp_path / "in.jsonl", biographies[:24])
    with ChatServer(gold_responder(biographies), delay=0.2) as server:
        annotate(
            [tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), _backend(server, concurrency=6)
        )
    assert server.max_in_flight == 6


def test_a_request_that_keeps_failing_is_reported_then_sent_again_on_resume(biographies, tmp_path):
    docs = biographies[:6]
    write_inputs(tmp_path / "in.jsonl", docs)
    run = RunConfig(out=str(tmp_path / "out"))
    with ChatServer(gold_responder(docs), faults={"bio-003": ["500"] * 10}) as server:
        report = annotate([tmp_path / "in.jsonl"], run, _backend(server, max_retries=2))
        assert len(server.attempts_for("bio-003")) == 3  # 1 + max_retries
    assert report["this_run"]["failed"] == 1 and "bio-003" in report["this_run"]["failures"]
    assert "InternalServerError" in report["this_run"]["failures"]["bio-003"]
    assert "bio-003" not in _ids(tmp_path / "out" / ANNOTATED)

    with ChatServer(gold_responder(docs)) as server:
        report = annotate([tmp_path / "in.jsonl"], RunConfig(out=run.out, resume=True), _backend(server))
        assert [a.request_id for a in server.attempts] == ["bio-003"]  # only what was missing
    assert sorted(_ids(tmp_path / "out" / ANNOTATED)) == [d["id"] for d in docs]
    assert report["directory"]["accepted"] == 6 and report["this_run"]["requests"] == 1


def test_a_response_that_changed_the_text_is_rejected_and_counted(biographies, tmp_path):
    docs = biographies[:10]
    write_inputs(tmp_path / "in.jsonl", docs)
    gold = gold_responder(docs)
    spoiled = {d["text"] for d in docs[::3] if " was " in d["text"]}

    def respond(text: str) -> str:
        return gold(text).replace(" was ", " is ", 1) if text in spoiled else gold(text)

    with ChatServer(respond) as server:
        report = annotate([tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), _backend(server))
    assert 2 <= len(spoiled) < 10
    assert report["this_run"]["rejected"] == len(spoiled) == report["directory"]["rejected"]
    assert report["directory"]["rejected_reasons"] == {"changed": len(spoiled)}
    rejected = list(read_records(tmp_path / "out" / REJECTED))
    assert {r["text"] for r in rejected} == spoiled
    assert all("'was' became 'is'" in r["validation"]["detail"] and r["response"] for r in rejected)
    accepted = list(read_records(tmp_path / "out" / ANNOTATED))
    assert len(accepted) == 10 - len(spoiled)
    assert all(strip_lookups(r["annotated_text"]) == r["text"] for r in accepted)
    triples = [json.loads(line) for line in (tmp_path / "out" / "triples.jsonl").read_text().splitlines()]
    assert {t["source"] for t in triples} == {r["document_id"] for r in accepted}


def test_triples_reach_the_store_with_provenance(biographies, tmp_path):
    docs = biographies[:5]
    write_inputs(tmp_path / "in.jsonl", docs)
    with ChatServer(gold_responder(docs)) as server:
        run = RunConfig(out=str(tmp_path / "out"), store=str(tmp_path / "kg"))
        report = annotate([tmp_path / "in.jsonl"], run, _backend(server))
    assert report["store"]["added"] > 0 and report["triples"] >= report["store"]["added"]
    paper = json.loads((tmp_path / "out" / "annotated.json").read_text())
    assert len(paper["examples"]) == 5 and paper["metadata"]["prompt_id"] == "lmlm-v1"
    assert {"text", "annotated_text", "model_id", "prompt_id", "original_dataset_ids"} <= set(
        paper["examples"][0]
    )
    with KnowledgeGraph.open(tmp_path / "kg") as kg:
        facts = list(kg.store.iter_facts())
        answer = kg.lookup(docs[0]["person"], "Date of birth")
    assert answer.path == "exact" and answer.value
    assert {f.annotator for f in facts} == {"test-model@lmlm-v1"}
    assert {f.source for f in facts} <= {d["id"] for d in docs}


def test_resume_refuses_other_settings_and_a_fresh_run_refuses_an_old_directory(biographies, tmp_path):
    write_inputs(tmp_path / "in.jsonl", biographies[:2])
    with ChatServer(gold_responder(biographies)) as server:
        annotate([tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), _backend(server))
        with pytest.raises(FileExistsError, match="--resume continues it"):
            annotate([tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), _backend(server))
        with pytest.raises(ValueError, match="prompt_id"):
            run = RunConfig(out=str(tmp_path / "out"), resume=True, prompt="lmlm-sft-v1")
            annotate([tmp_path / "in.jsonl"], run, _backend(server))


def test_a_missing_key_for_openai_itself_is_an_error(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    write_inputs(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}])
    with pytest.raises(ValueError, match=r"\$OPENAI_API_KEY"):
        annotate([tmp_path / "in.jsonl"], RunConfig(out=str(tmp_path / "out")), BackendConfig(model="gpt-4o"))
