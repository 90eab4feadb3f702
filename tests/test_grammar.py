"""The JSON Schema → GBNF builder: exact integer ranges, sound number ranges, and grammars llama.cpp accepts."""

from __future__ import annotations

import itertools
import re

import pytest

from offline_assistants import InternalError
from offline_assistants.engine.grammar import GrammarBuilder, UnsupportedSchema
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.number_ranges import integer_range, number_range

from .gbnf_regex import to_regex

BOUNDS = [None, -1234, -100, -10, -9, -1, 0, 1, 7, 9, 10, 99, 100, 101, 999, 1000, 4321]


@pytest.mark.parametrize(
    ("low", "high"),
    [(a, b) for a, b in itertools.product(BOUNDS, BOUNDS) if a is None or b is None or a <= b],
)
def test_integer_range_is_exact(low: int | None, high: int | None) -> None:
    pattern = re.compile(to_regex(f"root ::= {integer_range(low, high)}"))
    for value in range(-1500, 5000):
        inside = (low is None or value >= low) and (high is None or value <= high)
        assert bool(pattern.fullmatch(str(value))) == inside, (low, high, value)
    assert not pattern.fullmatch("007") and not pattern.fullmatch("-0")


NUMBER_BOUNDS = [
    (0, None, 100, None),
    (-40.5, None, 60, None),
    (None, 0, None, 1.5),
    (-3.25, None, None, -1),
    (None, None, 10, None),
    (5, None, None, None),
    (None, -2.5, 2.5, None),
]


@pytest.mark.parametrize("bounds", NUMBER_BOUNDS)
def test_number_range_is_sound(bounds: tuple[float | None, ...]) -> None:
    minimum, exclusive_minimum, maximum, exclusive_maximum = bounds
    body = number_range(minimum, exclusive_minimum, maximum, exclusive_maximum)
    assert body is not None
    pattern = re.compile(to_regex(f"root ::= {body}"))
    matched = 0
    for whole in range(-120, 121):
        for fraction in ("", ".0", ".5", ".999999", ".000001", ".25"):
            for sign in ("", "-") if whole == 0 else ("",):
                text = f"{sign}{whole}{fraction}"
                if not pattern.fullmatch(text):
                    continue
                matched += 1
                value = float(text)
                assert minimum is None or value >= minimum, text
                assert exclusive_minimum is None or value > exclusive_minimum, text
                assert maximum is None or value <= maximum, text
                assert exclusive_maximum is None or value < exclusive_maximum, text
    assert matched > 3


def build(schema: object) -> str:
    builder = GrammarBuilder()
    return builder.render(builder.schema(schema, "args"))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "minLength": 2, "maxLength": 5},
                "b": {"type": "integer", "minimum": -5, "maximum": 300},
                "c": {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 3},
                "d": {"enum": ["x", 1, None, {"k": [1, 2]}]},
                "e": {"type": ["number", "null"]},
                "f": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "g": {"const": "fixed"},
                "h": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
            "required": ["a", "c", "g"],
            "additionalProperties": False,
        },
        {
            "$defs": {"leaf": {"type": "object", "properties": {"v": {"type": "integer"}}}},
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/leaf"}}},
        },
        {},
        {"type": "object"},
        {"type": "string", "description": "annotations are fine", "format": "date-time"},
    ],
)
def test_llama_cpp_accepts_the_grammar(real_engine: LlamaEngine, schema: object) -> None:
    gbnf = build(schema)
    assert real_engine.compile(gbnf) is real_engine.compile(gbnf)  # parsed once, then cached


def test_a_grammar_llama_cpp_rejects_is_an_error(real_engine: LlamaEngine) -> None:
    with pytest.raises(InternalError, match="rejected a generated grammar"):
        real_engine.compile('root ::= ( "unclosed"')


def test_optional_members_keep_commas_right() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "boolean"},
            "b": {"type": "boolean"},
            "c": {"type": "boolean"},
        },
        "required": ["b"],
        "additionalProperties": False,
    }
    builder = GrammarBuilder()
    gbnf = builder.render(builder.schema(schema, "args"))
    pattern = re.compile(to_regex(gbnf))
    accepted = [
        text
        for keys in itertools.chain.from_iterable(
            itertools.combinations("abc", n) for n in range(4)
        )
        for text in ["{" + ",".join(f'"{k}":true' for k in keys) + "}"]
        if pattern.fullmatch(text)
    ]
    assert accepted == [
        '{"b":true}',
        '{"a":true,"b":true}',
        '{"b":true,"c":true}',
        '{"a":true,"b":true,"c":true}',
    ]


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "string", "pattern": "^a"}, "pattern"),
        ({"type": "number", "multipleOf": 3}, "multipleOf"),
        ({"not": {"type": "string"}}, "not"),
        ({"type": "object", "patternProperties": {}}, "patternProperties"),
    ],
)
def test_unsupported_keywords_are_named(schema: object, keyword: str) -> None:
    with pytest.raises(UnsupportedSchema) as caught:
        build(schema)
    assert f"'{keyword}'" in caught.value.message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 2000},
        {"type": "string", "minLength": 10, "maxLength": 2000},
        {"type": "array", "items": {"type": "integer"}, "minItems": 666},
        {"type": "array", "items": {"type": "string", "minLength": 2000}, "maxItems": 666},
    ],
)
def test_repetitions_at_the_limit_are_what_llama_cpp_accepts(
    real_engine: LlamaEngine, schema: object
) -> None:
    real_engine.compile(build(schema))  # llama.cpp would raise past its repetition limit


@pytest.mark.parametrize(
    ("schema", "keyword", "most"),
    [
        ({"type": "string", "minLength": 2001}, "minLength", 2000),
        ({"type": "string", "maxLength": 5000}, "maxLength", 2000),  # llama.cpp would drop it
        ({"type": "array", "minItems": 667}, "minItems", 666),
        ({"type": "array", "maxItems": 1000}, "maxItems", 666),
    ],
)
def test_repetitions_llama_cpp_cannot_enforce_are_refused(
    schema: object, keyword: str, most: int
) -> None:
    with pytest.raises(UnsupportedSchema) as caught:
        build(schema)
    assert f"'{keyword}'" in caught.value.message and f"above {most}," in caught.value.message
    assert caught.value.param == "schema"
