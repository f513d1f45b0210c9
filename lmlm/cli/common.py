"""What every ``lmlm`` command shares: the ``--json`` flag, printing results, and flags made from
dataclasses.

Settings live in frozen dataclasses next to the code that uses them (``PretrainArgs``,
``DecodingArgs``, ``DemoConfig`` ...), validated in ``__post_init__``. A command never declares their
flags by hand: :func:`add_dataclass_arguments` makes one flag per field and
:func:`dataclass_from_args` builds the dataclass back from the parsed namespace, so library code
receives the dataclass, never an ``argparse.Namespace``. :func:`dataclass_to_argv` is the inverse of
parsing (the flags that rebuild a given instance: reruns, ``accelerate launch``).

A field's flag is ``--field-name``; its help is ``metadata["help"]``; ``metadata["flags"]`` gives other
spellings; ``metadata["choices"]`` the allowed values when they are known only at run time (the
presets); ``Literal[...]`` types become ``choices``; ``bool`` fields become ``--x/--no-x``, and
``metadata["off_flags"]`` gives other spellings that turn one off (``--keep-duplicates`` for
``dedupe``); ``tuple[str, ...]`` fields take several values.

A command whose settings may also come from a file (``lmlm train annotator --config``) adds its flags
with ``only_given=True``: a flag not given leaves no value, :func:`values_from_args` returns the ones
given, and they go on top of the file's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


def add_command(
    commands, name: str, func, help: str, *, description: str | None = None
) -> argparse.ArgumentParser:
    """A command of a group (``commands`` is the group's subparsers): its parser, with ``--json``,
    running ``func(args)``."""
    parser = commands.add_parser(name, help=help, description=description or help)
    add_output_flags(parser)
    parser.set_defaults(func=func)
    return parser


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None, default=str))


def emit(args: argparse.Namespace, obj, text: str | None = None) -> None:
    """``obj`` as JSON with ``--json``, else ``text`` (default: a ``key: value`` line per item of a dict)."""
    if getattr(args, "json", False):
        print_json(obj)
    elif text is None:
        print("\n".join(f"{key}: {value}" for key, value in obj.items()))
    else:
        print(text)


def add_log_level_flag(parser: argparse.ArgumentParser, default: str = "WARNING") -> None:
    parser.add_argument("--log-level", default=default, help="logging level (DEBUG, INFO, WARNING, ...)")


def configure_logging(level: str) -> None:
    """The entry point's logging (library code only logs): one line a record on stderr."""
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")


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
    only_given: bool = False,
) -> None:
    """One flag per field of ``cls`` (``exclude`` skipped); ``defaults`` overrides field defaults.

    Fields without a default become required flags. Parsed values land under the field's name
    (``dest``), so :func:`dataclass_from_args` finds them. With ``only_given`` no flag is required and
    a flag not given leaves no attribute (its help still shows the field's default).
    """
    skip, defaults = set(exclude), defaults or {}
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        default = defaults[f.name] if f.name in defaults else _field_default(f)
        tp, _ = _unwrap_optional(hints[f.name])
        # A list flag given must hold a value unless an empty list can be what the user means.
        kwargs = _value_kwargs(tp, f, empty_list_ok=default is not dataclasses.MISSING and not only_given)
        text = f.metadata.get("help", f.name.replace("_", " "))
        if default is not dataclasses.MISSING and default not in (None, "", ()):
            text += f" (default: {default})"
        if only_given:
            kwargs["default"] = argparse.SUPPRESS
        elif default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        action = parser.add_argument(flag_name(f.name), *f.metadata.get("flags", ()), dest=f.name, **kwargs)
        # Set afterwards: BooleanOptionalAction appends its own default note on 3.10-3.12. Help is
        # plain text in the field; argparse would read a "%" as a format.
        action.help = text.replace("%", "%%")
        if tp is bool and f.metadata.get("off_flags"):
            off = parser.add_argument(
                *f.metadata["off_flags"], dest=f.name, action="store_false", default=argparse.SUPPRESS
            )
            off.help = f"same as --no-{flag_name(f.name)[2:]}"


def _field_default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _value_kwargs(tp, f: dataclasses.Field, *, empty_list_ok: bool) -> dict[str, Any]:
    """How argparse reads a value of type ``tp``: ``type``, ``choices``, ``nargs`` or ``action``."""
    origin = typing.get_origin(tp)
    kwargs: dict[str, Any]
    if tp is bool:
        kwargs = {"action": argparse.BooleanOptionalAction}
    elif origin is typing.Literal:
        choices = typing.get_args(tp)
        kwargs = {"choices": choices, "type": type(choices[0])}
    elif origin in (tuple, list):
        item = (typing.get_args(tp) or (str,))[0]
        kwargs = {"nargs": "*" if empty_list_ok else "+", "type": item if item in (int, float, str) else str}
    elif tp in (int, float, str):
        kwargs = {"type": tp}
    elif origin is dict or tp is dict:
        kwargs = {"type": json.loads, "metavar": "JSON"}
    else:
        kwargs = {"type": str}
    if "choices" in f.metadata:
        kwargs["choices"] = tuple(f.metadata["choices"])
    return kwargs


def values_from_args(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``cls`` that ``args`` holds (lists as tuples): every flag of
    :func:`add_dataclass_arguments`, or with ``only_given`` the flags given."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.init and hasattr(args, f.name):
            value = getattr(args, f.name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return values


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **overrides) -> T:
    """``cls`` built from the parsed flags of :func:`add_dataclass_arguments` (``overrides`` win).

    Fields that the parser did not declare keep their defaults. ``cls.__post_init__`` validates.
    """
    return cls(**(values_from_args(cls, args) | overrides))


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


@contextmanager
def model_loading_bars(show: bool) -> Iterator[None]:
    """With ``show`` false (``--no-progress``), no bar from transformers while the block runs (it
    draws one per model load); as it was after, so an in-process caller of :func:`lmlm.cli.main`
    keeps its own setting. Every command that takes ``--no-progress`` loads a model or the
    embedding model, so importing transformers' logging here costs them nothing."""
    if show:
        yield
        return
    from transformers.utils import logging as transformers_logging

    was_shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_shown:
            transformers_logging.enable_progress_bar()
