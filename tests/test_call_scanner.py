"""The call scanner reads calls as they are generated, whatever the chunking."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from offline_assistants.engine.call_scanner import (
    Arguments,
    CallScanner,
    Code,
    Finished,
    Started,
    StringDecoder,
)


def hermes(*calls: tuple[str, dict[str, object]]) -> str:
    return "\n".join(
        f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls
    )


def scan(text: str, cuts: list[int]) -> list[object]:
    scanner = CallScanner(code_function="code_interpreter")
    events: list[object] = []
    start = 0
    for cut in sorted(set(cuts)) + [len(text)]:
        events += scanner.feed(text[start:cut])
        start = cut
    return events


def summary(events: list[object]) -> dict[int, dict[str, object]]:
    calls: dict[int, dict[str, object]] = {}
    for event in events:
        index = event.index  # type: ignore[attr-defined]
        call = calls.setdefault(index, {"name": None, "arguments": "", "code": "", "done": False})
        if isinstance(event, Started):
            assert call["name"] is None and not call["arguments"]
            call["name"] = event.name
        elif isinstance(event, Arguments):
            call["arguments"] += event.text  # type: ignore[operator]
        elif isinstance(event, Code):
            call["code"] += event.text  # type: ignore[operator]
        elif isinstance(event, Finished):
            call["done"] = True
    return calls


CODE = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    code=CODE,
    other=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    ascii_only=st.booleans(),
    data=st.data(),
)
def test_any_chunking_gives_the_calls_text(
    code: str, other: dict[str, object], ascii_only: bool, data: st.DataObject
) -> None:
    calls = [("code_interpreter", {"code": code}), ("lookup", {"q": {"nested": [1, "}"]}, **other})]
    text = "\n".join(
        f"<tool_call>\n{json.dumps({'name': n, 'arguments': a}, ensure_ascii=ascii_only)}\n</tool_call>"
        for n, a in calls
    )
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    seen = summary(scan(text, cuts))
    assert [seen[i]["name"] for i in sorted(seen)] == ["code_interpreter", "lookup"]
    assert all(call["done"] for call in seen.values())
    for index, (_, arguments) in enumerate(calls):
        assert json.loads(seen[index]["arguments"]) == arguments  # type: ignore[arg-type]
    assert seen[0]["code"] == code
    assert seen[1]["code"] == ""  # only the code function's code is decoded


def test_llama3_calls_and_a_cut_off_call() -> None:
    text = '{"name": "code_interpreter", "parameters": {"code": "print(1)\\nprint(2'
    seen = summary(scan(text, [5, 30, 50]))
    assert seen[0]["name"] == "code_interpreter" and seen[0]["code"] == "print(1)\nprint(2"
    assert seen[0]["done"] is False and seen[0]["arguments"].startswith('{"code": ')  # type: ignore[union-attr]


def test_surrogate_pairs_and_lone_halves() -> None:
    def decode(raw: str) -> str:
        decoder = StringDecoder()
        return "".join(decoder.feed(char) for char in raw)

    assert decode("\\ud83d\\ude00 ok") == "😀 ok"
    assert decode("\\ud83dx") == "\ufffdx"
    assert decode("\\ude00") == "\ufffd"
