"""The Open Responses specification's schemas, as the tests validate against them.

The schemas come from ``openresponses-types`` (pydantic models generated from the
spec's OpenAPI document, a dev dependency): :func:`check_response` validates a
response object, :func:`check_event` a stream event by its ``type``, both in
pydantic's strict mode over the JSON as sent, so ``1.0`` is no integer and a
missing nullable field is missing. One generated model is wrong about the spec:
``JsonSchemaResponseFormat.schema`` is typed ``None`` where the spec allows any
JSON Schema object; :func:`_models` corrects it and rebuilds the models that hold it.
"""

from __future__ import annotations

import enum
import functools
import json
import typing
from typing import Any

from pydantic import BaseModel


@functools.cache
def _models() -> Any:
    from openresponses_types import types

    field = types.JsonSchemaResponseFormat.model_fields["schema_"]
    field.annotation = dict[str, Any]
    for model in vars(types).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            model.model_rebuild(force=True)
    return types


@functools.cache
def _event_models() -> dict[str, type[BaseModel]]:
    """Stream event type → its model (every ``*StreamingEvent`` class of the spec)."""
    found: dict[str, type[BaseModel]] = {}
    for name, model in vars(_models()).items():
        if not (name.endswith("StreamingEvent") and isinstance(model, type)):
            continue
        hint = typing.get_type_hints(model, include_extras=True)["type"]
        while typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            values = [member.value for member in hint]
        else:
            values = list(typing.get_args(hint))
        for value in values:
            found[value] = model
    return found


def check_response(body: dict[str, Any] | str) -> None:
    """Raise (pydantic's ValidationError, naming each field) unless ``body`` is a response
    object as the spec has it."""
    text = body if isinstance(body, str) else json.dumps(body)
    _models().ResponseResource.model_validate_json(text, strict=True)


def check_compaction(body: dict[str, Any]) -> None:
    """Raise unless ``body`` is a compacted response (``responses/compact``) as the spec has it."""
    _models().CompactResource.model_validate_json(json.dumps(body), strict=True)


def check_event(event: dict[str, Any]) -> None:
    """Raise unless ``event`` is a stream event the spec defines, in the spec's shape."""
    model = _event_models().get(event.get("type", ""))
    assert model is not None, f"the spec defines no stream event {event.get('type')!r}"
    model.model_validate_json(json.dumps(event), strict=True)


def event_types() -> set[str]:
    return set(_event_models())
