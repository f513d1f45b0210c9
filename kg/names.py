"""Entity names compared letter by letter: the structured resolver's answer to misspelt names.

MiniLM splits a misspelt name into other word pieces, so its vector can land far from the right
entity (on the paper's samples, 15% of names with one typo were not the nearest entity, 2% not
among the nearest 50). Letters do better, and they also tell a typo from another name:

- :func:`fold`: the form names are compared in (case, accents, punctuation and spacing ignored);
- :func:`edit_distance`: optimal string alignment distance (an adjacent swap is one edit);
- :func:`is_misspelling`: whether one name is the other with typos: word by word, numbers
  identical, at most one word in two changed, each of four letters or more and one edit away;
  or, spaces ignored, one edit apart (a space or hyphen moved). ``Ko Itakrua`` is ``Ko
  Itakura`` misspelt; ``Ingrid Itakura``, ``Yu Itakura``, ``Symphony No. 6`` and ``North Ajax``
  are other names;
- :class:`NameIndex`: candidate entities sharing letter trigrams with a query name, over the
  whole store (numpy arrays: about 60 bytes a name), built on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from .facts import normalize_key

_NON_WORD = re.compile(r"[^\w']+|_")
_DIGITS = re.compile(r"\d+")
TRIGRAM_BUCKETS = 1 << 20  # hashed trigrams: collisions only add a few candidates
REBUILD_FRACTION = 0.1  # names added or removed since the last build, beyond which it is rebuilt


def fold(name: str) -> str:
    """``name`` as compared letter by letter: :func:`normalize_key`, accents dropped, apostrophes
    removed, any other punctuation as a space."""
    text = unicodedata.normalize("NFKD", normalize_key(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("'", "")
    return " ".join(_NON_WORD.sub(" ", text).split())


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal string alignment distance between ``a`` and ``b`` (insert, delete, replace, swap of
    neighbours). With ``limit``, any distance above it is returned as ``limit + 1``."""
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if limit is not None and min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def is_misspelling(query: str, name: str) -> bool:
    """Whether ``query`` is ``name`` as written, or with typos (see the module's docstring)."""
    q_words, n_words = fold(query).split(), fold(name).split()
    if len(q_words) == len(n_words) and _typos_in_words(q_words, n_words):
        return True
    joined_q, joined_n = "".join(q_words), "".join(n_words)  # a space or hyphen moved, and a typo
    return (
        len(joined_n) >= 8 and _same_numbers(joined_q, joined_n) and edit_distance(joined_q, joined_n, 1) <= 1
    )


