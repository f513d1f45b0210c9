"""``lmlm app``: the Streamlit app on a store and a model (default: the demo's, when built).

It checks what it can before starting (the store exists, the model path exists), prints the
address and hands the process to Streamlit, bound to loopback unless ``--host`` says otherwise.
Neo4j credentials come from the environment (``NEO4J_USER``, ``NEO4J_PASSWORD``), never from a flag.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lmlm.cli.common import add_dataclass_arguments, dataclass_from_args


def register(groups) -> None:
    from lmlm.app.config import AppConfig, ServerArgs

    p = groups.add_parser(
        "app",
        help="open the app: generate with lookups, browse, edit and forget facts, see outputs regenerate",
    )
    add_dataclass_arguments(p, AppConfig)
    add_dataclass_arguments(p, ServerArgs)
    p.set_defaults(func=cmd_app)


def cmd_app(args) -> int:
    from lmlm.app.config import AppConfig, ServerArgs

    return run_app(dataclass_from_args(AppConfig, args), dataclass_from_args(ServerArgs, args))


def run_app(config, server) -> int:
    """Start Streamlit on ``config`` at ``server``'s address; returns only if it cannot start."""
    check_config(config.with_defaults())
    command = streamlit_command(server)
    print(f"LMLM app: {server.url}  (Ctrl-C stops it)", flush=True)
    env = {**os.environ, **config.to_env()}
    if os.name == "posix":  # Streamlit becomes this process: Ctrl-C and kill reach it directly
        os.execve(sys.executable, command, env)
    import subprocess

    return subprocess.call(command, env=env)


def check_config(config) -> None:
    """Errors before the server starts: a store or model path that does not exist, no Streamlit."""
    from lmlm.kg.knowledge_graph import is_neo4j_uri

    try:
        import streamlit  # noqa: F401
    except ImportError as e:
        raise OSError("the app needs Streamlit: pip install 'lmlm-kg[app]'") from e
    if not is_neo4j_uri(config.store) and not Path(config.store).expanduser().is_dir():
        raise OSError(f"no store at {config.store}: give --store DIR or bolt://..., or run `lmlm demo build`")
    for name in ("model", "standard_model", "tokenizer", "prompts"):
        path = getattr(config, name)
        if path and path.startswith(("/", ".", "~")) and not Path(path).expanduser().exists():
            raise OSError(f"--{name.replace('_', '-')}: no such file or directory: {path}")


def streamlit_command(server) -> list[str]:
    """``python -m streamlit run .../main.py`` with the server's flags (no usage statistics, no
    file watcher: the app is installed code, not a script being edited)."""
    from lmlm.app import config as app_config

    script = Path(app_config.__file__).with_name("main.py")
    display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in (
        "darwin",
        "win32",
    )
    options = {
        "server.address": server.host,
        "server.port": server.port,
        "server.headless": not (server.browser and display),
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "browser.gatherUsageStats": False,
        "browser.serverAddress": server.host,
        "browser.serverPort": server.port,
        "global.developmentMode": False,
        "client.toolbarMode": "minimal",
    }
    flags = [
        f"--{name}={str(value).lower() if isinstance(value, bool) else value}"
        for name, value in options.items()
    ]
    return [sys.executable, "-m", "streamlit", "run", str(script), *flags]
