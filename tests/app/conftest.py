"""Fixtures of the app's tests: the session's mini demo (its models and a store built from its
world, fuzzy index included), a fresh copy of that store per test, and an ``AppTest`` of the app
started on it.

``LMLM_TEST_MINI_DEMO=DIR`` builds (once) and reuses the mini demo under DIR instead of a new one
per session: the same settings, so a developer iterating on the app skips the minute of training.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmlm.app.config import AppConfig
from tests.conftest import MINI_DEMO_FLAGS

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
TIMEOUT = 180  # seconds for one script run of AppTest (a decode on a busy 2-core machine)
HOSTILE = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)"> & "quotes" \'too\'',
    "**bold** _it_ `code` [link](http://example.com) :red[red] :tada: $x^2$ # h",
    "emoji 🎉 naïve 東京 ✓",
]


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """The app sets torch's thread count for its process (here: pytest's); later tests get it back."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def app_demo(request):
    """``DemoPaths`` of the mini demo."""
    from lmlm.demo_build import DemoConfig, DemoPaths, build_demo

    root = os.environ.get("LMLM_TEST_MINI_DEMO")
    if not root:
        return request.getfixturevalue("mini_demo")
    paths = DemoPaths(Path(root))
    build_demo(paths.root, DemoConfig(**MINI_DEMO_FLAGS), say=lambda _m: None, show_progress=False)
    return paths


@pytest.fixture(scope="session")
def indexed_store(app_demo, tmp_path_factory) -> Path:
    """The mini demo's store with its fuzzy index built (a copy: the demo's own stays as built)."""
    from lmlm.kg import KnowledgeGraph

    target = tmp_path_factory.mktemp("indexed") / "kg"
    shutil.copytree(app_demo.kg, target)
    with KnowledgeGraph.open(target) as kg:
        kg.build_fuzzy_index()
    return target


@pytest.fixture
def demo_store(indexed_store, tmp_path) -> Path:
    """A copy of the indexed mini demo store that a test may change."""
    target = tmp_path / "kg"
    shutil.copytree(indexed_store, target)
    return target


@pytest.fixture
def app_config(app_demo, demo_store) -> AppConfig:
    return AppConfig(
        store=str(demo_store),
        model=str(app_demo.model("lmlm")),
        standard_model=str(app_demo.model("standard")),
        prompts=str(app_demo.world / "prompts.jsonl"),
    )


@pytest.fixture
def start_app(monkeypatch, tmp_path) -> Callable:
    """``start_app(config)``: an ``AppTest`` of the app on ``config``, after its first run."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))

    def start(config: AppConfig):
        monkeypatch.setenv("LMLM_APP_CONFIG", config.to_env()["LMLM_APP_CONFIG"])
        at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
        return at.run()

    return start


def held_out_prompts(app_demo, n: int = 30) -> list[dict]:
    lines = (app_demo.world / "prompts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:n]]


@dataclass(frozen=True)
class EditCase:
    """A prompt whose output looks a value up exactly, and another value of that relation to set."""

    prompt: str
    entity: str
    relation: str
    old_value: str
    new_value: str


@pytest.fixture(scope="session")
def edit_case(app_demo, indexed_store) -> EditCase:
    """Found by decoding held-out prompts as the app does (greedy, 48 text tokens, one thread)."""
    import torch

    from lmlm.api import load_lmlm
    from lmlm.kg import KnowledgeGraph
    from lmlm.model import DecodingArgs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with KnowledgeGraph.open(indexed_store) as kg:
            model = load_lmlm(app_demo.model("lmlm"), kg)
            prompts = [r["prompt"] for r in held_out_prompts(app_demo, 16)]
            for out in model.generate_outputs(prompts, args=DecodingArgs(max_new_tokens=48)):
                for r in out.lookups:
                    values = {f.value for f in kg.store.iter_facts() if f.relation == r.matched_relation}
                    others = sorted(v for v in values if v != r.value and " " in v)
                    if r.path == "exact" and r.span is not None and others:
                        return EditCase(out.prompt, r.matched_entity, r.matched_relation, r.value, others[0])
    finally:
        torch.set_num_threads(threads)
    pytest.fail("the mini demo's LMLM made no exact lookup in 16 held-out prompts")