def _typos_in_words(q_words: list[str], n_words: list[str]) -> bool:
    changed = [(q, n) for q, n in zip(q_words, n_words) if q != n]
    if len(changed) > max(1, len(n_words) // 2):
        return False
    return all(len(n) >= 4 and _same_numbers(q, n) and edit_distance(q, n, 1) <= 1 for q, n in changed)


def _same_numbers(a: str, b: str) -> bool:
    return _DIGITS.findall(a) == _DIGITS.findall(b)


def trigram_buckets(name: str) -> np.ndarray:
    """Hashed letter trigrams of the folded name, padded with spaces (unique, int64)."""
    text = f"  {fold(name)} ".encode()
    if len(text) < 3:
        return np.zeros(0, dtype=np.int64)
    codes = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    grams = (codes[:-2] << 16) | (codes[1:-1] << 8) | codes[2:]
    return np.unique((grams * 0x9E3779B1) % TRIGRAM_BUCKETS)


class NameIndex:
    """Names of a store's entities by letter trigram: :meth:`search` finds the names that share
    the most trigrams with a query (Dice coefficient), whatever their embedding.

    Built from arrays in one pass; names added or removed afterwards are kept aside (added ones
    in sorted postings of their own, removed ones filtered out) until they reach ``REBUILD_FRACTION`` of the
    index, which is then rebuilt.
    """

    def __init__(self, keys: Iterable[str] = ()):
        self._keys: list[str] = []
        self._row: dict[str, int] = {}
        self._sizes = np.zeros(0, dtype=np.int32)
        self._indptr = np.zeros(TRIGRAM_BUCKETS + 1, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int32)
        self._added: dict[str, np.ndarray] = {}
        self._added_view: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None
        self._removed: set[str] = set()
        self._build(list(dict.fromkeys(keys)))

    def __len__(self) -> int:
        return len(self._keys) - len(self._removed) + len(self._added)

    def add(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key in self._removed:
                self._removed.discard(key)
            elif key not in self._row and key not in self._added:
                self._added[key] = trigram_buckets(key)
                self._added_view = None
        self._maybe_rebuild()

    def remove(self, keys: Iterable[str]) -> None:
        for key in keys:
            if self._added.pop(key, None) is not None:
                self._added_view = None
            elif key in self._row:
                self._removed.add(key)
        self._maybe_rebuild()

    def search(self, name: str, k: int = 8) -> list[tuple[str, float]]:
        """The ``k`` names sharing most trigrams with ``name``, best first, with their Dice score."""
        grams = trigram_buckets(name)
        if not len(grams):
            return []
        found: dict[str, float] = {}
        if len(self._keys):
            postings = [self._rows[self._indptr[b] : self._indptr[b + 1]] for b in grams.tolist()]
            counts = np.bincount(np.concatenate(postings), minlength=len(self._keys))
            for row, dice in _best_rows(counts, self._sizes, len(grams), k + len(self._removed)):
                if self._keys[row] not in self._removed:
                    found[self._keys[row]] = dice
        if self._added:
            keys, buckets, rows, sizes = self._added_postings()
            starts, ends = np.searchsorted(buckets, grams, "left"), np.searchsorted(buckets, grams, "right")
            hits = np.concatenate([rows[a:b] for a, b in zip(starts.tolist(), ends.tolist())])
            counts = np.bincount(hits, minlength=len(keys))
            found.update((keys[row], dice) for row, dice in _best_rows(counts, sizes, len(grams), k))
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    def _added_postings(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The names added since the last build as sorted (bucket, row) postings, made once per
        change of that set: a search looks each of its trigrams up instead of scanning every name."""
        if self._added_view is None:
            keys = list(self._added)
            grams = [self._added[key] for key in keys]
            sizes = np.array([len(g) for g in grams], dtype=np.int32)
            buckets = np.concatenate(grams) if grams else np.zeros(0, dtype=np.int64)
            rows = np.repeat(np.arange(len(keys), dtype=np.int32), sizes)
            order = np.argsort(buckets, kind="stable")
            self._added_view = (keys, buckets[order], rows[order], sizes)
        return self._added_view

    def _maybe_rebuild(self) -> None:
        if len(self._added) + len(self._removed) > REBUILD_FRACTION * max(len(self._keys), 100):
            keys = [k for k in self._keys if k not in self._removed] + list(self._added)
            self._build(keys)

    def _build(self, keys: Sequence[str]) -> None:
        grams = [trigram_buckets(k) for k in keys]
        self._keys = list(keys)
        self._row = {k: i for i, k in enumerate(self._keys)}
        self._sizes = np.array([len(g) for g in grams], dtype=np.int32)
        buckets = np.concatenate(grams) if grams else np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(len(keys), dtype=np.int32), self._sizes)
        order = np.argsort(buckets, kind="stable")
        self._rows = rows[order]
        self._indptr = np.zeros(TRIGRAM_BUCKETS + 1, dtype=np.int64)
        np.cumsum(np.bincount(buckets, minlength=TRIGRAM_BUCKETS), out=self._indptr[1:])
        self._added.clear()
        self._added_view = None
        self._removed.clear()


def _best_rows(counts: np.ndarray, sizes: np.ndarray, n_grams: int, keep: int) -> list[tuple[int, float]]:
    """The rows with the ``keep`` highest Dice scores (``counts`` shared trigrams of ``n_grams``
    and ``sizes``), and any row tied with the last of them, in no particular order."""
    rows = np.flatnonzero(counts)
    keep = min(len(rows), keep)
    if not keep:
        return []
    dice = 2 * counts[rows] / (n_grams + sizes[rows])
    floor = np.partition(dice, len(dice) - keep)[len(dice) - keep]
    best = np.flatnonzero(dice >= floor)
    return [(int(rows[i]), float(dice[i])) for i in best.tolist()]
