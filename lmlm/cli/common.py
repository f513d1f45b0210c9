"""What every ``lmlm`` command shares: the ``--json`` flag, printing results, and flags made from
dataclasses.

Settings live in frozen dataclasses next to the code that uses them (``PretrainArgs``,
``DecodingArgs``, ``DemoConfig`` ...), validated in ``__post_init__``. A command never declares their
flags by hand: :func:`add_dataclass_arguments` makes one flag per field and
:func:`dataclass_from_args` builds the dataclass back from the parsed namespace, so library code
receives the dataclass, never an ``argparse.Namespace``. :func:`dataclass_to_argv` is the inverse of
parsing (the flags that rebuild a given instance: reruns, ``accelerate launch``).

A field's flag is ``--field-name``; its help is ``metadata["help"]``; ``metadata["flags"]`` gives other
spellings; ``Literal[...]`` types become ``choices``; ``bool`` fields become ``--x/--no-x``;
``tuple[str, ...]`` fields take several values.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def add_output_flags(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--json`` on the group and on each command (either place works)."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print machine-readable JSON instead of text",
    )


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None, default=str))


def emit(args: argparse.Namespace, obj, text: str) -> None:
    """``obj`` as JSON with ``--json``, else ``text``."""
    if getattr(args, "json", False):
        print_json(obj)
    else:
        print(text)


# ---------------------------------------------------------------------------------------------
# Dataclasses <-> flags


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _field_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def add_dataclass_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    exclude: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """One flag per field of ``cls`` (``exclude`` skipped); ``defaults`` overrides field defaults.

    Fields without a default become required flags. Parsed values land under the field's name
    (``dest``), so :func:`dataclass_from_args` finds them.
    """
    skip, defaults = set(exclude), defaults or {}
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp, optional = _unwrap_optional(hints[f.name])
        flags = [flag_name(f.name), *f.metadata.get("flags", ())]
        kwargs: dict[str, Any] = {"dest": f.name, "help": f.metadata.get("help", f.name.replace("_", " "))}
        if f.name in defaults:
            default = defaults[f.name]
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            if default not in (None, "", ()) and tp is not bool:
                kwargs["help"] += f" (default: {default})"
        origin = typing.get_origin(tp)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is typing.Literal:
            kwargs["choices"] = typing.get_args(tp)
            kwargs["type"] = type(typing.get_args(tp)[0])
        elif origin in (tuple, list):
            kwargs["nargs"] = "+" if kwargs.get("required") else "*"
            item = (typing.get_args(tp) or (str,))[0]
            kwargs["type"] = item if item in (int, float, str) else str
        elif tp in (int, float, str):
            kwargs["type"] = tp
        elif origin is dict or tp is dict:
            kwargs["type"] = json.loads
            kwargs["metavar"] = "JSON"
        else:
            kwargs["type"] = str
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        parser.add_argument(*flags, **kwargs)


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **overrides) -> T:
    """``cls`` built from the parsed flags of :func:`add_dataclass_arguments` (``overrides`` win).

    Fields that the parser did not declare keep their defaults. ``cls.__post_init__`` validates.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.init and hasattr(args, f.name):
            value = getattr(args, f.name)
            if isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    values.update(overrides)
    return cls(**values)


def dataclass_to_argv(instance, *, exclude: Iterable[str] = ()) -> list[str]:
    """The flags that :func:`add_dataclass_arguments` parses back into ``instance`` (fields equal to
    their default are left out)."""
    skip = set(exclude)
    argv: list[str] = []
    for f in dataclasses.fields(instance):
        if f.name in skip or not f.init:
            continue
        value = getattr(instance, f.name)
        default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
        if default is not dataclasses.MISSING and value == default:
            continue
        flag = flag_name(f.name)
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (tuple, list)):
            argv += [flag, *map(str, value)]
        elif isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        elif value is not None:
            argv += [flag, str(value)]
    return argv
