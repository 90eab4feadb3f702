"""Reading tool calls while the model writes them, one character at a time.

Every tool format asks for calls as JSON objects with the function's ``name``
first and its arguments (``arguments`` or ``parameters``) as an object, with
anything outside the objects (``<tool_call>`` tags, newlines) ignored. The
grammar makes the text well-formed; this scanner reads it incrementally so
that a stream can show each call as it is generated:

- ``Started(index, name)`` once a call's name is complete;
- ``Arguments(index, text)`` with each new piece of its arguments' JSON text;
- ``Code(index, text)`` with each newly decoded piece of the ``code`` string,
  for the code function (the Code Interpreter shows code, not JSON);
- ``Finished(index)`` when the call's object closes.

The final calls are still parsed by the tool format from the whole text; this
is only what a stream shows on the way.
"""

from __future__ import annotations

from dataclasses import dataclass

ARGUMENT_KEYS = ("arguments", "parameters")
ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Started:
    index: int
    name: str


@dataclass(frozen=True)
class Arguments:
    index: int
    text: str


@dataclass(frozen=True)
class Code:
    index: int
    text: str


@dataclass(frozen=True)
class Finished:
    index: int


CallEvent = Started | Arguments | Code | Finished


class StringDecoder:
    """Decodes a JSON string's body as it arrives (escapes and surrogate pairs included)."""

    def __init__(self) -> None:
        self._escape: str | None = None  # the escape read so far, after the backslash
        self._high: int | None = None  # a high surrogate waiting for its low half

    def feed(self, char: str) -> str:
        """The text ``char`` completes (often ``char`` itself, "" inside an escape)."""
        if self._escape is None:
            if char == "\\":
                self._escape = ""
                return ""
            return self._flush_high() + char
        self._escape += char
        if self._escape[0] != "u":
            decoded, self._escape = ESCAPES.get(self._escape[0], self._escape[0]), None
            return self._flush_high() + decoded
        if len(self._escape) < 5:
            return ""
        point, self._escape = int(self._escape[1:], 16), None
        if 0xD800 <= point < 0xDC00:
            pending = self._flush_high()
            self._high = point
            return pending
        if 0xDC00 <= point < 0xE000 and self._high is not None:
            high, self._high = self._high, None
            return chr(0x10000 + ((high - 0xD800) << 10) + (point - 0xDC00))
        return self._flush_high() + (chr(point) if not 0xD800 <= point < 0xE000 else "\ufffd")

    def _flush_high(self) -> str:
        if self._high is None:
            return ""
        self._high = None
        return "\ufffd"  # a high surrogate with no low half


class CallScanner:
    """Feed it the model's output; it returns the call events each piece completes."""

    def __init__(self, code_function: str | None = None) -> None:
        self.code_function = code_function
        self.calls = 0  # calls started so far
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._key: str | None = None  # the last key read at depth 1 (the call object)
        self._expect_key = False
        self._token = ""  # a key or name being read at depth 1
        self._name: str | None = None
        self._args_depth: int | None = None  # depth of the arguments object, while inside it
        self._code_key = False  # the arguments' current key is "code"
        self._arg_expect_key = False
        self._code: StringDecoder | None = None

    @property
    def depth(self) -> int:
        """How many JSON objects and arrays are open (1: inside a call's object)."""
        return self._depth

    def feed(self, text: str) -> list[CallEvent]:
        events: list[CallEvent] = []
        for char in text:
            self._step(char, events)
        return events

    def _step(self, char: str, events: list[CallEvent]) -> None:
        index = self.calls - 1
        in_args = self._args_depth is not None
        if in_args:
            events.append(Arguments(index, char))
        if self._in_string:
            self._string_char(char, events, index, in_args)
            return
        if char == '"':
            self._in_string = True
            self._token = ""
            if in_args and self._depth == 2 and not self._arg_expect_key and self._code_key:
                self._code = StringDecoder()
            return
        if char in "{[":
            if self._depth == 0 and char == "[":
                return  # text between calls; only an object starts one
            self._depth += 1
            if self._depth == 1:
                self.calls += 1
                self._name, self._key, self._expect_key = None, None, True
            elif self._depth == 2 and self._key in ARGUMENT_KEYS and char == "{":
                self._args_depth = 2
                events.append(Arguments(index, char))
                self._arg_expect_key = True
            elif in_args and self._depth == 3:
                self._code_key = False
            return
        if char in "}]":
            if self._depth == 0:
                return
            self._depth -= 1
            if in_args and self._depth == 1:
                self._args_depth = None
            elif self._depth == 0:
                events.append(Finished(index))
            return
        if char == ":":
            if self._depth == 1:
                self._expect_key = False
            elif in_args and self._depth == 2:
                self._arg_expect_key = False
        elif char == ",":
            if self._depth == 1:
                self._expect_key = True
            elif in_args and self._depth == 2:
                self._arg_expect_key, self._code_key = True, False

    def _string_char(self, char: str, events: list[CallEvent], index: int, in_args: bool) -> None:
        closing = char == '"' and not self._escaped
        self._escaped = char == "\\" and not self._escaped
        if self._code is not None:
            if closing:
                self._code = None
            else:
                decoded = self._code.feed(char)
                if decoded:
                    events.append(Code(index, decoded))
        if not closing:
            if self._depth <= 2:
                self._token += char
            return
        self._in_string = False
        if self._depth == 1:
            if self._expect_key:
                self._key = self._token
            elif self._key == "name" and self._name is None:
                self._name = _decoded(self._token)
                events.append(Started(index, self._name))
        elif in_args and self._depth == 2 and self._arg_expect_key:
            self._code_key = self._name == self.code_function and _decoded(self._token) == "code"


def _decoded(raw: str) -> str:
    decoder = StringDecoder()
    return "".join(decoder.feed(char) for char in raw)
