"""gpt-oss's Harmony format in the engine: its channels, its calls, its template.

On a GGUF copy of the default model with gpt-oss's template and Harmony's special
tokens (tests/model_families.py): the splitter and the call scanner however the pieces
fall, the template fed every conversation shape (one call per assistant message with
its result after it, analysis kept for a tool round and dropped after a final answer,
the effort in the system message), and ``models check``. Through the server:
``test_harmony.py``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, ToolCall
from offline_assistants.engine.call_scanner import Arguments, CallScanner, Finished, Started
from offline_assistants.engine.harmony import HARMONY, HarmonyCallScanner, HarmonyFormat
from offline_assistants.engine.model_check import check_model

from ..conftest import EQUATION
from ..test_model_families import INSTRUCTIONS, SHAPES, WEATHER
from .helpers import engine_of, splits_every_way

ANSWER = "<|end|><|start|>assistant<|channel|>final<|message|>x = 3"
CALL = '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Oslo"}'


@pytest.mark.parametrize(
    ("text", "opened", "expected"),
    [
        ("I add 3." + ANSWER, True, ("I add 3.", "x = 3")),
        ("<|channel|>analysis<|message|>a < b" + ANSWER, False, ("a < b", "x = 3")),
        ("I add.<|end|>x = 3", True, ("I add.", "x = 3")),  # headers left out
        ("I add.<|end|><|channel|>final<|message|>x", True, ("I add.", "x")),
        ("<|channel|>final<|message|>x = 3", False, ("", "x = 3")),  # an answer at once
        ("no end to it <|en", True, ("no end to it <|en", "")),
    ],
)
def test_harmony_channels_split_however_the_pieces_fall(
    text: str, opened: bool, expected: tuple[str, str]
) -> None:
    splits_every_way(HARMONY, text, opened, expected)


def test_a_harmony_call_streams_as_the_json_formats_do() -> None:
    """The scanner tells a Harmony call as CallScanner tells the same call in JSON."""
    expected = CallScanner().feed('{"name": "get_weather", "arguments": {"city": "Oslo"}}')
    assert expected[0] == Started(0, "get_weather") and expected[-1] == Finished(0)
    for cut in range(1, len(CALL)):
        scanner = HarmonyCallScanner()
        events = scanner.feed(CALL[:cut]) + scanner.feed(CALL[cut:])
        assert [e for e in events if not isinstance(e, Arguments)] == [
            e for e in expected if not isinstance(e, Arguments)
        ], cut
        told = "".join(e.text for e in events if isinstance(e, Arguments))
        assert json.loads(told) == {"city": "Oslo"}, cut
    fmt = HarmonyFormat()
    assert fmt.parse("<|start|>assistant" + CALL) == [("get_weather", {"city": "Oslo"})]
    assert fmt.parse(' to=functions.get_weather<|channel|>commentary json<|message|>{"a": 1}') == [
        ("get_weather", {"a": 1})
    ]  # the other header order gpt-oss writes
    assert fmt.parse("The weather is fine.") == []


def test_every_conversation_shape_renders_as_gpt_oss_wants(
    reasoning_files: dict[str, str],
) -> None:
    engine = engine_of(reasoning_files["gpt-oss"])
    try:
        assert isinstance(engine.tool_format, HarmonyFormat)
        for shape, plain in SHAPES.items():
            turns = [
                dataclasses.replace(t, reasoning=f"Thought{i}.") if t.role == "assistant" else t
                for i, t in enumerate(plain)
            ]
            for functions in ([], [WEATHER]):
                text = engine._prompt.text(turns, functions)
                assert f"# Instructions\n\n{INSTRUCTIONS}" in text, (shape, text)
                last = turns[-1]  # a tool's result is told as a JSON string
                told = json.dumps(last.content) if last.role == "tool" else last.content
                assert told in text and text.endswith("<|start|>assistant"), (shape, text)
                assert ("namespace functions" in text) is bool(functions), shape
                for i, turn in enumerate(turns):
                    if turn.role == "assistant":
                        final_after = any(
                            t.role == "assistant" and not t.tool_calls for t in turns[i + 1 :]
                        )
                        kept = bool(turn.tool_calls) and not final_after
                        assert (f"Thought{i}." in text) is kept, (shape, i, text)
        # A turn of two calls: one message each, each result right after its own call.
        oslo = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
        rome = ToolCall("call_2", "get_weather", '{"city": "Rome"}')
        text = engine._prompt.text(
            [
                ChatMessage("user", "Oslo and Rome?"),
                ChatMessage("assistant", tool_calls=(oslo, rome), reasoning="Both cities."),
                ChatMessage("tool", '{"temp": 20}', tool_call_id="call_2", name="get_weather"),
                ChatMessage("tool", '{"temp": -3}', tool_call_id="call_1", name="get_weather"),
            ],
            [WEATHER],
        )
        result = "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        call = "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
        assert (
            "<|channel|>analysis<|message|>Both cities.<|end|>"
            f'{call}{{"city": "Oslo"}}<|call|>{result}"{{\\"temp\\": -3}}"<|end|>'
            f'{call}{{"city": "Rome"}}<|call|>{result}"{{\\"temp\\": 20}}"<|end|>'
        ) in text, text
        # The API's effort reaches the template; none and minimal are gpt-oss's low.
        ask = [ChatMessage("user", EQUATION)]
        assert "Reasoning: medium" in engine._prompt.text(ask, [])
        for effort, said in (("high", "high"), ("minimal", "low"), ("xhigh", "high")):
            assert f"Reasoning: {said}\n" in engine._prompt.text(ask, [], effort), effort
    finally:
        engine.close()


def test_models_check_names_harmony(reasoning_files: dict[str, str]) -> None:
    settings = dataclasses.replace(Settings.from_env(), n_ctx=1024)
    report = check_model(Path(reasoning_files["gpt-oss"]), settings, smoke=False)
    assert report.ok and report.reasoning is not None
    assert "Harmony" in report.reasoning and "reasoning_effort" in report.reasoning
    assert "Harmony" in report.tool_format, report.tool_format
