"""gpt-oss's Harmony format through the real engine: channels read apart, calls as tool calls.

On a GGUF copy of the default model with gpt-oss's template and Harmony's special
tokens (tests/model_families.py, served by tests/reasoning/conftest.py's
:func:`harmony` with the reasoning budget of ``helpers.BUDGET``): the splitter and the
call scanner however the pieces fall, the template fed every conversation shape (one
call per assistant message with its result after it, analysis kept for a tool round
and dropped after a final answer, the effort in the system message), ``models check``,
and through the official client Chat Completions' ``reasoning_content`` whole and
streamed, a forced call and a JSON schema after the analysis, a run's message and step,
a Responses call, a Code Interpreter run and a file_search run under Harmony, sealed
reasoning sent back into a tool round, parallel calls sent back one by one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, ToolCall
from offline_assistants.engine.call_scanner import Arguments, CallScanner, Finished, Started
from offline_assistants.engine.harmony import HARMONY, HarmonyCallScanner, HarmonyFormat
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.model_check import check_model

from ..conftest import EQUATION
from ..test_model_families import INSTRUCTIONS, SHAPES, WEATHER
from ..tools_fixtures import GET_WEATHER
from .helpers import (
    BUDGET,
    answered_apart,
    calling_run,
    no_tags,
    point,
    reasoning_of,
    splits_every_way,
    weather_called,
)

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


def _engine(path: str) -> LlamaEngine:
    return LlamaEngine(Path(path), n_threads=2, n_ctx=2048, progress=False)


def test_every_conversation_shape_renders_as_gpt_oss_wants(
    reasoning_files: dict[str, str],
) -> None:
    engine = _engine(reasoning_files["gpt-oss"])
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


def test_a_chat_completion_reads_the_analysis_apart_whole_and_streamed(
    harmony: openai.OpenAI,
) -> None:
    ask: dict[str, Any] = {
        "model": "default",
        "messages": [{"role": "user", "content": EQUATION}],
        "temperature": 0,
        "max_completion_tokens": 48,
        "reasoning_effort": "low",
    }
    whole = harmony.chat.completions.create(**ask)
    message = whole.choices[0].message
    reasoning = reasoning_of(message)
    assert reasoning and message.content, whole
    no_tags(message.content)
    no_tags(reasoning)
    assert "final" not in message.content[:12] and "analysis" not in reasoning[:12]
    usage = whole.usage
    assert usage is not None and usage.completion_tokens_details is not None
    spent = usage.completion_tokens_details.reasoning_tokens
    assert spent is not None and BUDGET <= spent < usage.completion_tokens

    chunks = list(harmony.chat.completions.create(**ask, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    streamed = (
        "".join(reasoning_of(d) or "" for d in deltas),
        "".join(d.content or "" for d in deltas),
    )
    assert streamed == (reasoning, message.content)
    # none: gpt-oss's least effort (low, in the template) with the analysis closed at once.
    off = harmony.chat.completions.create(**{**ask, "reasoning_effort": "none"})
    assert not reasoning_of(off.choices[0].message), off
    assert off.choices[0].finish_reason == "stop", off  # it answered (the tiny model: tersely)
    no_tags(off.choices[0].message.content)
    assert off.usage is not None and off.usage.completion_tokens_details is not None
    # The analysis opened and closed at once: its header and end are all it took.
    assert (off.usage.completion_tokens_details.reasoning_tokens or 0) <= 4, off.usage


def test_a_forced_call_and_a_json_schema_follow_the_analysis(harmony: openai.OpenAI) -> None:
    for choice_asked in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        weather_called(harmony, tool_choice=choice_asked)
    message = point(harmony, "default")
    assert reasoning_of(message)
    no_tags(message.content)


def test_a_runs_call_goes_back_in_harmonys_turn_shape(harmony: openai.OpenAI) -> None:
    beta = harmony.beta
    answered_apart(harmony)
    thread, run = calling_run(beta)
    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])
    done = beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": '{"temp": -3}'}],
    )  # fmt: skip
    assert done.status in ("completed", "incomplete"), done.last_error
    texts = [
        part.text.value  # type: ignore[union-attr]
        for m in beta.threads.messages.list(thread.id, run_id=run.id).data
        for part in m.content
    ]
    assert texts and all(texts), texts
    for text in texts:
        no_tags(text)


def test_a_response_calls_a_function_after_its_reasoning(harmony: openai.OpenAI) -> None:
    response = harmony.responses.create(
        model="default",
        input="Weather in Oslo?",
        tools=[{"type": "function", **GET_WEATHER}],  # type: ignore[list-item]
        tool_choice="required",
        reasoning={"effort": "high"},
        temperature=0,
        max_output_tokens=120,
    )
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "function_call"], response.output
    call = response.output[1]
    assert call.type == "function_call" and call.name == "get_weather"
    jsonschema.validate(json.loads(call.arguments), GET_WEATHER["parameters"])
    followed = harmony.responses.create(
        model="default",
        previous_response_id=response.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": -3}'}],
        temperature=0,
        max_output_tokens=48,
    )
    assert followed.output_text, followed.output
    no_tags(followed.output_text)


def test_the_code_interpreter_runs_under_harmony(harmony: openai.OpenAI) -> None:
    beta = harmony.beta
    coder = beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "code_interpreter"}]
    )
    thread = beta.threads.create(messages=[{"role": "user", "content": "Use Python: 6*7"}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=coder.id, tool_choice={"type": "code_interpreter"},
        max_completion_tokens=80,
    )  # fmt: skip
    assert run.status in ("completed", "incomplete"), run.last_error
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    calls = [
        call
        for step in steps
        if step.step_details.type == "tool_calls"
        for call in step.step_details.tool_calls
    ]
    assert calls and calls[0].type == "code_interpreter", steps
    assert calls[0].code_interpreter.input, calls[0]  # type: ignore[union-attr]
    assert (steps[0].step_details.model_extra or {})["reasoning"]["content"][0]["text"]


def test_parallel_calls_sent_back_to_a_chat_are_told_one_by_one(
    harmony: openai.OpenAI, reasoning_files: dict[str, str]
) -> None:
    """The prompt the chat request made is the one the template rendered above (one call
    per message, each result after its own call), token for token in number."""
    asked = [("call_1", "Oslo", '{"temp": -3}'), ("call_2", "Rome", '{"temp": 20}')]
    calls = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }
        for call_id, city, _ in asked
    ]
    results = [
        {"role": "tool", "tool_call_id": call_id, "content": result}
        for call_id, _, result in reversed(asked)  # answered out of order
    ]
    reply = harmony.chat.completions.create(
        model="default",
        messages=[
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": calls,
                "reasoning_content": "Both.",
            },  # type: ignore[list-item, typeddict-unknown-key]
            *results,  # type: ignore[list-item]
        ],
        tools=[{"type": "function", "function": GET_WEATHER}],
        temperature=0,
        max_completion_tokens=48,
    )
    choice = reply.choices[0]
    assert choice.finish_reason in ("stop", "length", "tool_calls"), reply
    no_tags(choice.message.content)
    oslo, rome = (
        ToolCall(call_id, "get_weather", json.dumps({"city": c})) for call_id, c, _ in asked
    )
    turns = [
        ChatMessage("user", "Weather in Oslo and Rome?"),
        ChatMessage("assistant", tool_calls=(oslo, rome), reasoning="Both."),
        *(
            ChatMessage("tool", r, tool_call_id=i, name="get_weather")
            for i, _, r in reversed(asked)
        ),
    ]
    engine = _engine(reasoning_files["gpt-oss"])
    try:
        expected = engine._prompt.tokens(turns, [WEATHER])
        text = engine._prompt.text(turns, [WEATHER])
    finally:
        engine.close()
    order = ['{"city": "Oslo"}', '\\"temp\\": -3', '{"city": "Rome"}', '\\"temp\\": 20']
    assert [text.index(said) for said in order] == sorted(text.index(said) for said in order)
    assert reply.usage is not None and reply.usage.prompt_tokens == len(expected)


def test_sealed_reasoning_sent_back_is_kept_in_a_tool_round(
    harmony: openai.OpenAI, reasoning_files: dict[str, str]
) -> None:
    """As Codex sends it (``store: false``, the reasoning item with its handle and no
    text): the analysis goes back into the tool round's prompt, where gpt-oss's template
    keeps it, token for token."""
    ask: dict[str, Any] = {
        "model": "default",
        "temperature": 0,
        "store": False,
        "tools": [{"type": "function", **GET_WEATHER}],
    }
    question = {"role": "user", "content": "Weather in Oslo?"}
    first = harmony.responses.create(
        **ask, input=[question], tool_choice="required", max_output_tokens=120,
        include=["reasoning.encrypted_content"],
    )  # fmt: skip
    reasoning, call = first.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content, first.output
    assert call.type == "function_call"
    sealed = {
        "type": "reasoning",
        "id": reasoning.id,
        "summary": [],
        "encrypted_content": reasoning.encrypted_content,
    }
    told = {"type": "function_call", "call_id": call.call_id, "name": call.name}
    told["arguments"] = call.arguments
    result = {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": -3}'}
    kept = harmony.responses.create(
        **ask, input=[question, sealed, told, result], max_output_tokens=16
    )
    bare = harmony.responses.create(**ask, input=[question, told, result], max_output_tokens=16)
    thought = (reasoning.content or [])[0].text
    engine = _engine(reasoning_files["gpt-oss"])
    try:
        analysis = engine._prompt._plain_tokens(
            f"<|start|>assistant{HARMONY.start}{thought}<|end|>"
        )
    finally:
        engine.close()
    assert kept.usage is not None and bare.usage is not None
    assert kept.usage.input_tokens - bare.usage.input_tokens == len(analysis), (
        kept.usage,
        bare.usage,
    )


def test_file_search_runs_under_harmony(harmony: openai.OpenAI) -> None:
    note = harmony.files.create(
        file=("etna.txt", b"Mount Etna in Sicily is one of the most active volcanoes on Earth."),
        purpose="assistants",
    )
    store = harmony.vector_stores.create(name="volcanoes")
    row = harmony.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=note.id)
    assert row.status == "completed"
    beta = harmony.beta
    searcher = beta.assistants.create(
        model="default",
        temperature=0,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = beta.threads.create(messages=[{"role": "user", "content": "Where is Etna?"}])
    run = beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=searcher.id, tool_choice={"type": "file_search"},
        max_completion_tokens=80,
    )  # fmt: skip
    assert run.status in ("completed", "incomplete"), run.last_error
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    searches = [
        call
        for step in steps
        if step.step_details.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "file_search"
    ]
    assert searches, steps
    (message,) = beta.threads.messages.list(thread.id, run_id=run.id).data
    for part in message.content:
        no_tags(part.text.value)  # type: ignore[union-attr]
