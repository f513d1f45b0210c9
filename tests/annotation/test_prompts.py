"""Prompt templates: versioned ids, valid default examples, replaceable examples, the SFT prompt."""

from __future__ import annotations

import json

import pytest

from lmlm.annotation import BackendConfig, RunConfig, choose_prompt, get_prompt, load_examples
from lmlm.annotation.prompts import DEFAULT_PROMPT, SFT_PROMPT
from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import format_annotated_call, parse_annotated, strip_lookups
from lmlm.train.annotator import build_annotator_messages


def test_the_default_prompt_has_rules_and_valid_examples_as_chat_turns():
    prompt = get_prompt()
    assert prompt.id == DEFAULT_PROMPT and len(prompt.examples) >= 3
    messages = prompt.messages("Some text.")
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * len(prompt.examples) + [
        "user"
    ]
    assert messages[-1]["content"] == "Some text."
    system = messages[0]["content"]
    for rule in ("exactly as given", "immediately before", "full name", "relation name", "concise"):
        assert rule in system
    assert parse_annotated(system).calls  # shows the call format itself, and it parses
    for example in prompt.examples:
        assert strip_lookups(example.annotated) == example.text and parse_annotated(example.annotated).calls


def test_the_sft_prompt_is_the_one_lmlm_train_annotator_trains_with():
    assert get_prompt(SFT_PROMPT).messages("A text.") == build_annotator_messages("A text.")


def test_auto_picks_the_sft_prompt_for_an_adapter(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "base"}))
    run = RunConfig(out="o")
    assert choose_prompt(run, BackendConfig(backend="local", model=str(tmp_path))).id == SFT_PROMPT
    assert choose_prompt(run, BackendConfig(backend="local", model="some/base")).id == DEFAULT_PROMPT
    assert choose_prompt(run, BackendConfig(model="gpt-4o")).id == DEFAULT_PROMPT
    assert choose_prompt(RunConfig(out="o", prompt=SFT_PROMPT), BackendConfig(model="m")).id == SFT_PROMPT


def test_user_examples_replace_the_default_ones_and_name_the_prompt(tmp_path):
    call = format_annotated_call("Tartu", "Country", "Estonia")
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"annotated_text": f"Tartu is in {call} Estonia."}) + "\n")
    prompt = get_prompt(DEFAULT_PROMPT, path)
    assert prompt.id.startswith("lmlm-v1+mine-") and len(prompt.id) == len("lmlm-v1+mine-") + 8
    assert [e.text for e in prompt.examples] == ["Tartu is in Estonia."]
    assert prompt.system == get_prompt().system


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"text": "Tartu is in Estonia.", "annotated_text": "Tartu is in Estonia."}, "no lookup call"),
        (
            {
                "text": "Tartu is in Latvia.",
                "annotated_text": "Tartu is in [dblookup('Tartu', 'Country') -> Estonia] Estonia.",
            },
            "does not give back",
        ),
        (
            {"annotated_text": "Tartu is in [dblookup('Tartu' 'Country') -> Estonia] Estonia."},
            "does not parse",
        ),
    ],
)
def test_a_bad_example_names_file_and_line(tmp_path, record, match):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + json.dumps(record) + "\n")
    with pytest.raises(InputFormatError, match=rf"bad\.jsonl: line 2: .*{match}"):
        load_examples(path)


def test_unknown_prompt_id_is_refused():
    with pytest.raises(ValueError, match="--prompt must be one of"):
        get_prompt("lmlm-v9")


def test_importing_the_package_loads_neither_torch_nor_openai():
    import subprocess
    import sys

    code = (
        "import sys, lmlm.annotation, lmlm.annotation.pipeline, lmlm.annotation.chat_server;"
        "heavy = [m for m in ('torch', 'transformers', 'openai', 'vllm') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
