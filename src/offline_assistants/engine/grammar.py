"""JSON Schema → GBNF grammars that make every generated value validate.

The engine samples under these grammars (llama.cpp's GBNF), so a function
call's arguments or a ``json_schema`` response cannot break their schema,
whatever the model. The translation is *sound*: every string the grammar
accepts validates against the schema. Where the schema allows more than a
grammar can say exactly (a float range, say), the grammar accepts a subset;
where a keyword cannot be honoured at all (``pattern``, ``multipleOf``, ...),
:class:`UnsupportedSchema` says so up front, naming the keyword, rather than
letting an invalid call through later.

Whitespace is limited to one space, or a newline and indentation, between tokens:
the layout models are used to, without room to ramble.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequestError
from .number_ranges import int_bounds, integer_range, number_range

# Keywords that only annotate; they never make a value invalid.
ANNOTATIONS = frozenset(
    {
        "title", "description", "default", "examples", "$schema", "$id", "$comment",
        "format", "deprecated", "readOnly", "writeOnly", "strict", "$defs", "definitions",
    }
)  # fmt: skip
SUPPORTED = ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "enum", "const", "anyOf", "oneOf", "$ref", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "nullable",
}  # fmt: skip

PRIMITIVES = {
    "ws": '( " " | "\\n" [ \\t]{0,20} )?',
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "string": r'"\"" char* "\""',
    "digits": "[0-9]+",
    "integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": '"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})?',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? ws "}"',
    "array": '"[" ws ( value ( "," ws value )* )? ws "]"',
}
PRIMITIVE_DEPS = {
    "string": ["char"],
    "value": ["object", "array", "string", "number", "boolean", "null"],
    "object": ["ws", "string", "value"],
    "array": ["ws", "value"],
}
# llama.cpp expands a bounded repetition ({m,n}) into copies of the repeated group and
# refuses a grammar whose copies (the group's symbols times the bound) pass 2,000
# (MAX_REPETITION_THRESHOLD in llama-grammar.cpp); an upper bound past that it drops
# without a word. A schema past it is refused here, with the reason, before a run starts.
MAX_REPEAT = 2_000


class UnsupportedSchema(InvalidRequestError):
    """The schema uses a keyword the grammar cannot honour; the message names it."""


def literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


class GrammarBuilder:
    """Accumulates named GBNF rules; ``schema()`` adds the rules for one JSON Schema."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}
        self._bodies: dict[str, str] = {}
        self._defs: dict[str, Any] = {}

    # -- rules -----------------------------------------------------------------------------

    def primitive(self, name: str) -> str:
        if name not in self.rules:
            self.rules[name] = PRIMITIVES[name]
            for dep in PRIMITIVE_DEPS.get(name, []):
                self.primitive(dep)
        return name

    def add(self, name: str, body: str) -> str:
        """Add ``name ::= body`` (re-using an existing rule with the same body)."""
        if body in self._bodies:
            return self._bodies[body]
        unique, counter = name, 1
        while unique in self.rules:
            counter += 1
            unique = f"{name}{counter}"
        self.rules[unique] = body
        self._bodies[body] = unique
        return unique

    def render(self, root: str) -> str:
        lines = [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        return "\n".join(lines) + "\n"

    # -- schemas ---------------------------------------------------------------------------

    def schema(self, schema: Any, name: str, *, strict: bool = False) -> str:
        """The rule name for values of ``schema`` (rules prefixed with ``name``)."""
        if isinstance(schema, dict):
            for key in ("$defs", "definitions"):
                for def_name, definition in (schema.get(key) or {}).items():
                    self._defs[f"#/{key}/{def_name}"] = definition
        return self._visit(schema, _rule_name(name), strict)

    def _visit(self, schema: Any, name: str, strict: bool) -> str:
        if schema is True or schema == {}:
            return self.primitive("value")
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"Unsupported JSON schema: {schema!r}.", param="schema")
        unknown = sorted(set(schema) - SUPPORTED)
        if unknown:
            raise UnsupportedSchema(
                f"JSON schema keyword '{unknown[0]}' cannot be enforced during generation; "
                "remove it or describe the constraint in 'description'.",
                param="schema",
            )
        if "$ref" in schema:
            return self._ref(schema["$ref"], strict)
        if "const" in schema:
            return self.add(name, literal(_compact(schema["const"])))
        if "enum" in schema:
            if not schema["enum"]:
                raise UnsupportedSchema("'enum' is empty: no value can match.", param="schema")
            return self.add(name, " | ".join(literal(_compact(v)) for v in schema["enum"]))
        if "anyOf" in schema or "oneOf" in schema:
            options = schema.get("anyOf") or schema.get("oneOf") or []
            if not options:
                raise UnsupportedSchema(
                    "'anyOf'/'oneOf' is empty: no value can match.", param="schema"
                )
            parts = [self._visit(o, f"{name}-{i}", strict) for i, o in enumerate(options)]
            return self.add(name, " | ".join(parts))
        kind = schema.get("type")
        if isinstance(kind, list) or schema.get("nullable"):
            kinds = list(kind) if isinstance(kind, list) else [kind]
            if schema.get("nullable"):
                kinds.append("null")
            parts = [
                self._visit({**schema, "type": k, "nullable": False}, f"{name}-{k}", strict)
                for k in dict.fromkeys(kinds)
            ]
            return self.add(name, " | ".join(parts))
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, name, strict)
        if kind == "array":
            return self._array(schema, name, strict)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return self.add(name, integer_range(*_int_bounds(schema)))
        if kind == "number":
            return self._number(schema, name)
        if kind in ("boolean", "null"):
            return self.primitive(kind)
        if kind is None:
            return self.primitive("value")
        raise UnsupportedSchema(f"Unknown JSON schema type {kind!r}.", param="schema")

    def _ref(self, ref: str, strict: bool) -> str:
        if ref not in self._defs:
            raise UnsupportedSchema(f"Unresolvable $ref {ref!r}.", param="schema")
        rule = _rule_name("def-" + ref.rsplit("/", 1)[-1])
        if rule not in self.rules:
            self.rules[rule] = "null"  # placeholder: allows recursive definitions
            body = self._visit(self._defs[ref], rule + "-body", strict)
            self.rules[rule] = body
        return rule

    def _object(self, schema: dict[str, Any], name: str, strict: bool) -> str:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        missing = required - set(properties)
        if missing:
            raise UnsupportedSchema(
                f"Required property '{sorted(missing)[0]}' has no schema in 'properties'.",
                param="schema",
            )
        extra = schema.get("additionalProperties", True)
        ws = self.primitive("ws")
        if not properties:
            if isinstance(extra, dict) and extra:
                value = self._visit(extra, f"{name}-value", strict)
                key = self.primitive("string")
                pair = f'{key} ":" {ws} {value}'
                return self.add(name, f'"{{" {ws} ( {pair} ( "," {ws} {pair} )* )? {ws} "}}"')
            if extra is False:
                return self.add(name, f'"{{" {ws} "}}"')
            return self.primitive("object")
        pairs = []
        for index, (prop, prop_schema) in enumerate(properties.items()):
            value = self._visit(prop_schema, f"{name}-{_rule_name(prop)}", strict)
            key = literal(json.dumps(prop))
            pairs.append(
                (self.add(f"{name}-kv{index}", f'{key} ":" {ws} {value}'), prop in required)
            )
        members = self._members(name, pairs, ws)
        return self.add(name, f'"{{" {ws} ( {members} ) {ws} "}}"')

    def _members(self, name: str, pairs: list[tuple[str, bool]], ws: str) -> str:
        """Members in order, commas only between those present, required ones always present."""

        def tail(start: int) -> str:
            return " ".join(
                f'"," {ws} {kv}' if needed else f'( "," {ws} {kv} )?'
                for kv, needed in pairs[start:]
            )

        # first(i): the first present member is i (if optional, possibly a later one).
        rule = ""
        for index in range(len(pairs) - 1, -1, -1):
            kv, needed = pairs[index]
            here = f"{kv} {tail(index + 1)}".strip()
            if needed:
                rule = here
            else:
                rule = (
                    self.add(f"{name}-from{index}", f"( {here} ) | ( {rule} )")
                    if rule
                    else f"( {here} )?"
                )
        return rule or '""'

    def _array(self, schema: dict[str, Any], name: str, strict: bool) -> str:
        items = schema.get("items", True)
        if isinstance(items, list):
            raise UnsupportedSchema("Tuple 'items' (a list) is not supported.", param="schema")
        item = self._visit(items, f"{name}-item", strict)
        ws = self.primitive("ws")
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        _check_repeat(low, high, "minItems", "maxItems", symbols=3)  # ( "," ws item )
        if high is not None and int(high) < low:
            raise UnsupportedSchema("'maxItems' is below 'minItems'.", param="schema")
        if high == 0:
            return self.add(name, f'"[" {ws} "]"')
        more_low = max(low - 1, 0)
        more_high = "" if high is None else str(int(high) - 1)
        body = f'{item} ( "," {ws} {item} ){{{more_low},{more_high}}}'
        if low == 0:
            body = f"( {body} )?"
        return self.add(name, f'"[" {ws} {body} {ws} "]"')

    def _string(self, schema: dict[str, Any], name: str) -> str:
        char = self.primitive("char")
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        _check_repeat(low, high, "minLength", "maxLength")
        if low == 0 and high is None:
            return self.primitive("string")
        if high is not None and int(high) < low:
            raise UnsupportedSchema("'maxLength' is below 'minLength'.", param="schema")
        bound = "" if high is None else str(int(high))
        return self.add(name, f'"\\"" {char}{{{low},{bound}}} "\\""')

    def _number(self, schema: dict[str, Any], name: str) -> str:
        bounds = [
            schema.get(k) for k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
        ]
        if all(b is None for b in bounds):
            return self.primitive("number")
        body = number_range(*bounds)
        if body is None:
            raise UnsupportedSchema(
                "The number range is too narrow to enforce during generation (it holds no "
                "integer and no whole-number step); widen it or use a string.",
                param="schema",
            )
        return self.add(name, body)


def _check_repeat(low: int, high: Any, low_name: str, high_name: str, symbols: int = 1) -> None:
    """Refuse bounds llama.cpp cannot expand: ``symbols`` grammar symbols per repetition."""
    most = MAX_REPEAT // symbols
    for keyword, bound in ((low_name, low), (high_name, high)):
        if bound is not None and int(bound) > most:
            raise UnsupportedSchema(
                f"'{keyword}' {bound} is above {most}, more than generation can enforce; "
                "lower it or leave it out.",
                param="schema",
            )


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _rule_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() and c.isascii() else "-" for c in text.lower()).strip("-")
    return cleaned or "r"


def _int_bounds(schema: dict[str, Any]) -> tuple[int | None, int | None]:
    low, high = int_bounds(
        schema.get("minimum"),
        schema.get("exclusiveMinimum"),
        schema.get("maximum"),
        schema.get("exclusiveMaximum"),
    )
    if low is not None and high is not None and low > high:
        raise UnsupportedSchema("The integer range is empty.", param="schema")
    return low, high
