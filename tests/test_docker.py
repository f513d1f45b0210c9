"""The Docker files (no Docker engine here, so what can be checked without one): compose.yaml's app
service next to Neo4j, the app image's paths, healthcheck and entrypoint, and that every ``lmlm``
command the entrypoint runs parses with the real command line and does what the script expects."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from lmlm.cli import build_parser, main
from lmlm.kg.embedded_store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENTRYPOINT = DOCKER / "app-entrypoint.sh"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_compose_runs_the_app_next_to_neo4j_on_the_hosts_loopback():
    services = _compose()["services"]
    assert set(services) >= {"neo4j", "app"}
    app = services["app"]
    context = (COMPOSE.parent / app["build"]["context"]).resolve()
    assert context == ROOT and (context / app["build"]["dockerfile"]).is_file()
    assert app["ports"] == ["127.0.0.1:8501:8501"]  # published on loopback only
    assert app["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"
    assert any(p.startswith("7687:7687") for p in services["neo4j"]["ports"])
    # the app's password is Neo4j's: the same variable and default on both sides
    password = app["environment"]["NEO4J_PASSWORD"]
    assert services["neo4j"]["environment"]["NEO4J_AUTH"] == "neo4j/" + password
    assert app["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    for volume in app["volumes"] + services["neo4j"]["volumes"]:
        assert volume.split(":")[0] in _compose()["volumes"]


def test_the_app_image_checks_streamlits_health_and_starts_the_entrypoint():
    dockerfile = ROOT / _compose()["services"]["app"]["build"]["dockerfile"]
    instructions = _instructions(dockerfile)
    ops = [op for op, _ in instructions]
    assert ops[0] == "FROM" and "ENTRYPOINT" in ops and "HEALTHCHECK" in ops
    args = dict(instructions)
    assert "http://127.0.0.1:8501/_stcore/health" in args["HEALTHCHECK"]
    assert args["EXPOSE"] == "8501"
    (entry,) = json.loads(args["ENTRYPOINT"])
    assert entry == "/opt/lmlm-kg/docker/app-entrypoint.sh" and args["WORKDIR"] == "/opt/lmlm-kg"
    assert ENTRYPOINT.stat().st_mode & 0o111, "the entrypoint must be executable"
    for op, arg in instructions:  # what COPY takes from the context is there and not ignored
        if op == "COPY":
            *sources, _target = arg.split()
            assert all((ROOT / s).exists() for s in sources), arg
    ignored = Path(f"{dockerfile}.dockerignore").read_text(encoding="utf-8").split()
    assert ".git" in ignored and "pyproject.toml" not in ignored and "constraints.txt" not in ignored


def test_every_lmlm_command_of_the_entrypoint_parses():
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)  # the script's own syntax
    commands = [
        line.split("lmlm ", 1)[1]
        for line in ENTRYPOINT.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(exec |facts=.*\$\()?lmlm ", line)
    ]
    assert len(commands) == 5  # demo build, stats, export, import, app
    parser = build_parser()
    for command in commands:
        command = re.sub(r"\|.*", "", command)  # the stats line: up to its pipe
        argv = [re.sub(r"\$\{?\w+\}?", "X", word) for word in shlex.split(command) if word != "$@"]
        parser.parse_args(argv)  # argparse exits (SystemExit) on a flag the command does not have


def test_the_entrypoints_fact_count_and_copy_work_on_a_store(tmp_path, capsys):
    """The steps the entrypoint takes to give an empty store the demo's facts, on embedded stores."""
    facts = tmp_path / "facts.jsonl"
    facts.write_text(json.dumps({"entity": "Ada", "relation": "Occupation", "value": "poet"}) + "\n")
    source, empty = str(tmp_path / "source"), str(tmp_path / "empty")
    EmbeddedStore(empty).close()  # an empty store, as a fresh Neo4j is
    assert main(["kg", "--store", source, "import", str(facts)]) == 0
    capsys.readouterr()
    assert main(["kg", "--store", empty, "--json", "stats"]) == 0
    assert json.loads(capsys.readouterr().out)["facts"] == 0  # what the entrypoint reads
    exported = tmp_path / "demo-facts.jsonl"
    assert main(["kg", "--store", source, "export", str(exported)]) == 0
    assert main(["kg", "--store", empty, "import", str(exported)]) == 0
    capsys.readouterr()
    assert main(["kg", "--store", empty, "--json", "stats"]) == 0
    assert json.loads(capsys.readouterr().out)["facts"] == 1
