"""Packaging: one `lmlm` namespace, the .cypher files shipped, and import-time promises."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# pyproject.toml's [tool.setuptools.package-dir]: the folders that become lmlm's packages
PACKAGE_DIRS = {
    "lmlm": "lmlm",
    "lmlm.kg": "kg",
    "lmlm.model": "model",
    "lmlm.annotation": "annotation",
    "lmlm.train": "train",
    "lmlm.evaluation": "evaluation",
    "lmlm.app": "app",
    "lmlm.cypher": "cypher",
}
SHIPPED = {".py", ".cypher", ".json", ".yaml"}


def _project_files() -> list[str]:
    """The files of the working tree that git tracks or would track (no build output, no caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


@pytest.mark.slow
def test_plain_wheel_builds_quietly_maps_folders_into_lmlm_and_ships_every_module(tmp_path):
    # Built from a copy: setuptools' build/ in the checkout could hold modules deleted since.
    source = tmp_path / "source"
    for name in _project_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert "warning" not in output.lower(), output  # a newcomer's first install is quiet
    [wheel] = tmp_path.glob("lmlm_kg-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"lmlm"}, tops  # nothing generic like `model` or `app` at top level
    cypher = sorted(Path(n).name for n in names if n.startswith("lmlm/cypher/") and n.endswith(".cypher"))
    assert cypher == sorted(p.name for p in (ROOT / "cypher").glob("*.cypher"))
    # every module and data file of every folder, subfolders (lmlm.cli, lmlm.train.world) included
    expected = set()
    for name in _project_files():
        folder, suffix = name.split("/")[0], Path(name).suffix
        package = next((pkg for pkg, path in PACKAGE_DIRS.items() if path == folder), None)
        if package and suffix in SHIPPED:
            expected.add(package.replace(".", "/") + name[len(folder) :])
    assert expected - set(names) == set()
    for module in [
        "lmlm/cli/__init__.py",
        "lmlm/cli/common.py",
        "lmlm/train/world/data.py",
        "lmlm/kg/store.py",
        "lmlm/train/configs/annotator_llama31_8b.json",
        "lmlm/train/configs/accelerate_multi_gpu.yaml",
    ]:
        assert module in names

    # installed without the source tree, the queries are found through importlib.resources
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from lmlm.kg.cypher_queries import all_query_names, load_query;"
        "import lmlm.kg.cypher_queries as q; assert sys.argv[1] in q.__file__, q.__file__;"
        "names = all_query_names(); assert names and all(load_query(n) for n in names); print(len(names))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(cypher)


def test_importing_the_knowledge_graph_does_not_import_torch():
    code = (
        "import sys, lmlm, lmlm.kg, lmlm.cli, lmlm.kg.knowledge_graph, lmlm.kg.vector_index, lmlm.kg.fuzzy_index, lmlm.kg.embedding;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_lookup_grammar_lives_in_one_module():
    """No copy of the lookup tokens or the dblookup regex outside kg/syntax.py."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    offenders = []
    for name in listed:
        rel = Path(name)
        if rel.parts[0] == "tests" or rel == Path("kg/syntax.py"):
            continue
        literals = _string_literals((ROOT / rel).read_text(encoding="utf-8"))
        if any("<|db_entity|>" in text or "dblookup\\(" in text for text in literals):
            offenders.append(str(rel))
    assert offenders == []


def _string_literals(source: str) -> list[str]:
    """The string constants of a module, docstrings left out (they may show the format)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_model_sees_the_knowledge_graph_only_through_a_lookup_callable():
    """``lmlm.model`` loads no driver, index or app; from ``lmlm.kg`` it imports the grammar only
    (the front door ``lmlm`` itself re-exports the knowledge graph, which is torch-free)."""
    code = (
        "import sys, lmlm.model;"
        "bad = [m for m in ('neo4j', 'faiss', 'openai', 'streamlit', 'sentence_transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for path in (ROOT / "model").glob("*.py"):
        imported = {
            node.module
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        kg_modules = {m for m in imported if m.startswith("lmlm.kg")}
        assert kg_modules <= {"lmlm.kg.syntax"}, (path.name, kg_modules)
