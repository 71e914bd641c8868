"""The one way configuration is validated: pydantic models, and their errors in the one problem format.

Every section of the district configuration (and the rules file) is a pydantic model derived from
:class:`Settings` (``extra="forbid"``, strict types, immutable). :func:`problems_from` turns a
`pydantic.ValidationError` into :class:`~flaechen.errors.Problem` objects: the file, the key path with
readable list entries (``municipalities[Hohenmaar].sources[hohenmaar-flurstuecke].fields``), what is wrong,
and the fix, with a "did you mean" for unknown keys.

Examples
--------
>>> class Example(Settings):
...     title: str = "x"
>>> try:
...     Example.model_validate({"titel": "Karte"})
... except ValidationError as exc:
...     print(problems_from(exc, raw={"titel": "Karte"}, model=Example, file="d.toml", prefix="publish")[0])
d.toml: publish.titel: unknown key; fix: did you mean 'title'?
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from flaechen.errors import ConfigError, Problem

__all__ = ["ConfigError", "Settings", "ValidationError", "config_error", "invalid", "problems_from", "validate"]

M = typing.TypeVar("M", bound=BaseModel)

ItemLabel = Callable[[Mapping[str, Any], Mapping[str, Any] | None], str | None]
"""Names a list entry for key paths: (entry, the table holding the list) -> label, or None for its index."""


class Settings(BaseModel):
    """Base of every configuration model: unknown keys are errors, types strict, values immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=False)


def invalid(message: str, fix: str = "") -> PydanticCustomError:
    """An error for a validator to raise: what is wrong and how to fix it (kept apart in the report).

    Examples
    --------
    >>> invalid("no such file", "check the path").message()
    'no such file'
    """
    return PydanticCustomError("flaechen", "{message}", {"message": message, "fix": fix})


