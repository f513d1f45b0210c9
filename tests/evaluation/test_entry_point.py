"""Evaluation scripts build one frozen ``...Args`` dataclass at their entry point: flags from its
fields, paths only from flags, and a missing path an error that names the flag and the path."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lmlm.evaluation import fuzzy_modes, paper_samples
from lmlm.evaluation.bench import decoding, fuzzy_index, kg_bench, train_throughput
from lmlm.evaluation.entry_point import parse_script_args

ARGS = [
    paper_samples.PaperSamplesArgs,
    fuzzy_modes.FuzzyModesArgs,
    kg_bench.KgBenchArgs,
    fuzzy_index.FuzzyBenchArgs,
    decoding.DecodingBenchArgs,
    train_throughput.ThroughputArgs,
]


@pytest.mark.parametrize("cls", ARGS, ids=lambda cls: cls.__name__)
def test_each_script_has_a_frozen_args_dataclass_with_help_on_every_field(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert all(f.metadata.get("help") for f in dataclasses.fields(cls))


def paper_dir(tmp_path, *skip: str):
    for pattern in [*paper_samples.TRAIN_FILES.values(), *paper_samples.EVAL_FILES.values()]:
        if pattern not in skip:
            (tmp_path / pattern.replace("*", "x")).write_text(json.dumps({"examples": []}))
    return tmp_path


def test_paper_samples_takes_its_data_only_from_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LMLM_PAPER_DATA", str(paper_dir(tmp_path)))  # no longer a default
    with pytest.raises(SystemExit):
        parse_script_args(paper_samples.PaperSamplesArgs, ["--out", str(tmp_path / "o")], "")
    assert "--data-dir" in capsys.readouterr().err
    missing = tmp_path / "absent"
    with pytest.raises(SystemExit):
        paper_samples.main(["--data-dir", str(missing), "--out", str(tmp_path / "o")])
    assert f"--data-dir {missing}: no such directory" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_paper_samples_names_the_file_a_data_dir_lacks(tmp_path):
    with pytest.raises(
        ValueError, match=r"--data-dir .*: expected one file matching 'squad-eval100_\*.json'"
    ):
        paper_samples.PaperSamplesArgs(str(paper_dir(tmp_path, "squad-eval100_*.json")), str(tmp_path))
    args = paper_samples.PaperSamplesArgs(str(paper_dir(tmp_path)), str(tmp_path / "o"), max_steps=3)
    assert args.max_steps == 3 and dataclasses.asdict(args)["data_dir"] == str(tmp_path)
    with pytest.raises(ValueError, match="--epochs > 0"):
        dataclasses.replace(args, epochs=0)


def test_train_throughput_names_a_missing_data_path(tmp_path, capsys):
    missing = tmp_path / "absent.jsonl"
    with pytest.raises(SystemExit):
        train_throughput.main(["--data", str(missing)])
    assert f"--data {missing}: no such file or directory" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"--steps \(2\) must exceed --warmup-steps \(2\)"):
        train_throughput.ThroughputArgs(steps=2)


def test_decoding_names_the_missing_demo_paths(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))  # no demo built there
    with pytest.raises(SystemExit):
        decoding.main([])
    prompts = tmp_path / "home" / "demo" / "world" / "prompts.jsonl"
    assert f"--prompts {prompts}: no such file" in capsys.readouterr().err
    prompts.parent.mkdir(parents=True)
    prompts.write_text("")
    with pytest.raises(SystemExit):
        decoding.main(["--store", str(tmp_path / "no-store")])
    assert f"--store {tmp_path / 'no-store'}: no such directory" in capsys.readouterr().err
    (tmp_path / "kg").mkdir()
    with pytest.raises(ValueError, match="--model .*: no such directory"):
        decoding.DecodingBenchArgs(str(tmp_path / "no-model"), str(tmp_path / "kg"), str(prompts))
