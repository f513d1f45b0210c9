"""The fuzzy-modes comparison: the data directory comes from --data (a missing one, or a missing
file in it, is an error naming the flag), and a toy paraphrase set runs end to end."""

from __future__ import annotations

import json
import random

import pytest

from lmlm.evaluation.fuzzy_modes import FILES, build_queries, main
from lmlm.kg.facts import Triple, normalize_key
from lmlm.kg.formats import write_paper_database
from lmlm.kg.syntax import format_annotated_call

PEOPLE = ["Itakura Hiroshi", "Suchitra Bhattacharya", "Franz Rellichmann", "Geraldine Halliwell"]
RELATIONS = ["Birth Date", "Occupation", "Nationality", "Birthplace"]


def write_samples(directory) -> list[Triple]:
    """The three files fuzzy_modes reads, with a few facts each (each person lacks one relation)."""
    triples = [
        Triple(p, r, f"{r} of {p.split()[0]}")
        for i, p in enumerate(PEOPLE)
        for j, r in enumerate(RELATIONS)
        if i != j
    ]
    write_paper_database(triples[:8], directory / FILES[0])
    for name, part in ((FILES[1], triples[8:12]), (FILES[2], triples[12:])):
        text = " ".join(format_annotated_call(t.entity, t.relation, t.value) + " " + t.value for t in part)
        examples = [{"annotated_text": text, "original_dataset_ids": [name]}]
        (directory / name).write_text(json.dumps({"examples": examples}), encoding="utf-8")
    return triples


def test_a_missing_directory_or_file_names_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([])  # --data is required: no default beside the checkout
    assert "--data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path / "absent")])
    assert f"--data {tmp_path / 'absent'}: no such directory" in capsys.readouterr().err
    write_samples(tmp_path)
    (tmp_path / FILES[2]).unlink()
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path)])
    assert f"--data {tmp_path}: missing {FILES[2]}" in capsys.readouterr().err


def test_queries_of_each_kind_miss_the_exact_path_except_case(tmp_path):
    triples = write_samples(tmp_path)
    queries = build_queries(triples, random.Random(0), per_kind=3)
    stored = {t.key for t in triples}
    kinds = {q.kind for q in queries}
    assert kinds == {"reworded", "misspelt", "case", "absent_relation", "absent_entity"}
    for q in queries:
        key = (normalize_key(q.entity), normalize_key(q.relation))
        assert (key in stored) == (q.kind == "case")
        assert bool(q.gold) == (not q.kind.startswith("absent"))


@pytest.mark.slow
def test_a_toy_run_writes_json_and_png(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    write_samples(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["--data", str(tmp_path / "data"), "--per-kind", "3", "--out", str(out)]) == 0
    report = json.loads((out / "fuzzy_modes.json").read_text())
    assert report["facts"] == len(PEOPLE) * (len(RELATIONS) - 1) and sum(report["queries"].values()) > 0
    assert (out / "fuzzy_modes.png").stat().st_size > 0 and not (out / "store").exists()
    structured = report["results"]["structured (default)"]
    assert structured["by_kind"]["case"]["right"] == structured["by_kind"]["case"]["n"]
    assert "precision" in capsys.readouterr().out
