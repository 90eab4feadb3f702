"""The one validation layer: a call's parameters checked against the SDK's own ``*_params`` types.

Every public service method (both faces call the same ones: the Python API
and the HTTP routes) starts with ``check_params(SomeCreateParams, params)``,
where ``SomeCreateParams`` is the ``TypedDict`` the ``openai`` SDK itself
builds that request from (``openai.types.beta.assistant_create_params``, ...).
The walk follows JSON's rules rather than Python's coercions: no ``"5"`` for
an integer, no ``true`` for a number, no string where a list is expected,
no keys the type does not declare. It also refuses what could never be
stored and read back, wherever it appears, even inside free-form objects
(function schemas, metadata, attributes): strings with lone surrogates,
``NaN``/``Infinity``, integers beyond 64 bits, nesting deeper than
:data:`MAX_DEPTH`. Each failure is an ``InvalidRequestError`` whose ``param``
is the full path (``tools[0].function.name``), so the HTTP face answers 400 in
OpenAI's envelope and the Python face raises the same error.

The resource-specific checks that follow (ranges, lengths, ids that must
exist, schemas the grammar must be able to enforce) then meet only
well-shaped values. The result is a plain JSON copy: SDK models passed to the
Python API become dicts, tuples become lists.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from pydantic import BaseModel

from ...errors import InvalidRequestError
from .param_types import (
    accepts_kind,
    describe,
    fields_of,
    fits_tags,
    is_mapping,
    is_sequence,
    is_typed_dict,
    nullable,
    type_tag,
    unwrap,
)


class _Unstorable(InvalidRequestError):
    """A value no type may hold (lone surrogate, NaN, too deep): unions do not try others."""


# How deep a request may nest (objects and arrays); a 64-level function schema is plenty.
MAX_DEPTH = 64
INT64 = 1 << 63


def check_params(
    params_type: Any, params: Mapping[str, Any], *, path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``params`` checked against ``params_type`` (a TypedDict); a JSON copy of them.

    Top-level keys the type does not declare are refused as the API refuses them
    ("Unrecognized request argument supplied"); ``None`` for an optional key that
    is not nullable counts as not given (clients send ``null`` for "unset").
    ``path`` names keys of the type that travel in the URL (``thread_id``), which
    a body may not carry.
    """
    if not isinstance(params, Mapping):
        raise _wrong_type("body", "an object", params)
    value = _typed_dict(params_type, params, "", 0, top=True, url=frozenset(path))
    assert isinstance(value, dict)
    return value


def check_json(value: Any, param: str) -> Any:
    """Any JSON value (a free-form object), refusing only what cannot be stored."""
    return _walk(Any, value, param, 0)


# -- the walk ----------------------------------------------------------------------------


def _walk(annotation: Any, value: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _too_deep(path)
    annotation = unwrap(annotation)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", by_alias=True, exclude_unset=True)
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is object:
        return _any(value, path, depth)
    if origin is Literal:
        return _literal(annotation, value, path)
    if origin in (Union, types.UnionType):
        return _union(typing.get_args(annotation), value, path, depth)
    if is_typed_dict(annotation):
        return _typed_dict(annotation, value, path, depth, top=False)
    if is_sequence(annotation):
        args = typing.get_args(annotation)
        return _list(args[0] if args else Any, value, path, depth)
    if is_mapping(annotation):
        args = typing.get_args(annotation)
        return _mapping(args[1] if len(args) == 2 else Any, value, path, depth)
    if annotation is type(None):
        if value is not None:
            raise _wrong_type(path, "null", value)
        return None
    if annotation is str:
        return _string(value, path)
    if annotation is bool:
        if not isinstance(value, bool):
            raise _wrong_type(path, "a boolean", value)
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, "an integer", value)
        return _integer(value, path)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(path, "a number", value)
        return _number(value, path)
    return _any(value, path, depth)  # a type this walk does not know: shape unchecked


