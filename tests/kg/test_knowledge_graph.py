"""The KnowledgeGraph facade: file imports, the fuzzy index kept in step, killed imports, graph views."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lmlm.kg.errors import FuzzyIndexError, InputFormatError
from lmlm.kg.facts import Triple
from lmlm.kg.knowledge_graph import KnowledgeGraph
from lmlm.train.world import WorldConfig, generate_world


@pytest.fixture
def kg(store, tmp_path):
    return KnowledgeGraph(store, index_dir=tmp_path / "index")


def test_world_is_deterministic_and_importable(kg):
    a = generate_world(WorldConfig(people=40, seed=3))
    b = generate_world(WorldConfig(people=40, seed=3))
    assert a.triples == b.triples and len(a.people) == 40
    assert generate_world(WorldConfig(people=40, seed=4)).triples != a.triples
    report = kg.import_triples(a.triples)
    assert report.added == len(a.triples)
    person = a.people[0]
    assert kg.store.lookup(person.name, "Place of birth")[0].value == person.facts["Place of birth"]


def test_bad_file_adds_nothing(kg, tmp_path):
    kg.import_triples([Triple("A", "r", "1")])
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,relation,value\nB,r,2\nC,r\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        kg.import_files([bad])
    assert "line 3" in str(info.value) and str(bad) in str(info.value)
    assert kg.store.count() == 1 and len(kg.store.history()) == 1


def test_lenient_import_of_annotated_documents_lists_problems(kg, tmp_path):
    doc = {
        "examples": [
            {
                "annotated_text": "Ko [dblookup('Ko', 'Team') -> Gladbach] Gladbach plays. "
                "Broken (dblookup('Ko', 'Age') -> 28] here.",
                "model_id": "m",
                "original_dataset_ids": "d1",
            }
        ]
    }
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputFormatError):
        kg.import_files([path])
    assert kg.store.count() == 0
    [(report, problems)] = kg.import_files([path], strict=False)
    assert report.added == 1 and len(problems) == 1
    assert kg.store.lookup("Ko", "Team")[0].source == "d1"


def test_index_follows_edits_and_survives_reopen(kg, store, tmp_path):
    kg.import_triples(
        [Triple("Ada Lovelace", "Occupation", "Mathematician"), Triple("Alan Turing", "Field", "Logic")]
    )
    assert kg.build_fuzzy_index() == 2
    kg.set_fact("Grace Hopper", "Occupation", "Computer scientist")
    kg.forget("Alan Turing")
    assert kg.check() == []
    # a fresh graph object reads the saved index and replays the changes made since
    again = KnowledgeGraph(store, index_dir=tmp_path / "index")
    index = again.fuzzy_index
    assert sorted(e.entity for e in index.entries.values()) == ["Ada Lovelace", "Grace Hopper"]
    assert again.check() == []


def test_rebuild_repairs_a_damaged_index(kg, tmp_path):
    kg.import_triples([Triple("Ada Lovelace", "Occupation", "Mathematician")])
    kg.build_fuzzy_index()
    (tmp_path / "index" / "entries.jsonl").write_text("not json\n")
    fresh = KnowledgeGraph(kg.store, index_dir=tmp_path / "index")
    with pytest.raises(FuzzyIndexError, match="damaged index"):
        _ = fresh.fuzzy_index
    assert fresh.build_fuzzy_index(rebuild=True) == 1
    assert fresh.check() == []


def test_neighbourhood_graph(kg):
    kg.import_triples(generate_world(WorldConfig(people=10, seed=1)).triples)
    world = generate_world(WorldConfig(people=10, seed=1))
    person = world.people[0]
    graph = kg.neighbourhood(person.name, depth=2)
    names = {d["name"] for _, d in graph.nodes(data=True)}
    assert person.name in names and person.facts["Place of birth"] in names
    place_key = person.facts["Place of birth"].casefold()
    assert any(d["relation"] == "Country" for _, _, d in graph.out_edges(place_key, data=True))


IMPORT_SCRIPT = """
import sys
from lmlm.kg.knowledge_graph import open_store
from lmlm.train.world import WorldConfig, generate_world
store = open_store(sys.argv[1])
triples = generate_world(WorldConfig(people=60000, seed=7)).triples
def slow():
    for i, t in enumerate(triples):
        if i == 2000:
            print("started", flush=True)
        yield t
store.import_triples(slow(), batch_size=1000)
print("finished", flush=True)
"""


def test_killed_import_leaves_a_consistent_store(store, tmp_path):
    store.import_triples([Triple("Before", "r", "1")])
    location = store.location
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, location], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with KnowledgeGraph.open(location) as kg:
        assert kg.check() == []
        assert kg.store.lookup("Before", "r")
        if kg.store.backend == "embedded":
            assert kg.store.count() == 1  # one transaction: all or nothing


def test_an_injected_embedder_serves_the_fuzzy_index(store, tmp_path):
    from lmlm.kg.embedding import Embedder
    from lmlm.kg.knowledge_graph import shared_embedder

    embedder = Embedder(latency_threads=None)  # not the process-wide shared one
    kg = KnowledgeGraph(store, index_dir=tmp_path / "index", embedder=embedder)
    kg.import_triples([Triple("Ada Lovelace", "Occupation", "Mathematician")])
    assert kg.embedder is embedder and kg.fuzzy_index.embedder is embedder
    assert kg.fuzzy_index.embedder is not shared_embedder(None)
    assert kg.resolver().resolve("Ada Lovelace", "profession").value == "Mathematician"
    with pytest.raises(ValueError, match="not both"):
        KnowledgeGraph(store, embedder=embedder, embedding_model="other")
    with pytest.raises(ValueError, match="index_kind"):
        KnowledgeGraph(store, index_kind="ivfpq")
