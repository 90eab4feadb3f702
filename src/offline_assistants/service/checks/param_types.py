"""What the SDK's ``*_params`` annotations say: the type questions ``params.py`` asks.

The ``openai`` SDK declares each request as a ``TypedDict`` with ``Required``/
``NotRequired``, ``Annotated`` aliases, ``Literal`` tags and its own
``SequenceNotStr``. :mod:`.params` walks a request's values along those
annotations; these helpers read the annotations themselves (wire keys, required
keys, nullability, a union member's ``type`` tag, how to name a type in an error).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Union

import typing_extensions

from .wire_params import EXTRA, OPTIONAL

_SEQUENCES = {list, Iterable, Sequence, tuple}
_MAPPINGS = {dict, Mapping}
_REQUIRED = (typing.Required, typing_extensions.Required)
_NOT_REQUIRED = (typing.NotRequired, typing_extensions.NotRequired)


def unwrap(annotation: Any) -> Any:
    """Drop ``Annotated``, ``Required``/``NotRequired`` and ``ReadOnly`` wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated or origin in (
            *_REQUIRED,
            *_NOT_REQUIRED,
            typing_extensions.ReadOnly,
        ):
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def is_typed_dict(annotation: Any) -> bool:
    return isinstance(annotation, type) and typing_extensions.is_typeddict(annotation)


def is_sequence(annotation: Any) -> bool:
    """A list-like annotation (``List``, ``Iterable``, ``Sequence``, the SDK's ``SequenceNotStr``)."""
    origin = typing.get_origin(annotation)
    return (
        origin in _SEQUENCES
        or annotation in _SEQUENCES
        or getattr(origin, "__name__", "") == "SequenceNotStr"
    )


def is_mapping(annotation: Any) -> bool:
    """A free-form object annotation (``Dict``, ``Mapping``), not a TypedDict."""
    return typing.get_origin(annotation) in _MAPPINGS or annotation in _MAPPINGS


@functools.cache
def fields_of(annotation: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's wire keys (aliases applied) with their types, and the required ones.

    Required means what the API requires (``wire_params.py``): a ``Required`` key that
    may be null is optional, and so are the keys :data:`OPTIONAL` names; the keys
    :data:`EXTRA` names are added.
    """
    hints = typing.get_type_hints(annotation, include_extras=True)
    fields: dict[str, Any] = {}
    required: set[str] = set()
    total = getattr(annotation, "__total__", True)
    relaxed = OPTIONAL.get(annotation, frozenset())
    for name, hint in hints.items():
        wire = _alias(hint) or name
        fields[wire] = hint
        # Read Required/NotRequired from the hints: with string annotations (the SDK's
        # ``from __future__ import annotations``) ``__required_keys__`` misses them.
        marker = typing.get_origin(hint)
        marked = marker in _REQUIRED or (total and marker not in _NOT_REQUIRED)
        if marked and not nullable(hint) and wire not in relaxed:
            required.add(wire)
    for wire, hint in EXTRA.get(annotation, {}).items():
        fields.setdefault(wire, hint)
    return fields, frozenset(required)


def nullable(annotation: Any) -> bool:
    annotation = unwrap(annotation)
    if annotation is Any or annotation is object:
        return True
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return type(None) in {unwrap(a) for a in typing.get_args(annotation)}
    return annotation is type(None)


def type_tag(annotation: Any, key: str = "type") -> tuple[str, ...] | None:
    """The values a TypedDict's ``key`` (``type``, ``role``) may take (its Literal), if it
    has one."""
    fields, required = fields_of(annotation)
    hint = unwrap(fields.get(key))
    if key in required and typing.get_origin(hint) is Literal:
        return tuple(str(v) for v in typing.get_args(hint))
    return None


def fits_tags(annotation: Any, value: Mapping[str, Any]) -> bool:
    """Whether an object's ``type`` and ``role`` (where it has them, or lacks them) fit a
    TypedDict's declarations of those keys: how a union's member for it is told apart."""
    fields, required = fields_of(annotation)
    for key in ("type", "role"):
        if key not in value:
            if key in required:
                return False
            continue
        if key not in fields:
            return False
        hint = unwrap(fields[key])
        if typing.get_origin(hint) in (Union, types.UnionType):  # Optional[Literal[...]]
            members = [unwrap(a) for a in typing.get_args(hint) if a is not type(None)]
            hint = members[0] if len(members) == 1 else hint
        if typing.get_origin(hint) is Literal and value[key] not in typing.get_args(hint):
            return False
    return True


def accepts_kind(annotation: Any, value: Any) -> bool:
    """Whether ``value``'s JSON kind (object, array, string) fits ``annotation`` at all."""
    annotation = unwrap(annotation)
    if isinstance(value, Mapping):
        return is_typed_dict(annotation) or is_mapping(annotation)
    if isinstance(value, list | tuple):
        return is_sequence(annotation)
    if isinstance(value, str):
        return annotation is str or (
            typing.get_origin(annotation) is Literal
            and any(isinstance(a, str) for a in typing.get_args(annotation))
        )
    return False


def describe(annotation: Any) -> str:
    """How an error names the type: "an object", "an array", "'auto' or 'none'", ..."""
    annotation = unwrap(annotation)
    if is_typed_dict(annotation) or is_mapping(annotation):
        return "an object"
    if is_sequence(annotation):
        return "an array"
    if typing.get_origin(annotation) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
        annotation, "a value"
    )


def _alias(hint: Any) -> str | None:
    if typing.get_origin(hint) in (typing.Required, typing.NotRequired):
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) is typing.Annotated:
        for extra in hint.__metadata__:
            alias = getattr(extra, "alias", None)
            if isinstance(alias, str):
                return alias
    return None