def _any(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _too_deep(path)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", by_alias=True, exclude_unset=True)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _string(value, path)
    if isinstance(value, int):
        return _integer(value, path)
    if isinstance(value, float):
        return _number(value, path)
    if isinstance(value, Mapping):
        return _mapping(Any, value, path, depth)
    if isinstance(value, list | tuple):
        return _list(Any, value, path, depth)
    raise InvalidRequestError(
        f"Invalid type for '{path}': {type(value).__name__} is not a JSON value.", param=path
    )


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(path, "a string", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise _Unstorable(
            f"Invalid '{path}': the text holds a lone surrogate (U+{ord(bad):04X}) at "
            f"character {exc.start}, which is not valid Unicode. Send well-formed UTF-8 text.",
            param=path,
        ) from None
    return value


def _integer(value: int, path: str) -> int:
    if not -INT64 <= value < INT64:
        raise _Unstorable(
            f"Invalid '{path}': the integer {str(value)[:24]}... is out of range (64 bits).",
            param=path,
        )
    return value


def _number(value: int | float, path: str) -> int | float:
    if isinstance(value, int):
        return _integer(value, path)
    if not math.isfinite(value):
        raise _Unstorable(
            f"Invalid '{path}': {value} is not a number JSON can carry; "
            "NaN and Infinity are not accepted.",
            param=path,
        )
    return value


def _literal(annotation: Any, value: Any, path: str) -> Any:
    allowed = typing.get_args(annotation)
    # bool is an int in Python; a literal 1 must not accept true.
    if any(value == option and type(value) is type(option) for option in allowed):
        return value
    listed = ", ".join(repr(option) for option in allowed)
    shown = repr(value) if not isinstance(value, dict | list) else _kind(value)
    raise InvalidRequestError(
        f"Invalid value for '{path}': {shown[:80]}. Supported values are: {listed}.",
        param=path,
    )


def _union(options: tuple[Any, ...], value: Any, path: str, depth: int) -> Any:
    options = tuple(unwrap(option) for option in options)
    if value is None and type(None) in options:
        return None
    candidates = [o for o in options if o is not type(None)]
    if len(candidates) == 1:
        return _walk(candidates[0], value, path, depth)
    # Objects told apart by their "type" (tools, content parts) or "role" (chat messages):
    # report the matching one.
    if isinstance(value, Mapping) and all(is_typed_dict(o) for o in candidates):
        for key in ("type", "role"):
            tagged = {tag: o for o in candidates if (tag := type_tag(o, key)) is not None}
            if len(tagged) != len(candidates) or not tagged:
                continue
            kind = value.get(key)
            chosen = next(
                (o for tags, o in tagged.items() if isinstance(kind, str) and kind in tags), None
            )
            if chosen is None:
                names = ", ".join(repr(t) for tags in tagged for t in tags)
                raise InvalidRequestError(
                    f"Invalid value for '{path}.{key}': {kind!r}. Supported values are: {names}.",
                    param=f"{path}.{key}",
                )
            return _walk(chosen, value, path, depth)
        # Mixed unions (input items: some tagged, some not): the members the tags fit.
        fitting_tags = [o for o in candidates if fits_tags(o, value)]
        if fitting_tags:  # the first that fits reports what is wrong (the most lenient first)
            first: InvalidRequestError | None = None
            for option in fitting_tags:
                try:
                    return _walk(option, value, path, depth)
                except _Unstorable:
                    raise
                except InvalidRequestError as exc:
                    first = first or exc
            assert first is not None
            raise first
        for key in ("type", "role"):
            if not fitting_tags and isinstance(value.get(key), str):
                raise InvalidRequestError(
                    f"Invalid value for '{path}.{key}': {value[key]!r} is not supported here.",
                    param=f"{path}.{key}",
                )
    errors: list[InvalidRequestError] = []
    for option in candidates:
        try:
            return _walk(option, value, path, depth)
        except _Unstorable:
            raise
        except InvalidRequestError as exc:
            errors.append(exc)
    # One option of the value's own kind: its error says the most.
    fitting = [
        error
        for option, error in zip(candidates, errors, strict=True)
        if accepts_kind(option, value)
    ]
    if len(fitting) == 1:
        raise fitting[0]
    if str in candidates:  # a string or known names (model ids): any string will do
        candidates = [o for o in candidates if typing.get_origin(o) is not Literal]
    kinds = list(dict.fromkeys(describe(o) for o in candidates))
    expected = kinds[0] if len(kinds) == 1 else f"one of {' or '.join(kinds)}"
    raise _wrong_type(path, expected, value)


def _typed_dict(
    annotation: Any,
    value: Any,
    path: str,
    depth: int,
    *,
    top: bool,
    url: frozenset[str] = frozenset(),
) -> Any:
    if not isinstance(value, Mapping):
        raise _wrong_type(path, "an object", value)
    fields, required = fields_of(annotation)
    if url:
        fields = {k: v for k, v in fields.items() if k not in url}
        required = required - url
    out: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            if top:
                raise InvalidRequestError(
                    f"Unrecognized request argument supplied: {key}", param=where
                )
            raise InvalidRequestError(f"Unknown parameter: '{where}'.", param=where)
        if item is None and key not in required and not nullable(fields[key]):
            continue  # null for an optional, non-nullable key: not given
        out[key] = _walk(fields[key], item, where, depth + 1)
    for key in required:
        if key not in value:
            where = f"{path}.{key}" if path else key
            raise InvalidRequestError(f"Missing required parameter: '{where}'.", param=where)
    return out


def _list(item_type: Any, value: Any, path: str, depth: int) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise _wrong_type(path, "an array", value)
    return [_walk(item_type, item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]


def _mapping(value_type: Any, value: Any, path: str, depth: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong_type(path, "an object", value)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidRequestError(
                f"Invalid '{path}': object keys must be strings, got {key!r}.", param=path
            )
        _string(key, path)
        out[key] = _walk(value_type, item, f"{path}.{key}", depth + 1)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _too_deep(path: str) -> InvalidRequestError:
    top = path.split(".", 1)[0].split("[", 1)[0]
    return _Unstorable(
        f"Invalid '{top}': nested more than {MAX_DEPTH} levels deep.", param=top or None
    )


def _wrong_type(path: str, expected: str, value: Any) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid type for '{path}': expected {expected}, but got {_kind(value)} instead.",
        param=path,
    )
