"""Property: whatever the schema and whatever the sampling, every call the model emits validates.

Hypothesis draws random function schemas (objects, enums, nested arrays, bounded
integers and numbers, bounded strings, nullable types) and a sampling seed; the
real default model generates a call under the grammar at temperature 1, and the
arguments must parse and validate against the schema. Calls cut off by the
token limit are never emitted (the run would end incomplete), so they are set
aside, not counted as passes.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from offline_assistants.engine import ChatMessage, FunctionSpec, Sampling, ToolChoice
from offline_assistants.engine.llama import LlamaEngine

NAMES = st.sampled_from(["city", "count", "ratio", "tags", "mode", "items", "ok", "note", "level"])


def integer_schema() -> st.SearchStrategy[dict[str, Any]]:
    def make(bounds: tuple[int, int], use: tuple[bool, bool]) -> dict[str, Any]:
        low, high = sorted(bounds)
        schema: dict[str, Any] = {"type": "integer"}
        if use[0]:
            schema["minimum"] = low
        if use[1]:
            schema["maximum"] = high
        return schema

    return st.builds(
        make,
        st.tuples(st.integers(-500, 500), st.integers(-500, 500)),
        st.tuples(st.booleans(), st.booleans()),
    )


def number_schema() -> st.SearchStrategy[dict[str, Any]]:
    def make(low: int, width: int, exclusive: bool) -> dict[str, Any]:
        key_low, key_high = (
            ("exclusiveMinimum", "exclusiveMaximum") if exclusive else ("minimum", "maximum")
        )
        return {"type": "number", key_low: low - 0.5, key_high: low + width + 0.25}

    return st.one_of(
        st.just({"type": "number"}),
        st.builds(make, st.integers(-100, 100), st.integers(1, 50), st.booleans()),
    )


def string_schema() -> st.SearchStrategy[dict[str, Any]]:
    def make(low: int, extra: int) -> dict[str, Any]:
        return {"type": "string", "minLength": low, "maxLength": low + extra}

    return st.one_of(
        st.just({"type": "string", "maxLength": 24}),
        st.builds(make, st.integers(0, 3), st.integers(1, 20)),
        st.lists(
            st.sampled_from(["red", "green", "blue", "x y", "C°"]),
            min_size=1,
            max_size=4,
            unique=True,
        ).map(lambda values: {"type": "string", "enum": values}),
    )


LEAVES = st.one_of(
    integer_schema(),
    number_schema(),
    string_schema(),
    st.just({"type": "boolean"}),
    st.just({"type": ["integer", "null"]}),
)


def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    arrays = st.builds(
        lambda item, low, extra: {
            "type": "array",
            "items": item,
            "minItems": low,
            "maxItems": low + extra,
        },
        children,
        st.integers(0, 1),
        st.integers(0, 2),
    )
    return st.one_of(arrays, objects(children))


def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def make(
        props: dict[str, dict[str, Any]], required: list[bool], closed: bool
    ) -> dict[str, Any]:
        names = list(props)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "required": [n for n, r in zip(names, required, strict=False) if r],
        }
        if closed:
            schema["additionalProperties"] = False
        return schema

    return st.builds(
        make,
        st.dictionaries(NAMES, children, min_size=1, max_size=3),
        st.lists(st.booleans(), min_size=3, max_size=3),
        st.booleans(),
    )


SCHEMAS = objects(st.recursive(LEAVES, extend, max_leaves=5))


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(schema=SCHEMAS, seed=st.integers(0, 2**31 - 1))
def test_every_emitted_call_validates(
    real_engine: LlamaEngine, schema: dict[str, Any], seed: int
) -> None:
    function = FunctionSpec("record", "Record the values.", schema)
    fmt = real_engine.tool_format
    prompt = real_engine.prompt_tokens(
        [ChatMessage("user", "Fill in the record with sensible values.")], [function]
    )
    stream = real_engine.generate(
        prompt,
        max_tokens=256,
        sampling=Sampling(temperature=1.0, seed=seed, repeat_penalty=1.1),
        grammar=fmt.grammar([function], ToolChoice("required"), parallel=False),
    )
    text = "".join(stream)
    assume(stream.finish_reason == "stop")
    calls = fmt.parse(text)
    assert len(calls) == 1, text
    name, arguments = calls[0]
    assert name == "record"
    jsonschema.validate(json.loads(json.dumps(arguments)), schema)
