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


def test_the_demo_is_decoded_in_the_app_as_its_report_decodes_it(demo, tmp_path):
    from lmlm.app.state import Settings
    from lmlm.demo_build import DemoConfig

    build(demo)
    on_demo = AppConfig().with_defaults()
    assert on_demo.entities_from_context is DemoConfig().entities_from_context is True
    assert Settings.first(on_demo).decoding.entities_from_context is True
    # a choice given wins; `lmlm demo --no-entities-from-context` passes its own
    assert AppConfig(entities_from_context=False).with_defaults().entities_from_context is False
    assert AppConfig.of_demo(demo, entities_from_context=False).entities_from_context is False
    # a model of one's own is decoded with the option off unless asked
    own = AppConfig(model="my-model").with_defaults()
    assert own.entities_from_context is None and not Settings.first(own).decoding.entities_from_context
    assert Settings.first(AppConfig(model="m", entities_from_context=True)).decoding.entities_from_context


def test_the_option_travels_to_the_app_process_and_is_checked(demo):
    config = AppConfig(model="m", entities_from_context=True)
    assert AppConfig.from_env(config.to_env()) == config
    with pytest.raises(ValueError, match="entities_from_context must be true, false or null"):
        AppConfig.from_env({"LMLM_APP_CONFIG": '{"entities_from_context": "yes"}'})


def test_a_built_demo_is_decoded_as_its_report_says(demo):
    import json

    build(demo)
    demo.report.write_text(json.dumps({"decoding": {"entities_from_context": False}}), encoding="utf-8")
    assert demo.entities_from_context() is False  # `lmlm demo build --no-entities-from-context`
    assert AppConfig().with_defaults().entities_from_context is False
    assert AppConfig(entities_from_context=True).with_defaults().entities_from_context is True
    demo.report.write_text("{not json", encoding="utf-8")  # unreadable: the build's default
    assert demo.entities_from_context() is True
