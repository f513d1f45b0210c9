"""The start-up benchmark's cases: each a real new process, the model-loading ones once per thread
setting with ``OMP_NUM_THREADS`` set in the child (unset for ``default``), a failing process an
error carrying its stderr, and bad flags named."""

from __future__ import annotations

import sys

import pytest

from lmlm.evaluation.bench.startup import StartupBenchArgs, cases, run_case


def args_for(tmp_path, **more) -> StartupBenchArgs:
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "kg").mkdir(exist_ok=True)
    fields = {"model": str(tmp_path / "model"), "store": str(tmp_path / "kg"), "prompt": "Ko was"}
    return StartupBenchArgs(**{**fields, **more})


def test_model_loading_cases_run_once_per_thread_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # the parent's value never leaks into a child
    todo = cases(args_for(tmp_path, threads="1,default,1"))
    assert list(todo) == [
        "python",
        "import torch, transformers",
        "lmlm --help",
        "transformers load + generate [OMP_NUM_THREADS=1]",
        "lmlm generate [OMP_NUM_THREADS=1]",
        "transformers load + generate",
        "lmlm generate",
    ]
    assert todo["lmlm generate [OMP_NUM_THREADS=1]"][1]["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in todo["lmlm generate"][1]
    argv = todo["lmlm generate"][0]
    assert argv[:4] == [sys.executable, "-m", "lmlm.cli", "generate"] and argv[-2:] == [
        "--max-new-tokens",
        "32",
    ]


def test_a_case_is_timed_from_start_to_exit_and_a_failure_shows_its_stderr(tmp_path):
    env = cases(args_for(tmp_path))["python"][1]
    assert run_case([sys.executable, "-c", "pass"], env) > 0
    with pytest.raises(RuntimeError, match="exited 3: boom"):
        run_case([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], env)


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"threads": "0"}, "--threads takes integers >= 1 or 'default'"),
        ({"repeats": 0}, "--repeats must be >= 1"),
        ({"prompt": " "}, "--prompt must not be empty"),
    ],
)
def test_bad_settings_are_named(tmp_path, more, message):
    with pytest.raises(ValueError, match=message):
        args_for(tmp_path, **more)
