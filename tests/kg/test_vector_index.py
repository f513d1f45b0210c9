"""The embedder and the vector index (one FAISS index), with the real MiniLM model (no mocks)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from lmlm.kg.embedding import Embedder
from lmlm.kg.errors import FuzzyIndexError
from lmlm.kg.vector_index import Hit, VectorIndex

KEYS = [
    "Ko Itakura Birthplace",
    "Ko Itakura Occupation",
    "Geri Halliwell Famous For",
    "Technical University of Berlin Founded In",
    "Suchitra Sen Award",
    "Kemerovo Oblast Capital",
    "Nozinja Birth Name",
    "Franz Rellich Doctoral Advisor",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def index(embedder: Embedder) -> VectorIndex:
    idx = VectorIndex(embedder, "flat")
    idx.add(np.arange(len(KEYS), dtype=np.int64), KEYS)
    return idx


def test_encode_is_float32_unit_rows(embedder: Embedder) -> None:
    vecs = embedder.encode(["Ko Itakura Birthplace", "a", "Technical University of Berlin Founded In"])
    assert vecs.dtype == np.float32
    assert vecs.shape == (3, embedder.dim) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_small_calls_restore_the_thread_count(embedder: Embedder) -> None:
    import torch

    before = torch.get_num_threads()
    embedder.encode(["Ko Itakura Birthplace"])  # runs on latency_threads=1
    assert torch.get_num_threads() == before


def test_encode_keeps_input_order(embedder: Embedder) -> None:
    texts = ["a much longer text about Franz Rellich and his doctoral advisor", "Ko", "Suchitra Sen Award"]
    together = embedder.encode(texts)
    one_by_one = np.concatenate([embedder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=2e-2)
    assert (together * one_by_one).sum(axis=1).min() > 0.999


def test_paraphrase_scores_above_unrelated(embedder: Embedder) -> None:
    key, para, other = embedder.encode(
        ["Ko Itakura Birthplace", "place of birth of Ko Itakura", "Kemerovo Oblast Capital"]
    )
    assert key @ para > key @ other + 0.2


def test_search_finds_perturbed_keys(index: VectorIndex) -> None:
    rows = index.search(["ko itakura place of birth", "Geri Haliwell famous for", "Suchitra Sen awards"], k=1)
    assert [row[0].id for row in rows] == [0, 2, 4]
    assert all(isinstance(row[0], Hit) and 0.5 < row[0].score <= 1.0 + 1e-5 for row in rows)
    top = index.search(["Ko Itakura Birthplace"], k=3)[0]
    assert len(top) == 3 and top[0].id == 0 and top[0].score > 0.99
    assert top[0].score >= top[1].score >= top[2].score


def test_k_larger_than_index_hides_no_hit(index: VectorIndex) -> None:
    hits = index.search(["Ko Itakura Birthplace"], k=50)[0]
    assert sorted(h.id for h in hits) == list(range(len(KEYS)))
    assert VectorIndex(index.embedder).search(["anything"], k=3) == [[]]


def test_removed_id_is_never_returned(index: VectorIndex) -> None:
    assert index.remove(np.array([0, 99], dtype=np.int64)) == 1
    assert len(index) == len(KEYS) - 1 and not index.contains(0) and index.contains(1)
    for row in index.search(["Ko Itakura Birthplace", "Ko Itakura birth place"], k=len(KEYS)):
        assert 0 not in {h.id for h in row}
    assert index.remove([0]) == 0


def test_readding_an_id_replaces_it(index: VectorIndex) -> None:
    index.add(np.array([3]), ["Nozinja Record Label"])
    assert len(index) == len(KEYS)
    assert list(index.ids()) == list(range(len(KEYS)))
    hits = index.search(["Nozinja record label"], k=2)[0]
    assert hits[0].id == 3 and hits[0].score > 0.95
    assert index.search(["Technical University of Berlin Founded In"], k=1)[0][0].id != 3
    # a duplicate inside one call: the last text wins
    index.add(np.array([20, 20]), ["Geri Halliwell Spouse", "Kemerovo Oblast Population"])
    assert len(index) == len(KEYS) + 1
    assert index.search(["Kemerovo Oblast Population"], k=1)[0][0].id == 20


def test_save_load_round_trip(index: VectorIndex, embedder: Embedder, tmp_path) -> None:
    queries = ["ko itakura place of birth", "Rellich doctoral advisor", "Kemerovo capital city"]
    before = index.search(queries, k=3)
    index.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["index.faiss", "meta.json"]
    loaded = VectorIndex.load(tmp_path / "idx", embedder)
    assert len(loaded) == len(index) and list(loaded.ids()) == list(index.ids())
    assert loaded.search(queries, k=3) == before
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["model"] == embedder.name and meta["dim"] == 384 and meta["count"] == len(KEYS)


def test_load_rejects_another_model(index: VectorIndex, tmp_path) -> None:
    index.save(tmp_path)
    other = Embedder()
    other.name = "some-org/another-model"
    with pytest.raises(FuzzyIndexError, match="another-model"):
        VectorIndex.load(tmp_path, other)


def test_load_rejects_damaged_files(index: VectorIndex, embedder: Embedder, tmp_path) -> None:
    index.save(tmp_path)
    data = bytearray((tmp_path / "index.faiss").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(FuzzyIndexError, match="damaged"):
        VectorIndex.load(tmp_path, embedder)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(FuzzyIndexError, match="meta.json"):
        VectorIndex.load(tmp_path, embedder)
    with pytest.raises(FuzzyIndexError, match="missing"):
        VectorIndex.load(tmp_path / "nowhere", embedder)


def test_empty_index_saves_and_loads(embedder: Embedder, tmp_path) -> None:
    VectorIndex(embedder, "compressed").save(tmp_path)
    loaded = VectorIndex.load(tmp_path, embedder)
    assert len(loaded) == 0 and loaded.kind == "ivfrabitq" and loaded.search(["x"]) == [[]]


def test_bad_input_is_rejected(index: VectorIndex) -> None:
    with pytest.raises(ValueError, match="one text per id"):
        index.add(np.array([1, 2]), ["only one"])
    with pytest.raises(ValueError, match="reserved"):
        index.add(np.array([-1]), ["x"])
    with pytest.raises(ValueError, match="dimension"):
        index.add_vectors(np.array([1]), np.ones((1, 10), dtype=np.float32))
    with pytest.raises(ValueError, match="kind"):
        VectorIndex(index.embedder, "hnsw")


def test_compressed_small_index_stores_flat(embedder: Embedder) -> None:
    idx = VectorIndex(embedder, "compressed")
    idx.add(np.arange(len(KEYS)), KEYS)
    assert idx.storage == "flat" and idx.kind == "ivfrabitq"
    assert idx.search(["Ko Itakura Birthplace"])[0][0].id == 0


def test_add_in_chunks_trains_once_enough_keys(embedder: Embedder, monkeypatch) -> None:
    from lmlm.evaluation.bench.fuzzy_index import generate_keys
    from lmlm.kg import vector_index

    monkeypatch.setattr(vector_index, "ADD_CHUNK", 400)
    texts = [k.text for k in generate_keys(1500, seed=3)]
    idx = VectorIndex(embedder, "compressed", min_train_keys=1000)
    idx.add(np.arange(1500), texts, show_progress=True)
    assert idx.storage == "ivf" and len(idx) == 1500
    assert idx.params()["nlist"] == vector_index.nlist_for(1500)
    rows = idx.search(texts[:50:5], k=1)
    assert [row[0].id for row in rows] == list(range(0, 50, 5))


def test_bytes_per_key(index: VectorIndex) -> None:
    assert index.bytes_per_key() > 384 * 4


@pytest.mark.slow
def test_compressed_recall_against_flat(embedder: Embedder, tmp_path) -> None:
    from lmlm.evaluation.bench.fuzzy_index import generate_keys
    from lmlm.evaluation.perturbations import perturb

    keys = generate_keys(20_000, seed=1)
    vecs = embedder.encode([k.text for k in keys])
    rng = random.Random(2)
    sources = rng.sample(range(len(keys)), 500)
    queries = embedder.encode([perturb(keys[i].entity, keys[i].relation, rng) for i in sources])
    ids = np.arange(len(keys), dtype=np.int64) * 7 - 50_000  # arbitrary, some negative
    flat, small = VectorIndex(embedder, "flat"), VectorIndex(embedder, "compressed")
    flat.add_vectors(ids, vecs)
    small.add_vectors(ids[:6000], vecs[:6000])
    assert small.storage == "flat"
    small.add_vectors(ids[6000:], vecs[6000:])  # crosses min_train_keys: trains and moves to IVF
    assert small.storage == "ivf" and len(small) == len(keys)
    assert list(small.ids()) == sorted(ids.tolist())
    assert small.params()["nlist"] == 512 and small.nprobe == 64
    assert small.bytes_per_key() <= 256
    want = [row[0].id for row in flat.search_vectors(queries)]
    got = [row[0].id for row in small.search_vectors(queries)]
    recall = np.mean([a == b for a, b in zip(want, got)])
    assert recall >= 0.95, recall
    # removal and persistence hold for the IVF storage too
    gone = np.array(want[:50])
    assert small.remove(gone) == len(set(want[:50]))
    small.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, embedder)
    assert loaded.storage == "ivf" and len(loaded) == len(small) and loaded.nprobe == 64
    found = {h.id for row in loaded.search_vectors(queries[:50], k=5) for h in row}
    assert not found & set(gone.tolist())


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, lmlm.kg, lmlm.kg.vector_index, lmlm.kg.fuzzy_index, lmlm.kg.embedding; "
        "bad = [m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_small_calls_reuse_recent_vectors_and_match_a_bulk_encode(embedder: Embedder) -> None:
    texts = ["Place of birth", "Employer", "Place of birth", "Solis Misa"]
    first = embedder.encode(texts)
    again = embedder.encode(texts[::-1])
    np.testing.assert_array_equal(again, first[::-1])  # the same vectors, in the asked order
    np.testing.assert_array_equal(first[0], first[2])
    bulk = embedder.encode(texts * 5)  # more than a small call: encoded afresh
    np.testing.assert_allclose(bulk[:4], first, atol=2e-2)
    assert embedder.encode(["Employer"]).dtype == np.float32
