"""A persistent FAISS index of text keys with int64 ids: incremental add, remove, nearest-key search.

Kinds:

- ``"flat"``: exact inner product over float32 vectors (``IndexIDMap2(IndexFlatIP)``), 1544 bytes
  a key (384-d MiniLM). The reference every other kind is measured against.
- ``"ivfrabitq"`` (alias ``"compressed"``): an inverted file over 3-bit RaBitQ codes of the
  residuals (``IndexIVFRaBitQ``, nb_bits=3): 164 bytes of code, 8 of id and the centroids, about
  180 bytes a key at 1M keys (211 at 20k and 100k). Scanning 1/8 of the lists, its top-1 equals
  flat's for 0.98 of perturbed entity + relation queries at 20k, 100k and 300k keys. It supports
  ``remove_ids``, so forgotten keys disappear.

How the compressed kind was chosen (100k generated keys, 1264 lists, 3000 perturbed queries,
recall@1 against flat, 1/8 of the lists scanned unless said): IVF-RaBitQ 3-bit 0.981 at 192 B/key, 4-bit 0.984 at
240 B/key; IVF-SQ4 0.975 at 220 B/key; IVF-PQ128 0.966, PQ96 0.961, PQ64 0.936 (1/10 scanned;
PQ training took 60-120 s against 4 s). The exhaustive SQ4 ceiling is 0.987 and IVF-Flat at 1/10
scanned reaches 0.985, so the loss is mostly queries whose nearest key sits in an unprobed list.
HNSW was not used: it cannot remove vectors.

A compressed index needs training. Until it holds ``min_train_keys`` keys it stores vectors flat
(``storage == "flat"``); the ``add`` that crosses the threshold trains the quantiser on the first
keys (at most ``TRAIN_POINTS_PER_LIST`` per list) with ``nlist`` sized for the total that ``add``
was given, and moves everything over. ``nlist`` is fixed from then on: an index grown far beyond
the size it was trained for should be rebuilt (a fresh index and one ``add`` of all keys).

Scores are cosines (the embedder's vectors are unit length); for ``ivfrabitq`` they are estimated
from the codes (mean error 0.002-0.004). faiss's ``-1`` "no hit" never reaches the caller.

Importing this module does not import faiss, torch or sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import Embedder
from .errors import FuzzyIndexError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
META_FILE = "meta.json"

COMPRESSED_KIND = "ivfrabitq"
KINDS = ("flat", COMPRESSED_KIND)
KIND_ALIASES = {"compressed": COMPRESSED_KIND}

MIN_TRAIN_KEYS = 10_000  # below this a compressed kind stores vectors flat
RABITQ_BITS = 3  # per dimension; 4 bits recall 0.003 more for 48 more bytes a key
TRAIN_POINTS_PER_LIST = 40  # k-means sample: faiss warns below 39 points per centroid
MAX_NLIST = 4096  # k-means and assignment cost grow with it: 1M keys train and add in about 1 min
ADD_CHUNK = 16_384  # texts encoded and added per step of ``add``


def resolve_kind(kind: str) -> str:
    """The canonical kind name for ``kind`` (``"compressed"`` -> ``"ivfrabitq"``); raises on unknown kinds."""
    canonical = KIND_ALIASES.get(kind, kind)
    if canonical not in KINDS:
        raise ValueError(f"index kind must be one of {', '.join(KINDS + tuple(KIND_ALIASES))}; got {kind!r}")
    return canonical


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` keys: 8 sqrt(n), at most ``MAX_NLIST`` and n / 39 (k-means wants 39
    points per centroid), at least 16. At the same share of keys scanned, more lists recall more
    (100k keys, 1/8 scanned: 0.982 with 2530 lists, 0.975 with 1265)."""
    return int(max(16, min(MAX_NLIST, n // 39, round(8 * math.sqrt(n)))))


def nprobe_for(nlist: int) -> int:
    """Lists scanned per query: 1/8 of them. Recall@1 against flat at 100k keys: 0.976 at 1/16,
    0.982 at 1/8, 0.987 at 1/4; at 300k (4096 lists): 0.974, 0.981, 0.984."""
    return int(min(nlist, max(8, nlist // 8)))


@dataclass(frozen=True)
class Hit:
    """One search result: the key's id and its cosine to the query."""

    id: int
    score: float


def _faiss() -> Any:
    import faiss

    if not getattr(_faiss, "configured", False):
        # OpenMP's default may count CPUs this process cannot use (cgroups, affinity masks);
        # oversubscribed OpenMP threads spin and make every search slower.
        if "OMP_NUM_THREADS" not in os.environ:
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            faiss.omp_set_num_threads(max(1, usable or 1))
        _faiss.configured = True
    return faiss


class VectorIndex:
    """Nearest-key search over embedded texts, with int64 ids, incremental ``add``/``remove`` and ``save``/``load``.

    Args:
        embedder: encodes the texts given to :meth:`add` and :meth:`search`.
        kind: ``"flat"`` or ``"ivfrabitq"`` (alias ``"compressed"``).
        min_train_keys: a compressed kind stores vectors flat until it holds this many.
        nprobe: lists scanned per query (compressed kinds); ``None`` picks :func:`nprobe_for`.
    """

    def __init__(
        self,
        embedder: Embedder,
        kind: str = "flat",
        *,
        min_train_keys: int = MIN_TRAIN_KEYS,
        nprobe: int | None = None,
    ):
        if min_train_keys < 1_000:
            raise ValueError(f"min_train_keys must be >= 1000 (k-means needs points), got {min_train_keys}")
        if nprobe is not None and nprobe < 1:
            raise ValueError(f"nprobe must be >= 1, got {nprobe}")
        self.embedder = embedder
        self.kind = resolve_kind(kind)
        self.min_train_keys = min_train_keys
        self._nprobe = nprobe
        self._index: Any = None  # created by the first add, when the dimension is known
        self._dim: int | None = None
        self._ids = np.empty(0, dtype=np.int64)  # sorted; mirrors the ids in the faiss index

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, storage={self.storage!r}, keys={len(self)})"

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def storage(self) -> str:
        """How vectors are held now: ``"empty"``, ``"flat"`` or ``"ivf"``."""
        if self._index is None:
            return "empty"
        return "ivf" if isinstance(self._index, _faiss().IndexIVF) else "flat"

    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def nprobe(self) -> int | None:
        """Lists scanned per query once IVF storage is in use; set it to trade recall for speed."""
        return int(self._index.nprobe) if self.storage == "ivf" else self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"nprobe must be >= 1, got {value}")
        self._nprobe = value
        if self.storage == "ivf":
            self._index.nprobe = value

    def params(self) -> dict:
        """The parameters of the current storage (what :meth:`save` writes to meta.json)."""
        out: dict = {"kind": self.kind, "storage": self.storage, "min_train_keys": self.min_train_keys}
        if self.storage == "ivf":
            ivf = self._index
            out.update(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe), rabitq_bits=int(ivf.rabitq.nb_bits))
        return out

    def contains(self, id: int) -> bool:
        i = np.searchsorted(self._ids, id)
        return bool(i < len(self._ids) and self._ids[i] == id)

    def ids(self) -> np.ndarray:
        """The ids in the index, sorted (a copy)."""
        return self._ids.copy()

    # ---------------------------------------------------------------- adding and removing
    def add(
        self, ids: np.ndarray | Sequence[int], texts: Sequence[str], *, show_progress: bool = False
    ) -> None:
        """Embed ``texts`` and add them under ``ids``. An id already present is replaced (the last one wins)."""
        ids = _as_ids(ids)
        if isinstance(texts, str) or len(texts) != len(ids):
            raise ValueError(f"add needs one text per id: {len(ids)} ids, {len(texts)} texts")
        keep = _last_occurrences(ids)
        ids, texts = ids[keep], [texts[i] for i in keep]
        self.remove(ids)
        expected = len(self) + len(ids)
        bar = None
        if show_progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(ids), desc="index keys", unit=" keys")
        try:
            for lo in range(0, len(ids), ADD_CHUNK):
                vecs = self.embedder.encode(texts[lo : lo + ADD_CHUNK])
                self._insert(ids[lo : lo + ADD_CHUNK], vecs, expected)
                if bar is not None:
                    bar.update(len(vecs))
        finally:
            if bar is not None:
                bar.close()

    def add_vectors(self, ids: np.ndarray | Sequence[int], vecs: np.ndarray) -> None:
        """Add precomputed ``(n, d)`` vectors (normalised here) under ``ids``; present ids are replaced."""
        ids = _as_ids(ids)
        vecs = self._as_vectors(vecs)
        if len(vecs) != len(ids):
            raise ValueError(f"add_vectors needs one vector per id: {len(ids)} ids, {len(vecs)} vectors")
        keep = _last_occurrences(ids)
        if len(keep) != len(ids):
            ids, vecs = ids[keep], vecs[keep]
        self.remove(ids)
        self._insert(ids, vecs, len(self) + len(ids))

    def remove(self, ids: np.ndarray | Sequence[int]) -> int:
        """Remove the keys with these ids (absent ids are ignored); return how many were removed."""
        ids = _as_ids(ids)
        present = np.unique(ids[np.isin(ids, self._ids)]) if len(ids) and len(self._ids) else ids[:0]
        if len(present) == 0:
            return 0
        removed = int(self._index.remove_ids(present))
        if removed != len(present):
            raise FuzzyIndexError(f"faiss removed {removed} of {len(present)} ids; the index is inconsistent")
        self._ids = np.setdiff1d(self._ids, present, assume_unique=True)
        return removed

    def _insert(self, ids: np.ndarray, vecs: np.ndarray, expected_total: int) -> None:
        """Add new (absent, unique) ids; train and move to IVF storage when a compressed kind is due."""
        if len(ids) == 0:
            return
        faiss = _faiss()
        if self._index is None:
            self._dim = vecs.shape[1]
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self._dim))
        if self.kind != "flat" and self.storage == "flat":
            total = len(self) + len(ids)
            train_n = min(
                expected_total, max(self.min_train_keys, TRAIN_POINTS_PER_LIST * nlist_for(expected_total))
            )
            if total >= self.min_train_keys and total >= train_n:
                self._train_and_move(ids, vecs, expected_total)
                return
        self._index.add_with_ids(vecs, ids)
        self._ids = np.sort(np.concatenate([self._ids, ids]))

    def _train_and_move(self, ids: np.ndarray, vecs: np.ndarray, expected_total: int) -> None:
        """Train an IVF-RaBitQ on the flat-stored keys plus these, and move them all into it."""
        faiss = _faiss()
        old_ids, old_vecs = _flat_contents(self._index)
        all_ids = np.concatenate([old_ids, ids])
        all_vecs = np.concatenate([old_vecs, vecs]) if len(old_vecs) else vecs
        nlist = nlist_for(expected_total)
        train_n = min(len(all_vecs), max(self.min_train_keys, TRAIN_POINTS_PER_LIST * nlist))
        logger.info(
            "training %s on %d keys: nlist %d for %d expected keys", self.kind, train_n, nlist, expected_total
        )
        quantizer = faiss.IndexFlatIP(self._dim)
        ivf = faiss.IndexIVFRaBitQ(quantizer, self._dim, nlist, faiss.METRIC_INNER_PRODUCT, True, RABITQ_BITS)
        ivf.own_fields = True
        quantizer.this.disown()  # the IVF frees its quantizer
        ivf.cp.seed = 1234  # reproducible k-means over the first keys
        ivf.cp.min_points_per_centroid = 10  # small indexes train on fewer points; do not warn
        ivf.train(all_vecs[:train_n])
        ivf.nprobe = self._nprobe or nprobe_for(nlist)
        ivf.add_with_ids(all_vecs, all_ids)
        self._index = ivf
        self._ids = np.sort(all_ids)

    # ---------------------------------------------------------------- searching
    def search(self, texts: Sequence[str], k: int = 1) -> list[list[Hit]]:
        """The ``k`` nearest keys of each text, best first (fewer if the index holds fewer)."""
        if isinstance(texts, str):
            raise TypeError("search takes a sequence of strings, not one string")
        if len(self) == 0:
            return [[] for _ in texts]
        return self.search_vectors(self.embedder.encode(texts), k)

    def search_vectors(self, vecs: np.ndarray, k: int = 1) -> list[list[Hit]]:
        """The ``k`` nearest keys of each ``(n, d)`` query vector, best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        vecs = self._as_vectors(vecs)
        if len(self) == 0:
            return [[] for _ in range(len(vecs))]
        scores, labels = self._index.search(vecs, min(k, len(self)))
        return [
            [Hit(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i != -1]
            for row_ids, row_scores in zip(labels, scores)
        ]

    def _as_vectors(self, vecs: np.ndarray) -> np.ndarray:
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        if vecs.ndim != 2:
            raise ValueError(f"vectors must be shaped (n, d), got shape {vecs.shape}")
        if self._dim is not None and vecs.shape[1] != self._dim:
            raise ValueError(f"vectors have dimension {vecs.shape[1]}, the index {self._dim}")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        if not np.allclose(norms, 1.0, atol=1e-3):
            vecs = vecs / np.maximum(norms, 1e-12)
        return vecs

    # ---------------------------------------------------------------- size and persistence
    def bytes_per_key(self) -> float:
        """Serialised index size over key count (what ``faiss.serialize_index`` would return, uncopied)."""
        if len(self) == 0:
            return 0.0
        counter = _CountingCrc()
        _faiss().write_index(self._index, _faiss().PyCallbackIOWriter(counter.write))
        return counter.size / len(self)

    def save(self, directory: str | Path) -> None:
        """Write ``index.faiss`` and ``meta.json`` into ``directory``, each file replaced atomically.

        meta.json is written last and records the index file's size and CRC32, so a save cut short
        between the two files is detected by :meth:`load`.
        """
        faiss = _faiss()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index = self._index
        if index is None:  # an empty index still records the model's dimension
            self._dim = self._dim or self.embedder.dim
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self._dim))
        tmp_index = directory / f".{INDEX_FILE}.{os.getpid()}.tmp"
        tmp_meta = directory / f".{META_FILE}.{os.getpid()}.tmp"
        try:
            with open(tmp_index, "wb") as fh:
                counter = _CountingCrc(fh)
                faiss.write_index(index, faiss.PyCallbackIOWriter(counter.write))
                fh.flush()
                os.fsync(fh.fileno())
            meta = {
                "format_version": FORMAT_VERSION,
                "model": self.embedder.name,
                "dim": self._dim,
                "count": len(self),
                "metric": "inner_product",
                **self.params(),
                "index_bytes": counter.size,
                "index_crc32": counter.crc,
            }
            with open(tmp_meta, "w", encoding="utf-8") as fh:
                json.dump(meta, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_index, directory / INDEX_FILE)
            os.replace(tmp_meta, directory / META_FILE)
        except (OSError, RuntimeError) as e:
            raise FuzzyIndexError(f"{directory}: cannot save the vector index: {e}") from e
        finally:
            tmp_index.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | Path, embedder: Embedder) -> VectorIndex:
        """Read an index written by :meth:`save`; raises :class:`FuzzyIndexError` if it is damaged or
        was built with another embedding model or dimension."""
        directory = Path(directory)
        meta = _read_meta(directory / META_FILE)
        if meta["model"] != embedder.name:
            raise FuzzyIndexError(
                f"{directory}: index built with embedding model {meta['model']!r}, "
                f"but the embedder is {embedder.name!r}; rebuild the index"
            )
        if meta["dim"] != embedder.dim:
            raise FuzzyIndexError(
                f"{directory}: index dimension {meta['dim']}, embedder dimension {embedder.dim}"
            )
        # read_index returns the concrete class. Keep that object: a downcast_index() proxy does
        # not own the index, which is freed with the proxy that does.
        index = _read_index(directory / INDEX_FILE, meta)
        if index.d != meta["dim"] or index.ntotal != meta["count"]:
            raise FuzzyIndexError(
                f"{directory / INDEX_FILE}: holds {index.ntotal} vectors of dimension {index.d}, "
                f"meta.json says {meta['count']} of dimension {meta['dim']}"
            )
        out = cls(embedder, meta["kind"], min_train_keys=int(meta.get("min_train_keys", MIN_TRAIN_KEYS)))
        out._dim = int(meta["dim"])
        if isinstance(index, _faiss().IndexIVF):
            index.nprobe = int(meta.get("nprobe") or nprobe_for(index.nlist))
            out._nprobe = int(index.nprobe)
            ids = _ivf_ids(index)
        else:
            ids = _faiss().vector_to_array(index.id_map).astype(np.int64)
        out._index = index
        out._ids = np.sort(ids)
        if len(np.unique(out._ids)) != len(out._ids):
            raise FuzzyIndexError(f"{directory / INDEX_FILE}: holds duplicate ids")
        return out


# -------------------------------------------------------------------- helpers
class _CountingCrc:
    """A faiss writer callback that counts bytes and takes their CRC32, optionally writing them on."""

    def __init__(self, fh: Any = None):
        self.fh = fh
        self.size = 0
        self.crc = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.crc = zlib.crc32(chunk, self.crc)
        if self.fh is not None:
            self.fh.write(chunk)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise FuzzyIndexError(f"{path}: no vector index here (meta.json missing)") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FuzzyIndexError(f"{path}: unreadable meta.json: {e}") from e
    if not isinstance(meta, dict):
        raise FuzzyIndexError(f"{path}: meta.json is not an object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise FuzzyIndexError(
            f"{path}: format version {meta.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    missing = [k for k in ("kind", "dim", "model", "count", "index_bytes", "index_crc32") if k not in meta]
    if missing:
        raise FuzzyIndexError(f"{path}: meta.json lacks {', '.join(missing)}")
    try:
        resolve_kind(meta["kind"])
    except ValueError as e:
        raise FuzzyIndexError(f"{path}: {e}") from e
    return meta


def _read_index(path: Path, meta: dict) -> Any:
    """Read the faiss file, checking its size and CRC32 against meta.json on the way."""
    faiss = _faiss()
    try:
        with open(path, "rb") as fh:
            crc = 0

            def read(n: int) -> bytes:
                nonlocal crc
                chunk = fh.read(n)
                crc = zlib.crc32(chunk, crc)
                return chunk

            index = faiss.read_index(faiss.PyCallbackIOReader(read))
            crc = zlib.crc32(fh.read(), crc)  # trailing bytes, if any, count as damage
            size = fh.tell()
    except FileNotFoundError as e:
        raise FuzzyIndexError(f"{path}: index file missing") from e
    except (OSError, RuntimeError) as e:
        raise FuzzyIndexError(f"{path}: damaged index file: {e}") from e
    if size != meta["index_bytes"] or crc != meta["index_crc32"]:
        raise FuzzyIndexError(
            f"{path}: damaged index file ({size} bytes, CRC32 {crc}; meta.json says "
            f"{meta['index_bytes']} bytes, CRC32 {meta['index_crc32']}); rebuild the index"
        )
    return index


def _as_ids(ids: np.ndarray | Sequence[int]) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"ids must be a 1-d array of integers, got dtype {arr.dtype} shape {arr.shape}")
    arr = arr.astype(np.int64, copy=False)
    if (arr == -1).any():
        raise ValueError("id -1 is reserved: faiss uses it for 'no hit'")
    return arr


def _last_occurrences(ids: np.ndarray) -> np.ndarray:
    """Positions of the last occurrence of each id, in their original order."""
    _, first_in_reversed = np.unique(ids[::-1], return_index=True)
    return np.sort(len(ids) - 1 - first_in_reversed)


def _flat_contents(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Ids and ``(n, d)`` vectors of an ``IndexIDMap2(IndexFlatIP)``."""
    faiss = _faiss()
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    flat = faiss.downcast_index(index.index)
    vecs = faiss.vector_to_array(flat.codes).view(np.float32).reshape(-1, flat.d)
    return ids, vecs


def _ivf_ids(index: Any) -> np.ndarray:
    """All ids held by an IVF index, list by list."""
    faiss = _faiss()
    lists = index.invlists
    parts = []
    for i in range(index.nlist):
        n = lists.list_size(i)
        if n:
            parts.append(faiss.rev_swig_ptr(lists.get_ids(i), n).copy())
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)
