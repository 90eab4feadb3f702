"""Parameter checks shared by every resource; each failure names the offending parameter.

These run before anything is written, so a rejected call changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import TypeAdapter, ValidationError

from ...errors import InvalidRequestError

MAX_MODEL_NAME = 1024  # a model name or a path to a .gguf file
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


def check_metadata(metadata: Any, param: str = "metadata") -> dict[str, str]:
    """OpenAI's metadata rules: at most 16 string pairs, keys ≤ 64 and values ≤ 512 characters."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            f"Invalid '{param}': expected an object of string pairs.", param=param
        )
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidRequestError(
            f"Invalid '{param}': too many keys ({len(metadata)}); at most {MAX_METADATA_KEYS}.",
            param=param,
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRequestError(
                f"Invalid '{param}': keys and values must be strings (key {key!r}).", param=param
            )
        if len(key) > MAX_METADATA_KEY:
            raise InvalidRequestError(
                f"Invalid '{param}': key {key[:20]!r}... is longer than {MAX_METADATA_KEY} characters.",
                param=param,
            )
        if len(value) > MAX_METADATA_VALUE:
            raise InvalidRequestError(
                f"Invalid '{param}': the value of {key!r} is longer than {MAX_METADATA_VALUE} characters.",
                param=param,
            )
    return dict(metadata)


def check_text(value: Any, param: str, max_length: int, *, required: bool = False) -> str | None:
    if value is None or (required and value == ""):
        if required:
            raise InvalidRequestError(f"Missing required parameter: '{param}'.", param=param)
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"Invalid type for '{param}': expected a string, got {type(value).__name__}.",
            param=param,
        )
    if len(value) > max_length:
        raise InvalidRequestError(
            f"Invalid '{param}': string too long ({len(value)} characters); at most {max_length}.",
            param=param,
        )
    return value


def check_number(value: Any, param: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(
            f"Invalid type for '{param}': expected a number, got {type(value).__name__}.",
            param=param,
        )
    if not low <= value <= high:
        raise InvalidRequestError(
            f"Invalid '{param}': {value} is out of range; expected a value from {low} to {high}.",
            param=param,
        )
    return float(value)


@dataclass(frozen=True)
class SamplingParams:
    """A request's sampling parameters, checked; None where it sent none."""

    temperature: float | None
    top_p: float | None
    presence_penalty: float | None
    frequency_penalty: float | None


def check_sampling(p: Mapping[str, Any]) -> SamplingParams:
    """``temperature``, ``top_p`` and the two penalties in the ranges every API allows."""
    return SamplingParams(
        temperature=check_number(p.get("temperature"), "temperature", 0.0, 2.0),
        top_p=check_number(p.get("top_p"), "top_p", 0.0, 1.0),
        presence_penalty=check_number(p.get("presence_penalty"), "presence_penalty", -2.0, 2.0),
        frequency_penalty=check_number(p.get("frequency_penalty"), "frequency_penalty", -2.0, 2.0),
    )


def check_positive_int(value: Any, param: str, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(
            f"Invalid type for '{param}': expected an integer, got {type(value).__name__}.",
            param=param,
        )
    if value < minimum:
        raise InvalidRequestError(
            f"Invalid '{param}': {value} is too small; expected at least {minimum}.", param=param
        )
    return value


@dataclass(frozen=True)
class ListParams:
    limit: int
    order: Literal["asc", "desc"]
    after: str | None
    before: str | None


def check_list_params(
    limit: Any = None,
    order: Any = None,
    after: Any = None,
    before: Any = None,
    *,
    max_limit: int = 100,
) -> ListParams:
    """``limit`` 1–100 (default 20), ``order`` asc|desc (default desc), cursors are ids."""
    if limit is None:
        limit = 20
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise InvalidRequestError(
            f"Invalid 'limit': {limit!r}; expected an integer from 1 to {max_limit}.",
            param="limit",
        )
    order = order or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequestError(
            f"Invalid 'order': {order!r}; expected 'asc' or 'desc'.", param="order"
        )
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and (not isinstance(cursor, str) or not cursor):
            raise InvalidRequestError(f"Invalid '{name}': expected an object id.", param=name)
    return ListParams(limit, cast(Literal["asc", "desc"], order), after, before)


@functools.cache
def _adapter(type_: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_)


def validate_as(type_: Any, value: Any, param: str) -> Any:
    """Validate ``value`` against an SDK type; the first error becomes an InvalidRequestError."""
    try:
        return _adapter(type_).validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{param}.{where}" if where else param
        raise InvalidRequestError(f"Invalid '{detail}': {first['msg']}.", param=param) from None
