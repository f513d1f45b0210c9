"""The embedder's cache of recent query vectors: its size is a constructor knob, and 0 turns it off
(benchmarks that time query encoding), with the real MiniLM model."""

from __future__ import annotations

import numpy as np
import pytest

from lmlm.kg.embedding import RECENT_QUERIES, Embedder


class CountingEmbedder(Embedder):
    """The real embedder, counting the texts that go through the model."""

    encoded = 0

    def _forward(self, model, batch):
        self.encoded += len(batch)
        return super()._forward(model, batch)


def test_zero_turns_the_cache_off_so_every_call_encodes():
    embedder = CountingEmbedder(recent_queries=0)
    first = embedder.encode(["Place of birth"])
    again = embedder.encode(["Place of birth"])
    assert embedder.encoded == 2
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_the_cache_keeps_the_most_recently_used_texts():
    embedder = CountingEmbedder(recent_queries=2)
    embedder.encode(["a", "b"])
    embedder.encode(["a"])  # a hit, and now the most recent
    assert embedder.encoded == 2
    embedder.encode(["c"])  # evicts b, the least recently used
    embedder.encode(["a"])
    assert embedder.encoded == 3
    embedder.encode(["b"])
    assert embedder.encoded == 4


def test_the_default_and_a_bad_size():
    assert Embedder().recent_queries == RECENT_QUERIES == 4096
    with pytest.raises(ValueError, match="recent_queries must be >= 0"):
        Embedder(recent_queries=-1)
