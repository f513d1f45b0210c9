"""Widgets made from a settings dataclass (``DecodingArgs``, ``ResolverConfig``): one input per field,
its help from the field's ``metadata["help"]``, the instance rebuilt and validated by the class."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")


def dataclass_inputs(current: T, *, key: str, exclude: Iterable[str] = (), where=None) -> dict[str, Any]:
    """An input per field of ``current``'s class (``exclude`` skipped), showing ``current``'s values;
    returns the values entered, by field name. Build the instance with :func:`rebuild`."""
    where = where or st
    skip = set(exclude)
    hints = typing.get_type_hints(type(current))
    values: dict[str, Any] = {}
    for f in dataclasses.fields(current):
        if f.name in skip or not f.init:
            continue
        tp, optional = _non_optional(hints[f.name])
        label = f.name.replace("_", " ")
        value = getattr(current, f.name)
        kwargs = {"help": f.metadata.get("help"), "key": f"{key}_{f.name}"}
        if tp is bool:
            values[f.name] = where.checkbox(label, value=value, **kwargs)
        elif typing.get_origin(tp) is typing.Literal:
            choices = list(typing.get_args(tp))
            values[f.name] = where.selectbox(label, choices, index=choices.index(value), **kwargs)
        elif tp in (int, float):
            step = 1 if tp is int else 0.05
            values[f.name] = where.number_input(
                label, value=value, step=step, placeholder="none" if optional else None, **kwargs
            )
        elif tp is str:
            values[f.name] = where.text_input(label, value=value or "", **kwargs)
    return values


def rebuild(current: T, values: dict[str, Any]) -> T:
    """``current`` with ``values``; the class's ``__post_init__`` raises ValueError on a bad one."""
    return dataclasses.replace(current, **values)


def _non_optional(tp) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); any other type -> (tp, False)."""
    args = typing.get_args(tp)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None)), True
    return tp, False
