"""``lmlm annotate`` end to end: a run killed with SIGKILL (or stopped with Ctrl-C) in the middle,
then ``--resume``, finishes every text exactly once, and sends again at most the requests that
were in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from lmlm.annotation.chat_server import ChatServer
from lmlm.annotation.output import ANNOTATED, read_records
from lmlm.cli import main
from tests.annotation.conftest import gold_responder, write_inputs

CONCURRENCY = 4
_CLI = "import sys; from lmlm.cli import main; sys.exit(main())"


def _argv(inputs, out, server: ChatServer, *extra: str) -> list[str]:
    return [
        "annotate",
        str(inputs),
        "--out",
        str(out),
        "--model",
        "test-model",
        "--base-url",
        server.base_url,
        "--concurrency",
        str(CONCURRENCY),
        *extra,
    ]


def _wait_for_lines(path, n: int, proc: subprocess.Popen, limit: float = 120.0) -> int:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        lines = path.read_text().count("\n") if path.exists() else 0
        if lines >= n:
            return lines
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError(f"{path}: fewer than {n} records after {limit} s")


@pytest.mark.parametrize(
    ("sig", "exit_code"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)], ids=["SIGKILL", "Ctrl-C"]
)
def test_an_interrupted_run_resumes_without_duplicates(biographies, tmp_path, capsys, sig, exit_code):
    docs = biographies[:30]
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, docs)
    out = tmp_path / "out"
    env = os.environ | {"OPENAI_API_KEY": "test-key"}
    with ChatServer(gold_responder(docs), delay=0.3) as server:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLI, *_argv(inputs, out, server)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_lines(out / ANNOTATED, 8, proc)
            os.kill(proc.pid, sig)
        finally:
            proc.wait(timeout=60)
        assert proc.returncode == exit_code
        survived = [r["id"] for r in read_records(out / ANNOTATED)]
        assert 8 <= len(survived) < len(docs)
        sent_before = Counter(a.request_id for a in server.attempts)

        assert main(_argv(inputs, out, server, "--resume", "--json")) == 0
        report = json.loads(capsys.readouterr().out)
        sent = Counter(a.request_id for a in server.attempts)

    finished = [r["id"] for r in read_records(out / ANNOTATED)]
    assert sorted(finished) == [d["id"] for d in docs]  # every text, once
    assert finished[: len(survived)] == survived  # nothing written before the kill was lost
    assert not set(survived) & {i for i, n in sent.items() if n > sent_before[i]}  # nor sent again
    repeated = [i for i, n in sent.items() if n > 1]
    assert len(repeated) <= CONCURRENCY  # at most the requests in flight at the kill
    assert report["this_run"]["requests"] == len(docs) - len(survived)
    assert report["directory"]["accepted"] == len(docs) and report["directory"]["exact"] == len(docs)


def test_cli_prints_a_summary_and_imports_into_the_store(biographies, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    docs = biographies[:4]
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, docs)
    with ChatServer(gold_responder(docs)) as server:
        code = main(
            _argv(inputs, tmp_path / "out", server, "--store", str(tmp_path / "kg"), "--price-input", "1")
        )
    assert code == 0
    text = capsys.readouterr().out
    assert "annotator: test-model@lmlm-v1" in text and "4 accepted (4 exact, 0 repaired)" in text
    assert "facts added" in text and "report.json" in text
    assert (
        main(["kg", "--store", str(tmp_path / "kg"), "lookup", docs[0]["person"], "Date of birth", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["path"] == "exact"


def test_cli_flags_are_validated(tmp_path, capsys):
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, [{"id": "a", "text": "x"}])
    assert (
        main(["annotate", str(inputs), "--out", str(tmp_path / "o"), "--model", "m", "--concurrency", "0"])
        == 1
    )
    assert "--concurrency must be >= 1" in capsys.readouterr().err
    assert main(["annotate", str(inputs), "--model", "m"]) == 1
    assert "--out is required" in capsys.readouterr().err
