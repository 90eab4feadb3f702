"""Streaming runs, through the Python API and the official client's SSE alike.

The SDK's own AssistantEventHandler consumes the stream in both cases, so its
event names, payloads and order are the API's by construction.
"""

from __future__ import annotations

import json
from typing import Any

from openai.lib.streaming import AssistantEventHandler
from openai.types.beta.assistant import Assistant
from openai.types.beta.assistant_stream_event import AssistantStreamEvent

from .conftest import ENDLESS, EQUATION
from .tools_fixtures import GET_WEATHER

EXPECTED_MESSAGE_RUN = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",  # one or more
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
]


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.tool_calls: list[Any] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.names.append(event.event)

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call)


def collapse(names: list[str]) -> list[str]:
    """Runs of the same event become one, so deltas compare as a single entry."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out


def test_stream_a_run_with_the_sdk_handler(client: Any, tutor: Assistant) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
    seen_while_streaming: list[str] = []

    class Watcher(Recorder):
        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            if not seen_while_streaming:  # at the first piece of text, ask how the run stands
                run_id = self.current_run.id  # type: ignore[union-attr]
                run = client.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
                seen_while_streaming.append(run.status)

    handler = Watcher()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=tutor.id, event_handler=handler, max_completion_tokens=60
    ) as stream:
        stream.until_done()
        final = stream.get_final_messages()
        run = stream.get_final_run()
    assert collapse(handler.names) == [
        *EXPECTED_MESSAGE_RUN[:-3],
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]
    deltas = [name for name in handler.names if name == "thread.message.delta"]
    assert len(deltas) >= 50  # token by token, not one lump
    assert seen_while_streaming == ["in_progress"], "text arrived only when the run was over"
    stored = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert [m.id for m in final] == [stored.id]
    assert final[0].content[0].text.value == stored.content[0].text.value
    assert run.status == "incomplete" and run.id == stored.run_id


def test_streamed_text_equals_the_stored_message(client: Any, tutor: Assistant) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=tutor.id, event_handler=handler
    ) as stream:
        text = "".join(stream.text_deltas)
    assert collapse(handler.names) == EXPECTED_MESSAGE_RUN
    stored = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert text == stored.content[0].text.value and text.strip()


def test_stream_function_calls_and_outputs(client: Any) -> None:
    assistant = client.beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice="required",
        parallel_tool_calls=False,
        event_handler=handler,
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "requires_action"
    assert collapse(handler.names) == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert [c.function.name for c in handler.tool_calls] == ["get_weather"]
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    json.loads(call.function.arguments)

    after = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": '{"temp": -3}'}],
        event_handler=after,
    ) as stream:
        stream.until_done()
    names = collapse(after.names)
    assert names[:2] == ["thread.run.step.completed", "thread.run.in_progress"]
    assert names[-1] in (
        "thread.run.completed",
        "thread.run.requires_action",
        "thread.run.incomplete",
    )


def test_create_and_run_stream(client: Any, tutor: Assistant) -> None:
    handler = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=tutor.id,
        thread={"messages": [{"role": "user", "content": EQUATION}]},
        event_handler=handler,
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert collapse(handler.names) == EXPECTED_MESSAGE_RUN and run.status == "completed"


def test_leaving_a_stream_early_does_not_stop_the_run(client: Any, tutor: Assistant) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=40
    ) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                break  # the caller walks away mid-stream
    run = client.beta.threads.runs.list(thread_id=thread.id).data[0]
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "incomplete" and run.usage.completion_tokens == 40
    stored = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert stored.status == "incomplete" and stored.content[0].text.value
