"""An embedded store whose files cannot be written: every read works (exact and fuzzy lookups, the
change log, check), every write says it is read-only and why, and the WAL cases read right or fail
clearly.

Root may write anywhere, so as root the commands run under ``setpriv`` without the capabilities
that bypass file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): they then meet the permissions
an ordinary user would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FACTS = [
    {"entity": "Ko Itakura", "relation": "Birthplace", "value": "Yokohama"},
    {"entity": "Yokohama", "relation": "Country", "value": "Japan"},
]
CLI = "import sys; from lmlm.cli import main; sys.exit(main(sys.argv[1:]))"


def unprivileged(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python argv...`` as a process that file permissions apply to, even when we are root."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("running as root, these tests need setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]
    return subprocess.run(
        [*prefix, sys.executable, *argv], capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )


def lmlm(*argv: str) -> subprocess.CompletedProcess:
    return unprivileged("-c", CLI, *argv)


def make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture
def read_only_store(tmp_path, monkeypatch):
    monkeypatch.setenv("LMLM_HOME", str(tmp_path / "home"))
    facts = tmp_path / "facts.jsonl"
    facts.write_text("".join(json.dumps(f) + "\n" for f in FACTS), encoding="utf-8")
    store = tmp_path / "store"
    done = lmlm("kg", "--store", str(store), "import", str(facts), "--no-index", "--json")
    assert done.returncode == 0, done.stderr
    assert not (store / "kg.sqlite-wal").exists()  # a clean close folds the WAL in
    make_read_only(store)
    yield store
    for path in [store, *store.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_the_cli_reads_a_read_only_store(read_only_store, tmp_path):
    store = str(read_only_store)
    exact = lmlm("kg", "--store", store, "lookup", "ko itakura", "birthplace", "--json")
    assert exact.returncode == 0, exact.stderr
    assert json.loads(exact.stdout)["value"] == "Yokohama"
    fuzzy = lmlm("kg", "--store", store, "lookup", "Ko Itakura", "place of birth", "--json")
    assert fuzzy.returncode == 0, fuzzy.stderr  # the index is built in memory, not saved
    assert json.loads(fuzzy.stdout)["value"] == "Yokohama"
    assert not (read_only_store / "fuzzy").exists()
    for argv in (["history"], ["stats"], ["check"], ["facts", "Yokohama"], ["entities", "--search", "yok"]):
        done = lmlm("kg", "--store", store, *argv, "--json")
        assert done.returncode == 0, (argv, done.stderr)
    exported = tmp_path / "out.jsonl"
    assert lmlm("kg", "--store", store, "export", str(exported)).returncode == 0
    assert len(exported.read_text(encoding="utf-8").splitlines()) == 2


def test_writes_to_a_read_only_store_say_why(read_only_store, tmp_path):
    store = str(read_only_store)
    facts = tmp_path / "more.jsonl"
    facts.write_text(json.dumps({"entity": "A", "relation": "r", "value": "v"}) + "\n", encoding="utf-8")
    for argv in (["set", "A", "r", "v"], ["import", str(facts)], ["forget", "Yokohama"], ["undo", "1"]):
        done = lmlm("kg", "--store", store, *argv)
        assert done.returncode == 1, argv
        assert store in done.stderr and "read-only" in done.stderr and "no write permission" in done.stderr
        assert "Traceback" not in done.stderr
    done = lmlm("kg", "--store", store, "index")
    assert done.returncode == 1 and "cannot save the fuzzy index" in done.stderr


WRITE_AND_DIE = """
import os, sys
from lmlm.kg.embedded_store import EmbeddedStore
from lmlm.kg.facts import Triple
store = EmbeddedStore(sys.argv[1])
store.import_triples([Triple("Ko Itakura", "Birthplace", "Yokohama")])
os._exit(0)  # no close: the import stays in the write-ahead log, beside its -shm index
"""
READ = """
import sys
from lmlm.kg.embedded_store import EmbeddedStore
store = EmbeddedStore(sys.argv[1], create=False)
print(store.read_only, [f.value for f in store.lookup("Ko Itakura", "Birthplace")])
"""


def test_a_read_only_store_with_a_write_ahead_log_reads_it_or_says_why(tmp_path):
    store = tmp_path / "store"
    done = subprocess.run([sys.executable, "-c", WRITE_AND_DIE, str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (store / "kg.sqlite-wal").stat().st_size > 0 and (store / "kg.sqlite-shm").exists()
    make_read_only(store)
    try:
        read = unprivileged("-c", READ, str(store))
        assert read.returncode == 0, read.stderr
        assert read.stdout.split() == ["True", "['Yokohama']"]  # the log's import is seen
        store.chmod(0o755)
        (store / "kg.sqlite-shm").unlink()
        make_read_only(store)
        read = unprivileged("-c", READ, str(store))  # the log cannot be read without its index
        assert read.returncode == 1 and "write-ahead log kg.sqlite-wal" in read.stderr
        assert "Traceback" in read.stderr and "StoreUnavailableError" in read.stderr
    finally:
        store.chmod(0o755)