def _label_default(entry: Mapping[str, Any], parent: Mapping[str, Any] | None) -> str | None:
    for key in ("id", "name"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """The candidate types an annotation stands for (Annotated, Optional and unions unpacked)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _unwrap(arg)
        return out
    return [annotation]


def _model_at(model: Any, loc: Sequence[Any]) -> list[type[BaseModel]]:
    """The models that the table at `loc` (relative to `model`) may be validated against."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for candidate in current:
            for t in _unwrap(candidate):
                origin = typing.get_origin(t)
                args = typing.get_args(t)
                if isinstance(t, type) and issubclass(t, BaseModel):
                    aliased = {f.alias: f for f in t.model_fields.values() if isinstance(f.alias, str)}
                    if isinstance(part, str) and part in t.model_fields:
                        nxt.append(t.model_fields[part].annotation)
                    elif isinstance(part, str) and part in aliased:  # a field named `x_` with alias `x`
                        nxt.append(aliased[part].annotation)
                    elif isinstance(part, str) and part in (getattr(t, "tag", None), t.__name__):
                        nxt.append(t)  # a tag of a discriminated union: stay on the model
                elif origin in (list, tuple, Sequence) and isinstance(part, int) and args:
                    nxt.append(args[0])
                elif origin in (dict, Mapping) and isinstance(part, str) and len(args) == 2:
                    nxt.append(args[1])
        current = nxt
    return [t for c in current for t in _unwrap(c) if isinstance(t, type) and issubclass(t, BaseModel)]


def _keys_of(models: list[type[BaseModel]]) -> list[str]:
    keys: list[str] = []
    for m in models:
        for name, f in m.model_fields.items():
            key = f.alias if isinstance(f.alias, str) else name
            if key not in keys:
                keys.append(key)
    return keys


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


_KINDS = {
    "string_type": "a text (in quotes)",
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "a list",
    "tuple_type": "a list",
}


def _message(error: Mapping[str, Any], name: str, known: list[str]) -> tuple[str, str]:
    """What is wrong and the fix, for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "flaechen":
        return str(ctx.get("message", error["msg"])), str(ctx.get("fix", ""))
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            return "unknown key", f"did you mean {close[0]!r}?"
        return "unknown key", f"remove it; known keys here: {', '.join(known)}" if known else "remove it"
    if kind == "missing":
        return "is required", f"add {name!r}"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, not {_describe(value)}", f"write it as {_KINDS[kind]}"
    if kind == "int_from_float":
        return f"must be a whole number, not {_describe(value)}", "drop the decimals"
    if kind == "literal_error":
        return f"{_describe(value)} is not allowed", f"use {ctx.get('expected', '')}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = ctx.get("expected_tags", "")
        return (
            f"{ctx.get('discriminator', 'kind')} {_describe(ctx.get('tag', value))} is not allowed",
            f"use one of {expected}",
        )
    bounds = {
        "greater_than_equal": ("ge", "at least"),
        "greater_than": ("gt", "more than"),
        "less_than_equal": ("le", "at most"),
        "less_than": ("lt", "less than"),
    }
    if kind in bounds:
        key, words = bounds[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{_describe(value)} is out of range", f"use a value {words} {bound}"
    if kind == "string_too_short":
        return "must not be empty", "write a text"
    if kind == "too_short":
        return "must not be empty", f"give at least {ctx.get('min_length', 1)} entry"
    if kind == "string_pattern_mismatch":
        return f"{_describe(value)} has the wrong form", f"match {ctx.get('pattern')}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), ""
    return str(error["msg"]), ""


def problems_from(
    exc: ValidationError,
    *,
    raw: Any,
    model: type[BaseModel],
    file: str | None,
    prefix: str = "",
    labels: Mapping[str, ItemLabel] | None = None,
) -> list[Problem]:
    """Translate a pydantic `ValidationError` into problems in the one format.

    Parameters
    ----------
    exc
        The error of ``model.model_validate(raw)``.
    raw
        The data that was validated, to name list entries by their ``id``/``name`` and not their index.
    model
        The model validated against (for the known keys of "did you mean").
    file
        The file the data comes from.
    prefix
        Key path of `raw` inside the file, e.g. ``"publish"``.
    labels
        Per list name, a function naming an entry (default: its ``id`` or ``name``).
    """
    labels = labels or {}
    out: list[Problem] = []
    for error in exc.errors():
        loc = list(error["loc"])
        path: list[str] = [prefix] if prefix else []
        node: Any = raw
        parent: Any = None
        model_loc: list[Any] = []
        last_key = ""
        for i, part in enumerate(loc):
            if isinstance(part, int) and isinstance(node, list):
                entry = node[part] if 0 <= part < len(node) else None
                label = None
                if isinstance(entry, Mapping):
                    label = labels.get(last_key, _label_default)(entry, parent if isinstance(parent, Mapping) else None)
                path[-1] = f"{path[-1]}[{label if label else part}]" if path else f"[{label or part}]"
                parent, node = node, entry
                model_loc.append(part)
                continue
            if part == "[key]":
                continue
            if (
                isinstance(node, Mapping)
                and part not in node
                and i < len(loc) - 1
                and part not in _keys_of(_model_at(model, model_loc))
            ):
                model_loc.append(part)  # a discriminated union's tag, not a key of the data
                continue
            path.append(str(part))
            model_loc.append(part)
            last_key = str(part)
            parent = node
            node = node.get(part) if isinstance(node, Mapping) else None
        name = str(loc[-1]) if loc else ""
        known = _keys_of(_model_at(model, model_loc[:-1])) if error["type"] == "extra_forbidden" else []
        message, fix = _message(error, name, known)
        out.append(Problem(file, ".".join(p for p in path if p), message, fix))
    return out


def config_error(problems: Sequence[Problem], *, file: str | None) -> ConfigError:
    """A :class:`ConfigError` carrying `problems` (each rendered with its file)."""
    return ConfigError(list(problems), path=file)


def validate(
    model: type[M],
    raw: Any,
    *,
    file: str | None = None,
    prefix: str = "",
    context: Mapping[str, Any] | None = None,
    labels: Mapping[str, ItemLabel] | None = None,
) -> M:
    """Validate `raw` against `model`; raise :class:`ConfigError` with every problem in the one format.

    Examples
    --------
    >>> class Example(Settings):
    ...     title: str = "x"
    >>> validate(Example, {"title": 3}, prefix="publish")
    Traceback (most recent call last):
    ...
    flaechen.errors.ConfigError: 1 problem(s) in the configuration:
      - publish.title: must be a text (in quotes), not 3; fix: write it as a text (in quotes)
    """
    try:
        return model.model_validate(raw, context=dict(context or {}))
    except ValidationError as exc:
        raise config_error(
            problems_from(exc, raw=raw, model=model, file=file, prefix=prefix, labels=labels), file=file
        ) from None
