"""``lmlm generate`` on a tiny random-weight model: flags made from ``DecodingArgs`` (help from the
fields), the resolver's flags, ``--no-lookup`` without a store, and clear errors."""

from __future__ import annotations

import json

import pytest

from lmlm import load_lmlm
from lmlm.cli import main
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    tokenizer = build_tiny_tokenizer(root)
    load_lmlm(build_tiny_model(tokenizer), tokenizer=tokenizer).save_pretrained(root / "model")
    return root / "model"


def test_help_lists_the_decoding_fields_with_their_help(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "text tokens to write per prompt" in text and "(default: 128)" in text
    for flag in (
        "--sample",
        "--no-lookup",
        "--no-constrain",
        "--entities-from-context",
        "--unknown-value",
        "--logit-bias",
        "--fallback",
        "--relation-threshold",
        "--reference-cosine",
        "--no-fuzzy",
    ):
        assert flag in text


def test_no_lookup_decodes_without_opening_a_store(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path))
    argv = ["generate", "Ko Itakura", "--model", str(model_dir), "--no-lookup", "--max-new-tokens", "3"]
    assert main([*argv, "--json", "--sample", "--seed", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["store"] is None and data["outputs"][0]["text_tokens"] + data["outputs"][0]["malformed"] >= 1
    assert all(r["path"] == "model" for r in data["outputs"][0]["lookups"])
    assert not (tmp_path / "kg").exists()


def test_lookups_need_an_existing_store_and_none_is_created(model_dir, tmp_path, capsys):
    argv = ["generate", "Ko Itakura", "--model", str(model_dir), "--store", str(tmp_path / "absent")]
    assert main(argv) == 1
    assert "no store here" in capsys.readouterr().err
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-new-tokens", "0"], "max_new_tokens must be >= 1"),
        (["--top-p", "0"], "top_p must be in (0, 1]"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
    ],
)
def test_bad_settings_are_named(model_dir, tmp_path, capsys, flags, message):
    assert main(["generate", "Ko", "--model", str(model_dir), "--store", str(tmp_path), *flags]) == 1
    assert message in capsys.readouterr().err


def test_fallback_choices_are_the_resolvers(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "Ko", "--fallback", "guess"])
    assert (
        "--fallback: invalid choice: 'guess' (choose from 'none', 'unknown', 'top1')"
        in capsys.readouterr().err
    )


def test_logit_bias_takes_paper_none_or_a_json_map(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "Ko", "--logit-bias", "strong"])
    assert "JSON map" in capsys.readouterr().err
