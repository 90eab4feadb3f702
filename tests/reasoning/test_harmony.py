"""gpt-oss's Harmony format through the real server: channels read apart, calls as tool calls.

On a GGUF copy of the default model with gpt-oss's template and Harmony's special
tokens (tests/model_families.py, served by tests/reasoning/conftest.py's
:func:`harmony` with the reasoning budget of ``helpers.BUDGET``), through the official
client: Chat Completions' ``reasoning_content`` whole and
streamed, a forced call and a JSON schema after the analysis, a run's message and step,
a Responses call, a Code Interpreter run and a file_search run under Harmony, sealed
reasoning sent back into a tool round, parallel calls sent back one by one. The format
itself (splitter, call scanner, template, ``models check``) is ``test_harmony_format.py``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai

from offline_assistants.engine import ChatMessage, ToolCall
from offline_assistants.engine.harmony import HARMONY

from ..conftest import EQUATION
from ..test_model_families import WEATHER
from ..tools_fixtures import GET_WEATHER
from .helpers import (
    BUDGET,
    answered_apart,
    calling_run,
    engine_of,
    no_tags,
    point,
    reasoning_of,
    weather_called,
)


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
    engine = engine_of(reasoning_files["gpt-oss"])
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
    engine = engine_of(reasoning_files["gpt-oss"])
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
