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


def request_bodies() -> Any:
    """A Hypothesis strategy of ``POST /v1/responses`` bodies drawn from the spec's own
    request schema (``CreateResponseBody``): every key the spec defines, in its shapes,
    with ``model`` mostly ``default`` and output kept short so accepted ones are quick."""
    from hypothesis import strategies as st

    schema = _models().CreateResponseBody.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})

    def draw(node: Any, depth: int) -> Any:
        if not isinstance(node, dict) or depth > 6:
            return st.none()
        if "$ref" in node:
            return st.deferred(lambda: draw(defs[node["$ref"].rsplit("/", 1)[-1]], depth + 1))
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return st.one_of([draw(option, depth + 1) for option in options])
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            properties = node.get("properties", {})
            required = set(node.get("required", []))
            fixed = {k: draw(v, depth + 1) for k, v in properties.items() if k in required}
            optional = {k: draw(v, depth + 1) for k, v in properties.items() if k not in required}
            if not properties:
                return st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)
            return st.fixed_dictionaries(fixed, optional=optional)
        if kind == "array":
            return st.lists(draw(node.get("items", {}), depth + 1), max_size=3)
        if kind == "string":
            return st.text(
                max_size=int(node.get("maxLength", 24)) if node.get("maxLength", 99) < 24 else 24
            )
        if kind == "integer":
            return st.integers(int(node.get("minimum", -5)), int(node.get("maximum", 5000)))
        if kind == "number":
            return st.floats(node.get("minimum", -3), node.get("maximum", 3), allow_nan=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return st.none()

    def settle(body: dict[str, Any], model: str) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if v is not None or k == "model"}
        body["model"] = model
        body["background"] = False  # accepted ones finish within the test
        body["max_output_tokens"] = 16
        return body

    models = st.sampled_from(["default", "default", "default", "missing-model"])
    return st.builds(settle, draw(schema, 0), models)
