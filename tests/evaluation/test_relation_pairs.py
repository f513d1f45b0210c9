"""The relation-pairs measurement: the pairs are fuzzy_modes' reworded and near-relation queries
with the relation each was made from, the figures follow from the cosines, and a small run on the
generated world writes its JSON and PNG; a model path that is not there is an error naming the flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmlm.evaluation.perturbations import contrast_stems
from lmlm.evaluation.relation_pairs import RelationPairsArgs, main, pairs_of, separation
from lmlm.kg.embedding import Embedder
from lmlm.kg.facts import normalize_key


def test_separation_counts_ties_half_and_shares_per_threshold():
    s = separation(np.array([0.9, 0.5]), np.array([0.5, 0.2]))
    assert s["auc"] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert s["at"]["0.50"] == {"reworded": 1.0, "near": 0.5}
    assert s["at"]["0.90"] == {"reworded": 0.5, "near": 0.0}
    assert separation(np.array([0.9]), np.array([]))["auc"] is None


def test_a_world_run_writes_what_the_cosines_say(tmp_path, capsys):
    args = RelationPairsArgs(data=str(tmp_path), sets=["world"], per_kind=12, out=str(tmp_path / "out"))
    pairs = pairs_of(args)["world"]
    kinds = [k for k, _, _ in pairs]
    assert kinds.count("reworded") == 12 and kinds.count("near_relation") == 12
    for kind, query, source in pairs:
        assert normalize_key(query) != normalize_key(source)
        if kind == "near_relation":  # what tells it apart is a word the stored relation lacks
            assert contrast_stems(source, query)

    assert main(["--data", str(tmp_path), "--sets", "world", "--per-kind", "12", "--out", args.out]) == 0
    report = json.loads((tmp_path / "out" / "relation_pairs.json").read_text())
    assert (tmp_path / "out" / "relation_pairs.png").stat().st_size > 0
    world = report["models"]["default"]["sets"]["world"]
    embedder = Embedder(recent_queries=0)
    cos = {
        k: np.array(
            [float(embedder.encode([q])[0] @ embedder.encode([s])[0]) for kind, q, s in pairs if kind == k]
        )
        for k in ("reworded", "near_relation")
    }
    expected = separation(cos["reworded"], cos["near_relation"])
    assert world["n"] == [12, 12] and world["auc"] == pytest.approx(expected["auc"], abs=0.02)
    assert report["models"]["default"]["dim"] == 384
    assert "AUC" in capsys.readouterr().out


def test_a_missing_model_directory_names_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--sets", "world", "--embedders", str(tmp_path / "no-model")])
    assert f"--embedders {tmp_path / 'no-model'}: no such directory" in capsys.readouterr().err
