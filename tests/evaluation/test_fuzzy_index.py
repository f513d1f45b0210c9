"""The fuzzy-index benchmark: relations from the file its flag names (or the built-in list, said so),
a missing file an error naming the flag, and a toy run end to end with the query cache off."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lmlm.evaluation.bench.fuzzy_index import BUILTIN, generate_keys, main, read_relations
from lmlm.evaluation.perturbations import builtin_relations
from lmlm.kg.facts import Triple
from lmlm.kg.formats import write_paper_database


def test_a_missing_relations_file_names_the_flag_and_the_path(tmp_path, capsys):
    missing = tmp_path / "absent_database.json"
    with pytest.raises(SystemExit):
        main(["--keys", "100", "--relations", str(missing)])
    assert f"--relations {missing}: no such file" in capsys.readouterr().err


def test_keys_draw_their_relations_from_the_given_database_or_the_builtin_list(tmp_path):
    path = tmp_path / "db.json"
    triples = [Triple(f"E{i}", "Founded In", "1900") for i in range(30)]
    triples += [Triple("F", "Mother\\'s Name", "Ann"), Triple("G", "Genre", "jazz")]
    write_paper_database(triples, path)
    names, weights = read_relations(str(path))
    assert dict(zip(names, weights)) == {"Founded In": 31.0, "Genre": 2.0, "Mother's Name": 2.0}
    counts = Counter(k.relation for k in generate_keys(300, seed=0, relations_path=str(path)))
    assert set(counts) == set(names) and counts["Founded In"] > counts["Genre"]
    assert {k.relation for k in generate_keys(300, seed=0)} <= set(builtin_relations())
    assert generate_keys(300, seed=0) == generate_keys(300, seed=0)


@pytest.mark.slow
def test_a_toy_run_writes_its_table_and_json_with_the_query_cache_off(tmp_path, capsys):
    out = tmp_path / "fuzzy.json"
    argv = ["--keys", "100,200", "--queries", "10", "--latency-queries", "10", "--encode-sample", "10"]
    assert main([*argv, "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["relations"] == BUILTIN and results["recent_query_cache"] == 0
    assert [row["keys"] for row in results["sizes"]] == [100, 200]
    assert 0 <= results["sizes"][0]["recall_at_1_vs_flat"] <= 1
    printed = capsys.readouterr().out
    assert "recent-query cache is off" in printed and "right@1" in printed
