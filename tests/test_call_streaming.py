"""Tool calls stream as the model writes them, call by call, as the SDK's handlers expect.

The SDK's ``AssistantEventHandler`` follows one call at a time by ``index``:
``on_tool_call_created`` for a new index, then ``on_tool_call_delta``. The code
must reach ``on_tool_call_delta`` piece by piece as it is generated, and each
call's outputs must arrive before the next call starts, also with two calls in
one step. Streams carry only the fields a delta sets, never ``null``. A call cut
off by ``max_completion_tokens`` is still shown (a cancelled step), never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai.lib.streaming import AssistantEventHandler

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.service import Runtime

from .fakes import ScriptedEngine, code_call
from .http_harness import HttpClient
from .test_code_interpreter import FIBONACCI


class Calls(AssistantEventHandler):
    """Records what the SDK's handler tells an app about tool calls, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, int | None, str]] = []
        self.inputs: dict[str, str] = {}
        self.logs: dict[str, list[str]] = {}
        self.done: list[Any] = []

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.log.append(("created", None, tool_call.id))
        self.inputs[tool_call.id] = ""
        self.logs[tool_call.id] = []

    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        code = delta.code_interpreter
        if code is not None and code.input:
            self.log.append(("input", delta.index, snapshot.id))
            self.inputs[snapshot.id] += code.input
        for output in (code.outputs or []) if code is not None else []:
            self.log.append(("output", delta.index, snapshot.id))
            self.logs[snapshot.id].append(output.logs)

    def on_tool_call_done(self, tool_call: Any) -> None:
        self.done.append(tool_call)


@pytest.fixture(params=["python", "http"])
def scripted(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Any, ScriptedEngine]]:
    engine = ScriptedEngine(chunk=4)
    settings = Settings.from_env(data_dir=tmp_path / "data")
    if request.param == "python":
        with Client(settings=settings, engine_factory=lambda path: engine) as client:
            yield client, engine
        return
    http = HttpClient(Runtime(settings, engine_factory=lambda path: engine))
    try:
        yield http, engine
    finally:
        http.close()


def test_two_code_calls_stream_one_after_the_other(scripted: tuple[Any, ScriptedEngine]) -> None:
    client, engine = scripted
    engine.script([code_call("x = 6 * 7\nprint(x)", "print(x + 1)"), "It is 42."])
    assistant = client.beta.assistants.create(model="default", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
    handler = Calls()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    first, second = (call.id for call in handler.done[:2])
    assert handler.inputs == {first: "x = 6 * 7\nprint(x)", second: "print(x + 1)"}
    assert handler.logs == {first: ["42\n"], second: ["43\n"]}
    kinds = [(kind, call) for kind, _, call in handler.log]
    # created, its input piece by piece, its output; only then the next call.
    assert kinds[0] == ("created", first)
    boundary = kinds.index(("created", second))
    assert {k for k, c in kinds[:boundary]} == {"created", "input", "output"}
    assert all(c == first for _, c in kinds[:boundary])
    assert kinds[boundary - 1] == ("output", first)
    assert sum(1 for k, c in kinds if k == "input" and c == first) > 3  # as it was written
    assert all(c == second for _, c in kinds[boundary:])
    assert kinds[-1] == ("output", second)
    step = client.beta.threads.runs.steps.list(
        thread_id=thread.id, run_id=stream.current_run.id, order="asc"
    ).data[0]
    assert [c.code_interpreter.input for c in step.step_details.tool_calls] == [
        "x = 6 * 7\nprint(x)",
        "print(x + 1)",
    ]


def test_the_real_models_code_arrives_as_it_is_written(client: Any) -> None:
    assistant = client.beta.assistants.create(
        model="default",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        temperature=0,
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": FIBONACCI}])
    handler = Calls()
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "code_interpreter"},
        event_handler=handler,
    ) as stream:
        stream.until_done()
    call = handler.done[0]
    pieces = [entry for entry in handler.log if entry[0] == "input"]
    assert len(pieces) > 5
    assert handler.inputs[call.id] == call.code_interpreter.input
    assert handler.logs[call.id] == [
        o.logs for o in call.code_interpreter.outputs if o.type == "logs"
    ]


def test_stream_deltas_carry_no_nulls(tmp_path: Path) -> None:
    engine = ScriptedEngine(chunk=3)
    engine.script([code_call("print(1)", "print(2)"), "Done."])
    http = HttpClient(
        Runtime(Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: engine)
    )
    try:
        assistant = http.sdk.beta.assistants.create(
            model="default", tools=[{"type": "code_interpreter"}]
        )
        thread = http.sdk.beta.threads.create(messages=[{"role": "user", "content": "go"}])
        body = {"assistant_id": assistant.id, "stream": True}
        with httpx2.stream(
            "POST", f"{http.server.base_url}/threads/{thread.id}/runs", json=body, timeout=120
        ) as response:
            frames = [line[6:] for line in response.iter_lines() if line.startswith("data: {")]
        events = [json.loads(frame) for frame in frames]
        deltas = [e for e in events if e["object"].endswith(".delta")]
        assert len(deltas) > 10

        def nulls(value: Any) -> int:
            if value is None:
                return 1
            if isinstance(value, dict):
                return sum(nulls(v) for v in value.values())
            if isinstance(value, list):
                return sum(nulls(v) for v in value)
            return 0

        assert sum(nulls(delta) for delta in deltas) == 0
        ids = [
            c.get("id")
            for d in deltas
            if d["object"] == "thread.run.step.delta"
            for c in d["delta"]["step_details"]["tool_calls"]
        ]
        assert len([i for i in ids if i]) == 2  # each call's id once, in its first delta
    finally:
        http.close()


def test_a_call_cut_off_by_the_token_budget_is_shown(client: Any) -> None:
    assistant = client.beta.assistants.create(
        model="default", tools=[{"type": "code_interpreter"}], temperature=0
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": FIBONACCI}])
    seen: list[str] = []

    class Events(AssistantEventHandler):
        def on_event(self, event: Any) -> None:
            seen.append(event.event)

    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "code_interpreter"},
        max_completion_tokens=20,
        event_handler=Events(),
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage.completion_tokens == 20
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert [s.status for s in steps] == ["cancelled"]
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "code_interpreter" and call.code_interpreter.outputs == []
    assert steps[0].usage.completion_tokens == 20
    assert "thread.run.step.created" in seen and "thread.run.step.cancelled" in seen
    assert seen.index("thread.run.step.delta") < seen.index("thread.run.step.cancelled")
