"""The KnowledgeGraph facade: file imports, the fuzzy index kept in step, killed imports, graph views."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lmlm.kg.errors import InputFormatError
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


INDEX_FILES = [
    "meta.json",
    "entries.jsonl",
    "relations.json",
    "relations.npy",
    "keys/index.faiss",
    "keys/meta.json",
    "entities/index.faiss",
    "entities/meta.json",
]


@pytest.mark.parametrize(
    "damage",
    [*(f"{name}: half" for name in INDEX_FILES), "entries.jsonl: last line", "keys/index.faiss: gone"],
)
def test_a_damaged_fuzzy_index_is_rebuilt_from_the_store(tmp_path, caplog, damage):
    """The index is derived data: any file of it cut short (or lost) means a rebuild, with a warning."""
    from lmlm.kg.embedded_store import EmbeddedStore
    from lmlm.kg.fuzzy_index import FuzzyIndex

    index_dir = tmp_path / "index"
    kg = KnowledgeGraph(EmbeddedStore(tmp_path / "store"), index_dir=index_dir)
    kg.import_triples(
        [Triple("Ada Lovelace", "Occupation", "Mathematician"), Triple("Alan Turing", "Field", "Logic")]
    )
    kg.build_fuzzy_index()
    assert kg.lookup("Ada Lovelace", "profession").value == "Mathematician"  # caches relation vectors
    kg.fuzzy_index.save()
    name, how = damage.split(": ")
    path = index_dir / name
    data = path.read_bytes()
    if how == "half":
        path.write_bytes(data[: len(data) // 2])
    elif how == "last line":
        path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
    else:
        path.unlink()

    fresh = KnowledgeGraph(kg.store, index_dir=index_dir)
    with caplog.at_level("WARNING", logger="lmlm.kg.fuzzy_index"):
        assert fresh.lookup("Ada Lovelace", "profession").value == "Mathematician"
    [warning] = [r.getMessage() for r in caplog.records]
    assert str(index_dir) in warning and "damaged" in warning and "rebuilding it from the store" in warning
    caplog.clear()
    reopened = FuzzyIndex.open(index_dir, fresh.embedder)  # the rebuild was saved whole
    assert len(reopened.entries) == 2 and not caplog.records
    assert fresh.check() == []
    kg.close()


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
class Slow(list):  # sized, so the import knows its batches; says when it is well under way
    def __iter__(self):
        for i, t in enumerate(list.__iter__(self)):
            if i == 2000:
                print("started", flush=True)
            yield t
store.import_triples(Slow(triples), batch_size=1000)
print("finished", flush=True)
"""


def test_killed_import_leaves_a_consistent_store(store, tmp_path):
    """SIGKILL runs no handler: the embedded store's transaction never commits; on Neo4j the
    change was recorded before its first batch and counted in each batch, so it reads as
    unfinished, with exactly the batches whose facts are in the store."""
    store.import_triples([Triple("Before", "r", "1")])
    location = store.location
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, location], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    deadline = time.monotonic() + 120
    while store.backend == "neo4j" and time.monotonic() < deadline:  # kill it between batches
        if any(c.committed_batches >= 2 for c in store.unfinished_changes()):
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with KnowledgeGraph.open(location, create=False) as kg:
        assert kg.store.lookup("Before", "r")
        if kg.store.backend == "embedded":
            assert kg.store.count() == 1 and kg.check() == []  # one transaction: all or nothing
            return
        [change] = kg.store.unfinished_changes()
        assert change.state == "running" and change.total_batches > change.committed_batches >= 2
        assert change.added_count == kg.store.count() - 1 == len(kg.store.facts_created_by(change.id))
        [problem] = kg.check()
        assert f"is unfinished: {change.committed_batches} of {change.total_batches} batches" in problem
        kg.undo(change.id)
        assert kg.store.count() == 1 and kg.check() == []


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
