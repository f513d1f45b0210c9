"""What the entry points of the evaluation scripts share: their ``...Args`` dataclass built from the
command line (one flag per field), and their JSON written."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from lmlm.cli.common import add_dataclass_arguments, dataclass_from_args

T = TypeVar("T")


def parse_script_args(
    cls: type[T], argv: Sequence[str] | None, description: str, *, defaults: dict[str, Any] | None = None
) -> T:
    """``cls`` built from ``argv`` (flags from :func:`add_dataclass_arguments`, ``defaults`` overriding
    the fields'). A validation error of ``cls.__post_init__`` (it names the flag) exits as a usage
    error, like a malformed flag."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dataclass_arguments(parser, cls, defaults=defaults)
    try:
        return dataclass_from_args(cls, parser.parse_args(argv))
    except ValueError as e:
        parser.error(str(e))
        raise  # not reached: parser.error exits


def write_json(path: str | Path, obj: Any) -> Path:
    """``obj`` as indented JSON at ``path`` (UTF-8, non-ASCII text as is; its folder made first);
    returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
