"""``lmlm kg calibrate``: the resolver calibrated on queries made from one's own store, on both
stores. The chosen setting is the best one under the cap, its flags give it back, the store is only
read, both stores calibrate alike, and a store larger than --max-facts is sampled by whole entities."""

from __future__ import annotations

import json
import random

import pytest

from lmlm.cli import build_parser, main
from lmlm.cli.common import dataclass_from_args
from lmlm.evaluation.calibration import CalibrateArgs, calibrate, held_by_store, sample_triples
from lmlm.evaluation.fuzzy_modes import MAX_ABSENT, build_queries, short
from lmlm.kg.embedded_store import EmbeddedStore
from lmlm.kg.facts import normalize_key
from lmlm.kg.knowledge_graph import KnowledgeGraph
from lmlm.kg.resolver import ResolverConfig
from lmlm.train.world import WorldConfig, generate_world

PER_KIND = "25"


@pytest.fixture(scope="module")
def world_triples():
    return list(generate_world(WorldConfig(people=40, seed=3)).triples)


def fill(store, triples, tmp_path) -> None:
    kg = KnowledgeGraph(store, index_dir=tmp_path / "fill-index")
    kg.import_triples(triples)


def run_json(capsys, *argv) -> dict:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def resolver_config(flags: list[str]) -> ResolverConfig:
    """The ResolverConfig that ``lmlm kg lookup`` builds from ``flags``."""
    args = build_parser().parse_args(["kg", "lookup", "E", "R", *flags])
    return dataclass_from_args(ResolverConfig, args)


def test_calibrate_chooses_the_best_setting_under_the_cap_and_only_reads(
    capsys, store, tmp_path, monkeypatch, world_triples
):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    fill(store, world_triples, tmp_path)
    changes, facts = store.last_change_id(), store.count()
    out = tmp_path / "out"
    report = run_json(
        capsys,
        *("kg", "--store", store.location, "calibrate"),
        *("--per-kind", PER_KIND, "--max-hard", "0.02", "--out", str(out), "--no-progress"),
    )
    assert report["facts_read"] == report["facts_in_store"] == facts == len(world_triples)
    assert set(report["queries"]) == {
        "reworded", "misspelt", "case", "absent_relation", "absent_entity", "near_relation", "lookalike"
    }  # fmt: skip
    assert len(report["settings"]) == 30 and report["grid"] == "quick"

    def objective(m):
        return m["answerable_right"] - m["hard_answered"]

    def under_cap(m):
        return m["hard_answered"] <= 0.02 and m["absent_answered"] <= MAX_ABSENT

    chosen, default = report["chosen"], report["default"]
    [entry] = [s for s in report["settings"] if s["config"] == chosen["config"]]
    assert {k: entry[k] for k in entry if k != "config"} == {
        k: chosen[k] for k in ("answerable_right", "absent_answered", "hard_answered")
    }
    [default_entry] = [s for s in report["settings"] if s["config"] == default["config"]]
    assert default_entry["answerable_right"] == default["answerable_right"]
    feasible = [s for s in report["settings"] if under_cap(s)]
    assert report["cap_met"] == bool(feasible)
    if feasible:
        assert under_cap(chosen) and objective(chosen) == max(map(objective, feasible))
    # the printed flags give the chosen setting back to `lmlm kg lookup` (and every command taking them)
    assert short(resolver_config(chosen["flags"])) == chosen["config"]
    assert json.loads((out / "calibration.json").read_text())["chosen"] == chosen
    assert (out / "calibration.png").stat().st_size > 0
    # the store is only read (its fuzzy index, derived data, is built and kept as a lookup keeps it)
    assert (store.last_change_id(), store.count()) == (changes, facts)


@pytest.mark.neo4j
def test_both_stores_give_the_same_calibration(neo4j_store, tmp_path, monkeypatch, world_triples):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    embedded = EmbeddedStore(tmp_path / "store")
    args = CalibrateArgs(per_kind=int(PER_KIND), max_hard=0.02)
    reports = []
    for store in (embedded, neo4j_store):
        fill(store, world_triples, tmp_path / store.backend)
        kg = KnowledgeGraph(store, index_dir=tmp_path / store.backend / "index")
        reports.append(calibrate(kg, args, progress=False))
    embedded.close()
    for key in ("queries", "default", "chosen", "settings"):
        assert reports[0][key] == reports[1][key], key


def test_a_large_store_is_sampled_by_whole_entities(tmp_path, world_triples):
    kg = KnowledgeGraph(EmbeddedStore(tmp_path / "store"), index_dir=tmp_path / "index")
    kg.import_triples(world_triples)
    sample = sample_triples(kg, max_facts=len(world_triples) // 3, seed=0)
    assert 0 < len(sample) < len(world_triples) / 2
    for entity in {t.entity for t in sample}:
        assert sum(t.entity == entity for t in sample) == len(kg.store.facts_of(entity))
    assert sample_triples(kg, max_facts=len(world_triples) // 3, seed=0) == sample
    whole = sample_triples(kg, max_facts=len(world_triples), seed=0)
    assert [(t.entity, t.relation, t.value) for t in whole] == sorted(
        {(t.entity, t.relation, t.value) for t in world_triples},
        key=lambda etv: (normalize_key(etv[0]), normalize_key(etv[1]), etv[2]),
    )
    # names made up from the sample that the store holds after all are no negatives
    queries = build_queries(sample, random.Random(0), per_kind=200)
    held = held_by_store(kg, queries)
    made_up = [q for q in queries if q.kind in ("absent_entity", "lookalike")]
    assert all(q.kind not in ("reworded", "misspelt", "case") for q in held)
    for q in made_up:
        assert (q in held) == bool(kg.store.facts_of(q.entity))
    kg.close()


def test_bad_input_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    small = tmp_path / "small"
    kg = KnowledgeGraph(EmbeddedStore(small), index_dir=tmp_path / "index")
    kg.import_triples(list(generate_world(WorldConfig(people=1, seed=0)).triples)[:5])
    kg.close()
    assert main(["kg", "--store", str(small), "calibrate"]) == 1
    assert capsys.readouterr().err == f"error: {small}: 5 facts; calibration needs at least 20\n"
    assert main(["kg", "--store", str(small), "calibrate", "--max-hard", "1.5"]) == 1
    assert capsys.readouterr().err == "error: --max-hard must be a share in [0, 1], got 1.5\n"
