"""`lmlm data world | convert | clean` end to end, and the world's triples through `lmlm kg import`."""

from __future__ import annotations

import argparse
import json

import pytest

from lmlm.cli import build_parser, main
from lmlm.cli import data as data_commands
from lmlm.cli.common import dataclass_from_args
from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import LOOKUP_TOKENS
from lmlm.train.corpus import CleanConfig, load_documents
from lmlm.train.world.data import WorldDataConfig
from tests.paper_data import PAPER_DATA

PAPER = PAPER_DATA
SQUAD_EVAL = PAPER / "squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json"


def data(capsys, *argv: str) -> str:
    """Run ``lmlm data ...`` through a parser holding just the data group; returns stdout."""
    parser = argparse.ArgumentParser(prog="lmlm")
    data_commands.register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["data", *argv])
    assert (args.func(args) or 0) == 0
    return capsys.readouterr().out


def data_json(capsys, *argv: str) -> dict:
    return json.loads(data(capsys, *argv, "--json"))


def test_world_convert_clean_and_import(capsys, tmp_path, monkeypatch):
    world = tmp_path / "world"
    manifest = data_json(
        capsys, "world", "--out", str(world), "--people", "40", "--seed", "2", "--variants", "2"
    )
    assert (manifest["people"], manifest["heldout"], manifest["train_documents"]) == (40, 4, 72)
    assert (world / "manifest.json").is_file()

    text = data(capsys, "world", "--out", str(tmp_path / "w2"), "--people", "30", "--heldout", "0.2")
    assert "30 (6 held out" in text and "lmlm kg import" in text

    out = tmp_path / "standard.jsonl"
    converted = data_json(capsys, "convert", str(world), "--out", str(out), "--to", "standard")
    assert converted["written"] == 72 and converted["kept_share"] == 1.0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert not any(token in r["text"] for r in records for token in LOOKUP_TOKENS)
    assert set(records[0]) == {"id", "source", "text"}

    lmlm = tmp_path / "lmlm.jsonl"
    data(capsys, "convert", str(world), "--out", str(lmlm))
    assert [d.text for d in load_documents(lmlm)] == [r["text"] for r in records]

    report = data_json(
        capsys, "clean", str(lmlm), "--out", str(tmp_path / "clean.jsonl"), "--max-density", "15"
    )
    assert report["input"] == 72 and report["kept"] + sum(report["dropped"].values()) == 72
    assert report["dropped"]["dense"] > 0

    # the world's triples import into a store, and a held-out person's fact is there exactly
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    store = str(tmp_path / "store")
    assert main(["kg", "--store", store, "import", str(world / "triples.jsonl"), "--no-index", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["added"] == manifest["triples"]
    prompt = json.loads((world / "prompts.jsonl").read_text(encoding="utf-8").splitlines()[0])
    relation, value = next(iter(prompt["facts"].items()))
    assert main(["kg", "--store", store, "lookup", prompt["person"], relation, "--no-fuzzy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == value


def test_clean_prints_each_filter(capsys, tmp_path):
    source = tmp_path / "docs.jsonl"
    rows = [{"text": "A long enough text about nothing much at all, really."}] * 2 + [{"text": "tiny"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    text = data(capsys, "clean", str(source), "--out", str(tmp_path / "out.jsonl"))
    assert "kept 1 of 3 documents" in text
    assert "too_short    1" in text and "duplicate    1" in text


@pytest.mark.skipif(not SQUAD_EVAL.is_file(), reason=f"the paper's data files are not at {PAPER}")
def test_paper_file_needs_lenient_for_its_broken_call(capsys, tmp_path):
    out = tmp_path / "squad.jsonl"
    with pytest.raises(InputFormatError, match=r"examples\[66\]"):
        data(capsys, "convert", str(SQUAD_EVAL), "--out", str(out))
    assert not out.exists()
    result = data_json(capsys, "convert", str(SQUAD_EVAL), "--out", str(out), "--lenient")
    assert (result["written"], result["lookups"], result["dropped_lookups"]) == (99, 585, 1)
    annotated = data_json(
        capsys, "clean", str(SQUAD_EVAL), "--out", str(tmp_path / "a.jsonl"), "--lenient", "--to", "annotated"
    )
    assert annotated["kept"] == 97 and annotated["redundant_lookups_removed"] == 4
    first = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert "[dblookup(" in first["annotated_text"]


def test_bad_flags_raise_value_errors_naming_the_flag(capsys, tmp_path):
    with pytest.raises(ValueError, match="--heldout"):
        data(capsys, "world", "--out", str(tmp_path / "w"), "--heldout", "1.5")
    with pytest.raises(ValueError, match="--min-ratio"):
        data(
            capsys, "clean", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "y.jsonl"), "--min-ratio", "2"
        )
    assert not (tmp_path / "w").exists()


def test_world_with_given_names_and_complete_people(capsys, tmp_path):
    world = tmp_path / "given"
    data_json(capsys, "world", "--out", str(world), "--people", "50", "--names", "given", "--complete")
    people = json.loads((world / "world.json").read_text())["people"]
    assert all({"Award received", "Spouse", "Sibling", "Parent"} <= set(p["facts"]) for p in people)
    given = {p["name"].split()[0] for p in people}
    assert len(given) < len(people)  # given names recur across people


def _settings(cls, *argv: str):
    return dataclass_from_args(cls, build_parser().parse_args(["data", *argv]))


def test_world_flags_map_onto_world_data_config_old_spellings_included():
    settings = _settings(WorldDataConfig, "world", "--out", "w", "--heldout", "0.3", "--names", "given")
    assert settings == WorldDataConfig(heldout_fraction=0.3, names="given")
    assert _settings(WorldDataConfig, "world", "--out", "w", "--heldout-fraction", "0.3") == WorldDataConfig(
        heldout_fraction=0.3
    )
    assert _settings(WorldDataConfig, "world", "--out", "w", "--complete").complete is True


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], CleanConfig()),
        (["--keep-redundant", "--keep-duplicates"], CleanConfig(drop_redundant=False, dedupe=False)),
        (["--no-drop-redundant", "--no-dedupe"], CleanConfig(drop_redundant=False, dedupe=False)),
        (["--min-chars", "3", "--max-density", "7.5"], CleanConfig(min_chars=3, max_density=7.5)),
    ],
)
def test_clean_flags_map_onto_clean_config(argv, expected):
    assert _settings(CleanConfig, "clean", "in.jsonl", "--out", "o.jsonl", *argv) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["world", "--out", "W", "--people", "0"], "error: --people must be >= 1, got 0"),
        (["clean", "IN", "--out", "O", "--min-chars", "9", "--max-chars", "3"], "--max-chars"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_flag(capsys, tmp_path, argv, message):
    argv = [a.replace("W", str(tmp_path / "w")).replace("IN", str(tmp_path / "in.jsonl")) for a in argv]
    assert main(["data", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "w").exists()


def test_a_value_argparse_rejects_names_the_flag(capsys):
    with pytest.raises(SystemExit):
        main(["data", "world", "--out", "w", "--names", "random"])
    assert "argument --names: invalid choice: 'random'" in capsys.readouterr().err.splitlines()[-1]
