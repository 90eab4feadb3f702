"""Function calling with the real model: the quiz flow, tool_choice, parallel calls, expiry, cancel."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from openai.types.beta.assistant import Assistant

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine.llama import LlamaEngine

from .conftest import MATH_TUTOR
from .tools_fixtures import DISPLAY_QUIZ, GET_WEATHER, QUIZ_REQUEST


@pytest.fixture
def quiz_tutor(client: Client) -> Assistant:
    return client.beta.assistants.create(
        name="Math Tutor",
        instructions=MATH_TUTOR,
        model="default",
        temperature=0,
        tools=[{"type": "function", "function": DISPLAY_QUIZ}],
    )


def ask(client: Client, text: str) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": text}]).id


def test_the_overview_quiz_flow(client: Client, quiz_tutor: Assistant) -> None:
    thread_id = ask(client, QUIZ_REQUEST)
    # The 135M default model rarely chooses a tool by itself under "auto"; ask for one.
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=quiz_tutor.id, tool_choice="required"
    )
    assert run.status == "requires_action", run.last_error
    assert run.required_action is not None and run.required_action.type == "submit_tool_outputs"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert calls and all(c.type == "function" for c in calls)
    for call in calls:
        assert call.function.name == "display_quiz" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), DISPLAY_QUIZ["parameters"])
    assert run.expires_at is not None and run.expires_at > time.time()

    responses = ["I don't know.", "a"]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": json.dumps(responses)} for c in calls],
    )
    assert run.status == "completed", run.last_error
    assert run.required_action is None and run.usage is not None
    steps = client.beta.threads.runs.steps.list(
        thread_id=thread_id, run_id=run.id, order="asc"
    ).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert [s.status for s in steps] == ["completed", "completed"]
    recorded = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert [c.id for c in recorded] == [c.id for c in calls]
    assert all(c.function.output == json.dumps(responses) for c in recorded)  # type: ignore[union-attr]
    assert all(
        c.function.arguments == o.function.arguments for c, o in zip(recorded, calls, strict=True)
    )  # type: ignore[union-attr]
    reply = client.beta.threads.messages.list(thread_id=thread_id).data[0]
    assert reply.role == "assistant" and reply.run_id == run.id
    assert reply.content[0].text.value.strip()  # type: ignore[union-attr]
    # Run usage adds up both turns; the second turn's prompt carried the outputs.
    assert steps[0].usage is not None and steps[1].usage is not None
    assert run.usage.total_tokens == steps[0].usage.total_tokens + steps[1].usage.total_tokens
    assert steps[1].usage.prompt_tokens > steps[0].usage.prompt_tokens


def test_tool_choice_none_answers_in_text(client: Client, quiz_tutor: Assistant) -> None:
    thread_id = ask(client, QUIZ_REQUEST)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=quiz_tutor.id,
        tool_choice="none",
        max_completion_tokens=40,
    )
    assert run.status in ("completed", "incomplete")
    steps = client.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run.id).data
    assert [s.type for s in steps] == ["message_creation"]
    # With "none" the tools are not even offered: the prompt is shorter than with "auto".
    auto = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, QUIZ_REQUEST), assistant_id=quiz_tutor.id, max_completion_tokens=1
    )
    assert run.usage is not None and auto.usage is not None
    assert run.usage.prompt_tokens < auto.usage.prompt_tokens


def test_tool_choice_auto_lets_the_model_choose(client: Client) -> None:
    assistant = client.beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    greeting = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, "Hi!"), assistant_id=assistant.id, max_completion_tokens=40
    )
    assert greeting.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=greeting.thread_id).data[0]
    assert reply.content[0].text.value.startswith("Hello")  # type: ignore[union-attr]
    # Instructions and a prompt that prime the calling format make this model choose a call.
    primed = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, "<tool_call>"),
        assistant_id=assistant.id,
        instructions="You are a function-calling assistant. Reply only with <tool_call> blocks.",
        max_completion_tokens=80,
    )
    assert primed.status == "requires_action"
    call = primed.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), GET_WEATHER["parameters"])


def test_named_function_and_parallel_calls(client: Client) -> None:
    assistant = client.beta.assistants.create(
        model="default",
        temperature=0,
        tools=[
            {"type": "function", "function": DISPLAY_QUIZ},
            {"type": "function", "function": GET_WEATHER},
        ],
    )
    named = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, QUIZ_REQUEST),
        assistant_id=assistant.id,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert named.status == "requires_action"
    calls = named.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert {c.function.name for c in calls} == {"get_weather"}

    single = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, QUIZ_REQUEST),
        assistant_id=assistant.id,
        tool_choice="required",
        parallel_tool_calls=False,
    )
    assert single.parallel_tool_calls is False
    assert len(single.required_action.submit_tool_outputs.tool_calls) == 1  # type: ignore[union-attr]

    several = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, QUIZ_REQUEST), assistant_id=assistant.id, tool_choice="required"
    )
    calls = several.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert len(calls) >= 2, "parallel calls allowed: this prompt yields several"
    step = client.beta.threads.runs.steps.list(thread_id=several.thread_id, run_id=several.id).data[
        0
    ]
    assert len(step.step_details.tool_calls) == len(calls)  # type: ignore[union-attr]
    assert len({c.id for c in calls}) == len(calls)


def test_run_level_tools_override_the_assistants(client: Client, quiz_tutor: Assistant) -> None:
    run = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, "What is the weather in Oslo?"),
        assistant_id=quiz_tutor.id,
        tools=[{"type": "function", "function": GET_WEATHER}],
        tool_choice="required",
    )
    assert [t.function.name for t in run.tools] == ["get_weather"]  # type: ignore[union-attr]
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert {c.function.name for c in calls} == {"get_weather"}
    assert [t.function.name for t in client.beta.assistants.retrieve(quiz_tutor.id).tools] == [  # type: ignore[union-attr]
        "display_quiz"
    ]


def test_cancel_while_waiting_for_outputs(client: Client, quiz_tutor: Assistant) -> None:
    run = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, QUIZ_REQUEST), assistant_id=quiz_tutor.id, tool_choice="required"
    )
    assert run.status == "requires_action"
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
    assert cancelled.status == "cancelled" and cancelled.required_action is None
    step = client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at is not None
    with pytest.raises(Exception, match="do not accept tool outputs"):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": "x", "output": "y"}]
        )


@pytest.fixture
def short_expiry_client(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[Client]:
    settings = Settings.from_env(data_dir=tmp_path / "data", run_expiry_seconds=1)
    with Client(settings=settings, engine_factory=lambda path: real_engine) as c:
        yield c


def test_a_run_waiting_too_long_expires(short_expiry_client: Client) -> None:
    client = short_expiry_client
    assistant = client.beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=ask(client, "Weather in Rome?"), assistant_id=assistant.id, tool_choice="required"
    )
    assert run.status == "requires_action"
    deadline = time.monotonic() + 10
    while run.status == "requires_action" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    assert run.status == "expired" and run.required_action is None
    step = client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id).data[0]
    assert step.status == "expired" and step.expired_at is not None
