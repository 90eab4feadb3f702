"""submit_tool_outputs and tool definitions: every bad input is a clear error that changes nothing."""

from __future__ import annotations

import pytest
from openai.types.beta.threads.run import Run

from offline_assistants import Client, InvalidRequestError, NotFoundError
from offline_assistants.service.checks.tool_outputs import MAX_OUTPUT_BYTES

from .tools_fixtures import DISPLAY_QUIZ, GET_WEATHER, QUIZ_REQUEST


@pytest.fixture
def waiting(client: Client) -> Run:
    assistant = client.beta.assistants.create(
        model="default", temperature=0, tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Oslo?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice="required",
        parallel_tool_calls=False,
    )
    assert run.status == "requires_action"
    return run


def call_id(run: Run) -> str:
    assert run.required_action is not None
    return run.required_action.submit_tool_outputs.tool_calls[0].id


@pytest.mark.parametrize(
    ("outputs", "fragment"),
    [
        (lambda cid: [{"tool_call_id": "call_unknown", "output": "1"}], "no pending tool call"),
        (lambda cid: [], "non-empty list"),
        (lambda cid: "not a list", "expected an array"),
        (lambda cid: [{"tool_call_id": cid, "output": {"temp": 3}}], "expected a string"),
        (lambda cid: [{"tool_call_id": cid, "output": None}], "expected a string"),
        (
            lambda cid: [
                {"tool_call_id": cid, "output": "x"},
                {"tool_call_id": cid, "output": "y"},
            ],
            "more than once",
        ),
        (
            lambda cid: [{"tool_call_id": cid, "output": "é" * (MAX_OUTPUT_BYTES // 2 + 1)}],
            "bytes is more than",
        ),
    ],
)
def test_bad_tool_outputs_change_nothing(
    client: Client, waiting: Run, outputs: object, fragment: str
) -> None:
    runs = client.beta.threads.runs
    before_steps = client.beta.threads.runs.steps.list(
        thread_id=waiting.thread_id, run_id=waiting.id
    )
    with pytest.raises(InvalidRequestError) as caught:
        runs.submit_tool_outputs(
            waiting.id,
            thread_id=waiting.thread_id,
            tool_outputs=outputs(call_id(waiting)),  # type: ignore[operator]
        )
    assert fragment in caught.value.message
    assert caught.value.param is not None and caught.value.param.startswith("tool_outputs")
    assert runs.retrieve(waiting.id, thread_id=waiting.thread_id) == waiting
    after_steps = client.beta.threads.runs.steps.list(
        thread_id=waiting.thread_id, run_id=waiting.id
    )
    assert after_steps.data == before_steps.data
    # The run still takes the right outputs afterwards.
    done = runs.submit_tool_outputs_and_poll(
        run_id=waiting.id,
        thread_id=waiting.thread_id,
        tool_outputs=[{"tool_call_id": call_id(waiting), "output": '{"temp": 3}'}],
    )
    assert done.status in ("completed", "incomplete", "requires_action")


def test_missing_outputs_for_parallel_calls(client: Client) -> None:
    assistant = client.beta.assistants.create(
        model="default",
        temperature=0,
        tools=[
            {"type": "function", "function": DISPLAY_QUIZ},
            {"type": "function", "function": GET_WEATHER},
        ],
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUIZ_REQUEST}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
    )
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert len(calls) >= 2
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.runs.submit_tool_outputs(
            run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": calls[0].id, "output": "ok"}],
        )
    assert "missing" in caught.value.message and calls[1].id in caught.value.message
    assert (
        client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"
    )


def test_outputs_to_a_run_that_is_not_waiting(client: Client, waiting: Run) -> None:
    runs = client.beta.threads.runs
    outputs = [{"tool_call_id": call_id(waiting), "output": "sunny"}]
    plain = client.beta.assistants.create(model="default", temperature=0)
    finished = client.beta.threads.create_and_run_poll(
        assistant_id=plain.id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        max_completion_tokens=3,
    )
    assert finished.status in ("completed", "incomplete")
    with pytest.raises(InvalidRequestError) as caught:
        runs.submit_tool_outputs(finished.id, thread_id=finished.thread_id, tool_outputs=outputs)
    assert f"Runs in status '{finished.status}' do not accept tool outputs" in caught.value.message
    with pytest.raises(NotFoundError):
        runs.submit_tool_outputs("run_missing", thread_id=waiting.thread_id, tool_outputs=outputs)
    with pytest.raises(NotFoundError):  # a run is found only in its own thread
        runs.submit_tool_outputs(waiting.id, thread_id=finished.thread_id, tool_outputs=outputs)
    assert runs.retrieve(waiting.id, thread_id=waiting.thread_id).status == "requires_action"


@pytest.mark.parametrize(
    ("tools", "fragment"),
    [
        ([{"type": "function", "function": {"name": "has space"}}], "letters, digits"),
        ([{"type": "function", "function": {"name": "x" * 65}}], "letters, digits"),
        ([{"type": "function"}], "Missing required parameter"),
        ([{"type": "function", "function": GET_WEATHER}] * 2, "duplicate function name"),
        (
            [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {
                            "type": "object",
                            "properties": {"s": {"type": "string", "pattern": "^a+$"}},
                        },
                    },
                }
            ],
            "keyword 'pattern'",
        ),
        (
            [{"type": "function", "function": {"name": "f", "parameters": "object"}}],
            "expected an object",
        ),
        ([{"type": "function", "function": {"name": "f", "strict": "yes"}}], "boolean"),
        ([{"type": "function", "function": {"name": "f", "extra": 1}}], "Unknown parameter"),
        (
            [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "number", "minimum": 0.2, "maximum": 0.7},
                    },
                }
            ],
            "too narrow",
        ),
    ],
)
def test_bad_function_definitions(client: Client, tools: list[object], fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.assistants.create(model="default", tools=tools)
    assert fragment in caught.value.message
    assert caught.value.param is not None and caught.value.param.startswith("tools")
    assert client.beta.assistants.list().data == []


def test_bad_tool_choice(client: Client) -> None:
    plain = client.beta.assistants.create(model="default")
    tooled = client.beta.assistants.create(
        model="default", tools=[{"type": "function", "function": GET_WEATHER}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    for assistant, choice, fragment in [
        (plain, "required", "at least one tool"),
        (tooled, {"type": "code_interpreter"}, "not among the tools"),
        (tooled, {"type": "function", "function": {"name": "nope"}}, "no function named"),
        (tooled, "sometimes", "Supported values are: 'none', 'auto', 'required'"),
    ]:
        with pytest.raises(InvalidRequestError) as caught:
            client.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=assistant.id, tool_choice=choice
            )
        assert fragment in caught.value.message and caught.value.param == "tool_choice"
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []
