"""The embedder has no process-wide side effects: no environment variable set, no hub call for the
bundled model, and no other thread's torch thread count changed. Each check runs in a fresh
interpreter (its environment, network and thread counts are its own), with the real model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from lmlm.kg.embedding import SMALL_CALL, Embedder

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")

NO_NETWORK = """
import os, socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args)
    raise OSError("network blocked by the test")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
from lmlm.kg.embedding import Embedder
embedder = Embedder()
vectors = embedder.encode(["Ko Itakura Birthplace"] * 20)
assert vectors.shape == (20, embedder.dim), vectors.shape
set_now = [v for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if v in os.environ]
assert not set_now, f"the embedder set {set_now}"
assert not attempts, f"connection attempts: {attempts}"
print("ok")
"""

THREADS = """
import threading, torch
from torch.nn.modules.module import register_module_forward_hook
from lmlm.kg.embedding import SMALL_CALL, Embedder

default = torch.get_num_threads()
assert default == 1, default  # OMP_NUM_THREADS=1; the embedder's worker uses 2
embedder = Embedder(latency_threads=2)
embedder.encode(["warm up"] * (SMALL_CALL + 1))  # loads the model (a large call)

go, seen = threading.Event(), {}
def observer():  # a thread already running torch, e.g. the app's decoder
    torch.get_num_threads()
    go.wait()
    seen["running thread"] = torch.get_num_threads()
running = threading.Thread(target=observer)
running.start()

def during_forward(module, args, output):  # called while a forward pass of the embedder runs
    if "forward" not in seen:
        seen["forward"] = torch.get_num_threads()
        fresh = threading.Thread(target=lambda: seen.setdefault("new thread", torch.get_num_threads()))
        fresh.start()
        fresh.join()
        go.set()
        running.join()
hook = register_module_forward_hook(during_forward)
embedder.encode(["Ko Itakura Birthplace"])  # a small call
hook.remove()
seen["caller after"] = torch.get_num_threads()
large = []
hook = register_module_forward_hook(lambda module, args, output: large.append(torch.get_num_threads()))
embedder.encode(["Ko Itakura Birthplace"] * (SMALL_CALL + 1))  # a large call: on the caller's thread
hook.remove()
seen["large call"] = large[0]
want = {"forward": 2, "running thread": 1, "new thread": 1, "caller after": 1, "large call": 1}
assert seen == want, seen
print("ok")
"""


def run_python(code: str, **env: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env={**clean, **env}
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr[-3000:]


def test_bundled_model_loads_offline_without_touching_the_environment() -> None:
    run_python(NO_NETWORK)


def test_small_calls_change_no_other_threads_torch_thread_count() -> None:
    from lmlm.kg.embedding import thread_counts_are_per_thread

    if not thread_counts_are_per_thread():
        pytest.skip("torch's thread count is process-wide in this build: small calls leave it alone")
    run_python(THREADS, OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_concurrent_small_and_large_calls_match_one_at_a_time(embedder: Embedder) -> None:
    """The app resolves while it decodes: calls from several threads at once give the same vectors."""
    small = [[f"Person {i} Place of birth"] for i in range(12)]
    large = [f"Entity {i} relation {i % 5}" for i in range(3 * SMALL_CALL)]
    want_small = [embedder.encode(texts) for texts in small]
    want_large = embedder.encode(large)
    fresh = Embedder()  # no recent-query vectors: every call below runs the model
    got: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            got[i] = fresh.encode(large) if i == len(small) else fresh.encode(small[i])
        except BaseException as e:  # reported below, with the others
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(small) + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, want in enumerate(want_small):
        np.testing.assert_allclose(got[i], want, atol=1e-5)
    np.testing.assert_allclose(got[len(small)], want_large, atol=1e-5)
