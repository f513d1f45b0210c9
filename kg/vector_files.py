"""The files of a saved :class:`~lmlm.kg.vector_index.VectorIndex`: ``index.faiss`` and ``meta.json``.

Each file is replaced atomically, and meta.json is written last with the index file's size and
CRC32, so a save cut short between the two files, a truncated or altered index file and a meta.json
from another save are all detected on reading. Importing this module does not import faiss.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from .errors import FuzzyIndexError

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
META_KEYS = ("kind", "dim", "model", "count", "index_bytes", "index_crc32")


def faiss_module() -> Any:
    """faiss, imported on first use, with OpenMP's threads set to the CPUs this process may use."""
    import faiss

    if not getattr(faiss_module, "configured", False):
        # OpenMP's default may count CPUs this process cannot use (cgroups, affinity masks);
        # oversubscribed OpenMP threads spin and make every search slower.
        if "OMP_NUM_THREADS" not in os.environ:
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            faiss.omp_set_num_threads(max(1, usable or 1))
        faiss_module.configured = True
    return faiss


class CountingCrc:
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


def write_files(directory: Path, index: Any, meta: dict) -> None:
    """Write ``index`` and ``meta`` (plus format version, size and CRC32) into ``directory``."""
    faiss = faiss_module()
    directory.mkdir(parents=True, exist_ok=True)
    tmp_index = directory / f".{INDEX_FILE}.{os.getpid()}.tmp"
    tmp_meta = directory / f".{META_FILE}.{os.getpid()}.tmp"
    try:
        with open(tmp_index, "wb") as fh:
            counter = CountingCrc(fh)
            faiss.write_index(index, faiss.PyCallbackIOWriter(counter.write))
            fh.flush()
            os.fsync(fh.fileno())
        meta = {
            "format_version": FORMAT_VERSION,
            **meta,
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


def read_meta(path: Path) -> dict:
    """meta.json, checked for its format version and keys (the kind is checked by the caller)."""
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
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise FuzzyIndexError(f"{path}: meta.json lacks {', '.join(missing)}")
    return meta


def read_index(path: Path, meta: dict) -> Any:
    """Read the faiss file, checking its size and CRC32 against meta.json on the way."""
    faiss = faiss_module()
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
