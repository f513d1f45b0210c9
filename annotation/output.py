"""The output directory of an annotation run, written as it goes so that a crash loses little.

* ``run.json``: what produced the records (model, prompt id and hash, chunking); ``--resume``
  refuses to continue a directory with other settings, naming the one that differs;
* ``annotated.jsonl``: one accepted chunk a line, appended and flushed as each response is
  validated. Each line is an example of the paper's annotated-document format (``text``,
  ``annotated_text``, ``model_id``, ``prompt_id``, ``original_dataset``, ``original_dataset_ids``,
  ``processing_timestamp``) plus ``id``, the chunk's place in its document, the validation verdict
  and the token usage;
* ``rejected.jsonl``: the chunks whose response failed validation, with the reason and the response;
* ``annotated.json``: at the end, the accepted records as one paper-format file (``lmlm kg import``
  reads it).

A record is finished once its line is written; ``--resume`` skips finished ids (rejected ones
included). A line cut short by a kill is dropped when the directory is opened again. Requests that
failed for good are not written: a resumed run sends them again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from lmlm.kg.formats import _atomic_writer  # written whole or not at all

logger = logging.getLogger(__name__)

FORMAT = "lmlm-annotate/1"
RUN_FILE, ANNOTATED, REJECTED = "run.json", "annotated.jsonl", "rejected.jsonl"
PAPER_JSON, CLEAN, TRIPLES, REPORT = "annotated.json", "clean.jsonl", "triples.jsonl", "report.json"
# Settings that must match for --resume: a chunk id means the same text, a record the same annotator.
RESUME_KEYS = ("model_id", "prompt_id", "prompt_sha256", "chunking")
PAPER_KEYS = (
    "text",
    "annotated_text",
    "model_id",
    "prompt_id",
    "original_dataset",
    "original_dataset_ids",
    "processing_timestamp",
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """Open with :meth:`open`; :meth:`write` each record; :meth:`close` at the end."""

    def __init__(self, root: Path, settings: dict, finished: set[str]):
        self.root = root
        self.settings = settings
        self.finished = finished
        self._files: dict[str, IO[str]] = {}

    @classmethod
    def open(cls, out_dir: str | os.PathLike, settings: dict, resume: bool) -> RunDirectory:
        """Create ``out_dir``, or with ``resume`` continue the run in it (same settings only)."""
        root = Path(out_dir)
        run_file = root / RUN_FILE
        if run_file.exists() and not resume:
            raise FileExistsError(
                f"{root}: holds an annotation run; --resume continues it, or choose another --out"
            )
        if root.exists() and not root.is_dir():
            raise FileExistsError(f"{root}: exists and is not a directory")
        finished: set[str] = set()
        if run_file.exists():
            _check_same_settings(run_file, settings)
            for name in (ANNOTATED, REJECTED):
                _drop_partial_line(root / name)
                finished.update(record["id"] for record in read_records(root / name))
            logger.info("%s: resuming, %d chunks already finished", root, len(finished))
        else:
            root.mkdir(parents=True, exist_ok=True)
            write_json_atomic(run_file, {"format": FORMAT, "created": now(), **settings})
        return cls(root, settings, finished)

    def write(self, record: dict, accepted: bool) -> None:
        """Append ``record`` as one line and flush it to the OS: a killed process keeps it."""
        name = ANNOTATED if accepted else REJECTED
        f = self._files.get(name)
        if f is None:
            f = self._files[name] = open(self.root / name, "a", encoding="utf-8", newline="\n")
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()
        self.finished.add(record["id"])

    def close(self) -> None:
        for f in self._files.values():
            os.fsync(f.fileno())
            f.close()
        self._files.clear()

    def accepted(self) -> Iterator[dict]:
        return read_records(self.root / ANNOTATED)

    def rejected(self) -> Iterator[dict]:
        return read_records(self.root / REJECTED)

    def write_paper_json(self) -> Path:
        """``annotated.json``: every accepted record in the paper's annotated-document format."""
        path = self.root / PAPER_JSON
        datasets = sorted({r.get("original_dataset", "") for r in self.accepted()})
        metadata = {"source_datasets": datasets, "last_modified": now(), "format": FORMAT}
        metadata |= {key: self.settings.get(key) for key in ("model_id", "prompt_id")}
        with _atomic_writer(path) as f:
            f.write('{"examples": [')
            for n, record in enumerate(self.accepted()):
                f.write(("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
            f.write('\n], "metadata": ' + json.dumps(metadata, ensure_ascii=False) + "}\n")
        return path


def read_records(path: Path) -> Iterator[dict]:
    """The records of a JSONL output file (none if it does not exist)."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}: line {number}: not a JSON record ({e.msg})") from e


def _drop_partial_line(path: Path) -> None:
    """Cut a last line that a kill left without its newline (it is not a finished record)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    logger.warning("%s: dropping a partly written last record (%d bytes)", path, len(data) - keep)
    with open(path, "r+b") as f:
        f.truncate(keep)


def _check_same_settings(run_file: Path, settings: dict) -> None:
    try:
        earlier = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{run_file}: cannot read the earlier run's settings: {e}") from e
    for key in RESUME_KEYS:
        if earlier.get(key) != settings.get(key):
            raise ValueError(
                f"--resume: {run_file.parent} was annotated with {key} = {earlier.get(key)!r}, "
                f"this run has {settings.get(key)!r}; use another --out"
            )


def write_json_atomic(path: Path, obj) -> None:
    with _atomic_writer(path) as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
