"""``lmlm train tokenizer | pretrain | presets | annotator`` and ``python -m lmlm.train.pretrain_cli``:
flags onto their dataclasses, the annotator's ``--config`` underneath the flags, errors naming the
flag, JSON that parses."""

from __future__ import annotations

import json

import pytest

from lmlm.cli import build_parser, main
from lmlm.cli.common import dataclass_from_args
from lmlm.cli.train import annotator_settings
from lmlm.kg.syntax import LOOKUP_TOKENS
from lmlm.train import pretrain_cli
from lmlm.train.annotator_args import load_config
from lmlm.train.pretrain_args import PretrainArgs

PRESET = "annotator_llama31_8b"


def _json_out(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _pretrain_settings(*argv: str) -> PretrainArgs:
    return dataclass_from_args(PretrainArgs, build_parser().parse_args(["train", "pretrain", *argv]))


def test_pretrain_flags_map_onto_pretrain_args_with_both_out_spellings():
    short = _pretrain_settings("--out", "runs/a", "--tokenizer", "tok", "--batch-size", "4", "--resume")
    long = _pretrain_settings("--out-dir", "runs/a", "--tokenizer", "tok", "--batch-size", "4", "--resume")
    assert short == long == PretrainArgs(out_dir="runs/a", tokenizer="tok", batch_size=4, resume=True)
    argv = ["--out", "runs/b", "--init-from", "m", "--mode", "standard", "--precision", "bf16"]
    assert dataclass_from_args(PretrainArgs, pretrain_cli.build_parser().parse_args(argv)) == PretrainArgs(
        out_dir="runs/b", init_from="m", mode="standard", precision="bf16"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-size", "0"], "error: --batch-size must be >= 1, got 0"),
        (["--warmup", "-1"], "error: --warmup must be >= 0, got -1.0"),
        (["--eval-fraction", "1"], "error: --eval-fraction must be in (0, 1), got 1.0"),
    ],
)
def test_a_bad_pretrain_value_is_one_line_naming_the_flag(capsys, tmp_path, argv, message):
    out = tmp_path / "run"
    assert main(["train", "pretrain", "--out", str(out), "--tokenizer", "tok", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.err == message + "\n" and captured.out == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--mode", "masked"], "argument --mode: invalid choice: 'masked'"),
        (["--preset", "huge"], "argument --preset: invalid choice: 'huge'"),
        (["--max-steps", "many"], "argument --max-steps: invalid int value: 'many'"),
    ],
)
def test_a_value_argparse_rejects_names_the_flag_on_the_last_line(capsys, argv, flag):
    with pytest.raises(SystemExit) as info:
        main(["train", "pretrain", "--out", "o", "--tokenizer", "tok", *argv])
    assert info.value.code == 2
    assert flag in capsys.readouterr().err.strip().splitlines()[-1]


def test_pretrain_module_refuses_bad_settings_naming_the_flag(capsys):
    with pytest.raises(SystemExit) as info:
        pretrain_cli.main(["--out", "o", "--tokenizer", "tok", "--lr", "0"])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("error: --lr must be > 0, got 0.0")


def _annotator(*argv: str):
    return annotator_settings(build_parser().parse_args(["train", "annotator", *argv]))


def test_annotator_flags_given_go_on_top_of_the_preset_and_the_rest_come_from_it():
    preset = load_config(PRESET)
    settings = _annotator("--config", PRESET, "--data", "a.json", "b.json", "--lr", "1e-5", "--no-merge")
    assert (settings.data, settings.lr, settings.merge) == (("a.json", "b.json"), 1e-5, False)
    assert (settings.base_model, settings.epochs, settings.out_dir) == (
        preset["base_model"],
        preset["epochs"],
        preset["out_dir"],
    )
    assert settings.precision == preset["precision"] == "bf16"  # the preset's, not the field default
    off = _annotator("--config", PRESET, "--data", "a.json", "--no-gradient-checkpointing")
    assert preset.get("gradient_checkpointing", True) and off.gradient_checkpointing is False


def test_annotator_without_config_takes_every_setting_from_flags(tmp_path):
    settings = _annotator("--base-model", "m", "--data", "d.json", "--out", str(tmp_path), "--lora-r", "4")
    assert (settings.base_model, settings.data, settings.lora_r) == ("m", ("d.json",), 4)
    assert settings.lr == 2e-4  # the field default


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--config", PRESET, "--data", "a.json", "--lora-r", "0"], "error: --lora-r must be >= 1, got 0"),
        (["--base-model", "m", "--out", "o"], "error: --data needs at least one file, got ()"),
        (["--config", "no_such_preset"], "error: --config no_such_preset: no such file or packaged preset"),
    ],
)
def test_a_bad_annotator_setting_is_one_line_before_any_training(capsys, argv, message):
    assert main(["train", "annotator", *argv]) == 1
    assert capsys.readouterr().err == message + "\n"


def test_presets_list_as_json_and_as_text(capsys):
    assert main(["train", "presets", "--json"]) == 0
    rows = _json_out(capsys)
    assert {p["name"] for p in rows} >= {"tiny-2m", "tiny-8m", "tiny-gpt2", "paper-176m", "paper-382m"}
    assert main(["train", "presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(rows) and lines[0].startswith(rows[0]["name"])


def test_tokenizer_needs_data_or_extend(capsys, tmp_path):
    assert main(["train", "tokenizer", "--out", str(tmp_path / "tok")]) == 1
    assert "--data is required" in capsys.readouterr().err


@pytest.mark.slow
def test_trains_a_tokenizer_and_a_model_on_a_world(tmp_path, capsys):
    from transformers import AutoTokenizer

    from lmlm.train.world.data import WorldDataConfig, write_world

    world = tmp_path / "world"
    write_world(world, WorldDataConfig(people=8, variants=1))
    tok = tmp_path / "tok"
    argv = ["train", "tokenizer", "--data", str(world), "--out", str(tok), "--vocab-size", "300"]
    assert main([*argv, "--json"]) == 0
    summary = _json_out(capsys)
    assert summary["tokens"] == len(AutoTokenizer.from_pretrained(str(tok))) and summary["documents"] > 0
    assert sorted(summary["lookup_token_ids"]) == sorted(LOOKUP_TOKENS)

    out = tmp_path / "run"
    argv = ["train", "pretrain", "--data", str(world), "--tokenizer", str(tok), "--out", str(out)]
    argv += ["--preset", "tiny-gpt2", "--max-steps", "2", "--block-size", "32", "--batch-size", "2"]
    assert main([*argv, "--precision", "fp32", "--json"]) == 0
    result = _json_out(capsys)
    assert result["steps"] == 2 and (out / "final" / "config.json").is_file()
    eval_lines = (world / "corpus" / "eval.jsonl").read_text().splitlines()
    assert json.loads((out / "log.json").read_text())["data"]["eval_docs"] == len(eval_lines)


def test_extends_a_model_and_its_tokenizer(tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    from tests.tiny_models import build_plain_tokenizer, build_tiny_model

    base = build_plain_tokenizer()
    build_tiny_model(base).save_pretrained(str(tmp_path / "base"))
    base.save_pretrained(str(tmp_path / "base"))
    argv = ["train", "tokenizer", "--extend", str(tmp_path / "base"), "--out", str(tmp_path / "ext")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "model_resized: True" in text and f"tokens: {len(base) + 4}" in text
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "ext"))
    assert model.get_input_embeddings().weight.shape[0] == len(base) + 4
