"""Writers of triples and facts: the paper's database JSON and JSONL (what ``lmlm kg export`` writes).

Each file is written aside and renamed over the target once complete, so a failed write leaves the
old file (or none) and never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO

from .facts import Fact, Triple

PathLike = str | os.PathLike
# Escaped in JSONL output: str.splitlines() and some JSON-lines readers break lines at these.
_LINE_SEPARATORS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def write_paper_database(facts_or_triples: Iterable[Triple | Fact], path: PathLike) -> int:
    """Write the paper's database JSON (sorted unique name lists, triplets in order); returns the count."""
    triplets = [[t.entity, t.relation, t.value] for t in facts_or_triples]
    lists = {
        "entities": sorted({e for e, _, _ in triplets}),
        "relationships": sorted({r for _, r, _ in triplets}),
        "return_values": sorted({v for _, _, v in triplets}),
        "triplets": triplets,
    }
    with _atomic_writer(path) as f:
        f.write("{\n")
        for n, (key, items) in enumerate(lists.items()):
            _write_json_list(f, key, items, last=n == len(lists) - 1)
        f.write("}\n")
    return len(triplets)


def write_jsonl(facts: Iterable[Triple | Fact], path: PathLike) -> int:
    """One JSON object a line: every field of a Fact (``to_dict``) or of a Triple; returns the count."""
    count = 0
    with _atomic_writer(path) as f:
        for fact in facts:
            record = fact.to_dict() if isinstance(fact, Fact) else asdict(fact)
            line = json.dumps(record, ensure_ascii=False).translate(_LINE_SEPARATORS)
            f.write(line + "\n")
            count += 1
    return count


def _write_json_list(f: IO[str], key: str, items: list, last: bool) -> None:
    """One item a line: readable, and diffs well."""
    f.write(f"  {json.dumps(key)}: [")
    for n, item in enumerate(items):
        f.write(("\n    " if n == 0 else ",\n    ") + json.dumps(item, ensure_ascii=False))
    f.write("\n  ]" if items else "]")
    f.write("\n" if last else ",\n")


@contextmanager
def _atomic_writer(path: PathLike) -> Iterator[IO[str]]:
    """A text file that replaces ``path`` only once it is completely written."""
    target = Path(path)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(temp, target.stat().st_mode & 0o777 if target.exists() else 0o644)  # mkstemp makes 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
