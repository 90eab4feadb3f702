"""Attribute filters of vector store search: comparison and compound filters, evaluated.

``matches(filter, attributes)`` answers whether a file's ``attributes`` pass
a filter of the API's shape: ``{"key", "type": eq|ne|gt|gte|lt|lte|in|nin,
"value"}`` or ``{"type": and|or, "filters": [...]}``. ``check`` rejects a
malformed filter with a message naming what is wrong. A missing attribute
never matches a comparison (``ne`` and ``nin`` included).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
COMPARISONS = ("eq", "ne", "in", "nin", *_ORDERING)


class FilterError(ValueError):
    pass


def check(spec: Any, where: str = "filters") -> None:
    if not isinstance(spec, Mapping):
        raise FilterError(f"Invalid '{where}': expected an object.")
    kind = spec.get("type")
    if kind in ("and", "or"):
        parts = spec.get("filters")
        if not isinstance(parts, list) or not parts:
            raise FilterError(f"Invalid '{where}.filters': a non-empty list of filters.")
        for index, part in enumerate(parts):
            check(part, f"{where}.filters[{index}]")
        return
    if kind not in COMPARISONS:
        raise FilterError(
            f"Invalid '{where}.type': {kind!r}; expected one of {COMPARISONS} or and/or."
        )
    if not isinstance(spec.get("key"), str):
        raise FilterError(f"Invalid '{where}.key': expected a string.")
    value = spec.get("value")
    if kind in ("in", "nin") and not isinstance(value, list):
        raise FilterError(f"Invalid '{where}.value': '{kind}' compares against a list.")
    if kind not in ("in", "nin") and not isinstance(value, str | int | float | bool):
        raise FilterError(f"Invalid '{where}.value': a string, number or boolean.")


def matches(spec: Mapping[str, Any], attributes: Mapping[str, Any] | None) -> bool:
    kind = spec["type"]
    if kind == "and":
        return all(matches(part, attributes) for part in spec["filters"])
    if kind == "or":
        return any(matches(part, attributes) for part in spec["filters"])
    attributes = attributes or {}
    if spec["key"] not in attributes:
        return False
    have, want = attributes[spec["key"]], spec["value"]
    if kind == "eq":
        return bool(have == want)
    if kind == "ne":
        return bool(have != want)
    if kind == "in":
        return have in want
    if kind == "nin":
        return have not in want
    try:
        return _ORDERING[kind](have, want)
    except TypeError:  # e.g. a string against a number
        return False
