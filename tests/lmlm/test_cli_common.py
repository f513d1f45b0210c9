"""Flags made from dataclasses, and the inverse; printing a result; --no-progress for model loads."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from lmlm.cli.common import (
    add_dataclass_arguments,
    dataclass_from_args,
    dataclass_to_argv,
    emit,
    model_loading_bars,
    values_from_args,
)


@dataclass(frozen=True)
class ExampleArgs:
    out_dir: str = field(metadata={"help": "where outputs go", "flags": ("--out",)})
    mode: Literal["lmlm", "standard"] = field(default="lmlm", metadata={"help": "what to train"})
    steps: int = field(default=10, metadata={"help": "optimizer steps"})
    lr: float = field(default=1e-3, metadata={"help": "learning rate"})
    resume: bool = field(default=False, metadata={"help": "continue a run"})
    max_lookups: int | None = field(default=None, metadata={"help": "lookups per row"})
    data: tuple[str, ...] = field(default=(), metadata={"help": "input files"})

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"--steps must be >= 1, got {self.steps}")


def parser_for(cls, **kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_dataclass_arguments(parser, cls, **kwargs)
    return parser


def test_flags_parse_into_the_dataclass_with_types_and_defaults():
    args = parser_for(ExampleArgs).parse_args(
        ["--out", "runs/a", "--steps", "5", "--resume", "--data", "x", "y"]
    )
    built = dataclass_from_args(ExampleArgs, args)
    assert built == ExampleArgs("runs/a", "lmlm", 5, 1e-3, True, None, ("x", "y"))


def test_literal_becomes_choices_and_required_field_is_required():
    parser = parser_for(ExampleArgs)
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--out", "o", "--mode", "other"])
    with pytest.raises(SystemExit):  # argparse exits on a missing required flag
        parser.parse_args([])


def test_help_comes_from_field_metadata_with_defaults(capsys):
    parser_for(ExampleArgs).print_help()
    text = capsys.readouterr().out
    assert "optimizer steps (default: 10)" in text
    assert "--no-resume" in text and "{lmlm,standard}" in text


def test_validation_error_of_post_init_reaches_the_caller():
    args = parser_for(ExampleArgs).parse_args(["--out", "o", "--steps", "0"])
    with pytest.raises(ValueError, match="--steps must be >= 1, got 0"):
        dataclass_from_args(ExampleArgs, args)


def test_excluded_fields_keep_their_defaults_and_overrides_win():
    parser = parser_for(ExampleArgs, exclude=("lr",), defaults={"steps": 7})
    args = parser.parse_args(["--out", "o"])
    assert not hasattr(args, "lr")
    built = dataclass_from_args(ExampleArgs, args, mode="standard")
    assert (built.lr, built.steps, built.mode) == (1e-3, 7, "standard")


@pytest.mark.parametrize(
    "instance",
    [
        ExampleArgs("o"),
        ExampleArgs("runs/b", "standard", 3, 0.5, True, 2, ("a", "b c")),
    ],
)
def test_to_argv_is_the_inverse_of_parsing(instance):
    argv = dataclass_to_argv(instance)
    parsed = dataclass_from_args(ExampleArgs, parser_for(ExampleArgs).parse_args(argv))
    assert parsed == instance


@dataclass(frozen=True)
class SwitchArgs:
    dedupe: bool = field(default=True, metadata={"help": "drop repeats", "off_flags": ("--keep-duplicates",)})
    share: float = field(default=0.5, metadata={"help": "50% by default", "flags": ("--fraction",)})
    files: tuple[str, ...] = field(default=("a",), metadata={"help": "inputs"})


@pytest.mark.parametrize(
    ("argv", "dedupe"),
    [([], True), (["--no-dedupe"], False), (["--keep-duplicates"], False), (["--dedupe"], True)],
)
def test_off_flags_turn_a_bool_off_beside_its_pair(argv, dedupe):
    assert dataclass_from_args(SwitchArgs, parser_for(SwitchArgs).parse_args(argv)).dedupe is dedupe


def test_other_spellings_and_a_percent_sign_in_help(capsys):
    parser = parser_for(SwitchArgs)
    assert dataclass_from_args(SwitchArgs, parser.parse_args(["--fraction", "0.25"])).share == 0.25
    assert dataclass_from_args(SwitchArgs, parser.parse_args(["--share", "0.75"])).share == 0.75
    assert dataclass_from_args(SwitchArgs, parser.parse_args(["--files"])).files == ()
    parser.print_help()
    text = " ".join(capsys.readouterr().out.split())
    assert "50% by default (default: 0.5)" in text
    assert "--keep-duplicates same as --no-dedupe" in text
    assert text.count("(default: True)") == 1  # once, whatever BooleanOptionalAction adds on 3.10-3.12


def test_only_given_leaves_out_the_flags_not_given_for_a_file_underneath():
    parser = parser_for(ExampleArgs, only_given=True)
    args = parser.parse_args(["--steps", "3", "--no-resume", "--data", "x"])
    assert values_from_args(ExampleArgs, args) == {"steps": 3, "resume": False, "data": ("x",)}
    assert values_from_args(ExampleArgs, parser.parse_args([])) == {}  # out_dir may come from the file
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--data"])  # a list flag given holds a value
    from_file = {"out_dir": "o", "steps": 9, "lr": 0.5}
    assert ExampleArgs(**from_file | values_from_args(ExampleArgs, args)) == ExampleArgs(
        "o", steps=3, lr=0.5, resume=False, data=("x",)
    )


def test_emit_prints_json_or_the_text_or_key_value_lines(capsys):
    summary = {"out": "runs/a", "steps": 2}
    emit(argparse.Namespace(json=True), summary)
    assert json.loads(capsys.readouterr().out) == summary
    emit(argparse.Namespace(json=False), summary)
    assert capsys.readouterr().out == "out: runs/a\nsteps: 2\n"
    emit(argparse.Namespace(), summary, "two steps")
    assert capsys.readouterr().out == "two steps\n"


@pytest.mark.parametrize("shown_before", [True, False])
def test_model_loading_bars_are_off_inside_and_as_they_were_after(shown_before):
    from transformers.utils import logging as transformers_logging

    (
        transformers_logging.enable_progress_bar
        if shown_before
        else transformers_logging.disable_progress_bar
    )()
    try:
        with model_loading_bars(True):
            assert transformers_logging.is_progress_bar_enabled() == shown_before
        with model_loading_bars(False):
            assert not transformers_logging.is_progress_bar_enabled()
        assert transformers_logging.is_progress_bar_enabled() == shown_before  # the caller's setting
    finally:
        transformers_logging.enable_progress_bar()
