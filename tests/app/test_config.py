"""The app's paths when not given: the demo's files together when the demo is built and no model
of one's own is given, else the default store and no model."""

from __future__ import annotations

import pytest

from lmlm.app.config import AppConfig
from lmlm.demo_build import DemoPaths


@pytest.fixture
def demo(tmp_path, monkeypatch) -> DemoPaths:
    monkeypatch.setenv("LMLM_HOME", str(tmp_path))
    monkeypatch.delenv("LMLM_STORE", raising=False)
    return DemoPaths(tmp_path / "demo")


def build(demo: DemoPaths, *, prompts: bool = True) -> None:
    for folder in (demo.kg, demo.model("lmlm"), demo.model("standard")):
        folder.mkdir(parents=True)
    if prompts:
        demo.world.mkdir(parents=True)
        (demo.world / "prompts.jsonl").write_text('{"prompt": "Ko was born in"}\n')


def test_without_a_demo_the_default_store_and_no_model(demo, tmp_path):
    assert AppConfig().with_defaults() == AppConfig(store=str(tmp_path / "kg"))


def test_a_built_demo_gives_all_its_paths_as_lmlm_demo_opens_them(demo):
    build(demo)
    assert AppConfig().with_defaults() == AppConfig.of_demo(demo)
    mine = AppConfig(store="bolt://localhost:7687").with_defaults()  # a store of one's own, the demo's model
    assert mine == AppConfig(**{**vars(AppConfig.of_demo(demo)), "store": "bolt://localhost:7687"})


def test_a_model_of_ones_own_takes_nothing_from_the_demo(demo, tmp_path):
    build(demo)
    assert AppConfig(model="my-model").with_defaults() == AppConfig(
        store=str(tmp_path / "kg"), model="my-model"
    )


def test_demo_files_missing_are_left_out(demo):
    build(demo, prompts=False)
    got = AppConfig().with_defaults()
    assert got.prompts is None and got.model == str(demo.model("lmlm")) and got.store == str(demo.kg)
