"""Run parameters with the real model: overrides, token limits, truncation, response formats."""

from __future__ import annotations

import json

import jsonschema
import pytest
from openai.types.beta.assistant import Assistant

from offline_assistants import Client, ConflictError, InvalidRequestError, NotFoundError

from .conftest import ENDLESS, EQUATION, JSON_QUESTION


def ask(client: Client, content: str = EQUATION) -> str:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": content}])
    return thread.id


def reply_text(client: Client, thread_id: str) -> str:
    message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
    assert message.role == "assistant"
    return message.content[0].text.value if message.content else ""  # type: ignore[union-attr]


def test_instructions_override_and_additional(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client)
    base = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, max_completion_tokens=5
    )
    thread_id = ask(client)
    override = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=tutor.id,
        instructions="Reply in French.",
        max_completion_tokens=5,
    )
    assert override.instructions == "Reply in French."
    thread_id = ask(client)
    extra = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=tutor.id,
        additional_instructions="Always end with a smiley face emoji.",
        max_completion_tokens=5,
    )
    assert extra.instructions == tutor.instructions
    assert base.usage and override.usage and extra.usage
    # Both change what the model was shown, measured by its own tokenizer.
    assert override.usage.prompt_tokens < base.usage.prompt_tokens < extra.usage.prompt_tokens


def test_additional_messages_are_added_to_the_thread(client: Client, tutor: Assistant) -> None:
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor.id,
        additional_messages=[{"role": "user", "content": "What is 5 times 3?"}],
        max_completion_tokens=10,
    )
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert messages[0].content[0].text.value == "What is 5 times 3?"  # type: ignore[union-attr]
    assert messages[1].run_id == run.id and len(messages) == 2


def test_max_completion_tokens_makes_the_run_incomplete(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client, ENDLESS)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, max_completion_tokens=7
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage is not None and run.usage.completion_tokens == 7
    message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
    assert message.status == "incomplete" and message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"
    assert message.content[0].text.value  # type: ignore[union-attr]


def test_max_prompt_tokens_too_small(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, max_prompt_tokens=10
    )
    assert run.status == "incomplete"
    assert (
        run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    )
    # No reply was written.
    assert [m.role for m in client.beta.threads.messages.list(thread_id=thread_id).data] == ["user"]


def test_truncation_strategies(client: Client, tutor: Assistant) -> None:
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"Message number {i} " * 20}
        for i in range(8)
    ]
    history.append({"role": "user", "content": "What is 1 + 1?"})
    thread = client.beta.threads.create(messages=history)
    full = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=3
    )
    last = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor.id,
        max_completion_tokens=3,
        truncation_strategy={"type": "last_messages", "last_messages": 1},
    )
    assert full.usage and last.usage
    assert last.truncation_strategy is not None and last.truncation_strategy.last_messages == 1
    assert last.usage.prompt_tokens < full.usage.prompt_tokens / 5
    # auto drops the oldest messages to fit max_prompt_tokens instead of failing.
    budget = full.usage.prompt_tokens // 2
    auto = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor.id,
        max_completion_tokens=3,
        max_prompt_tokens=budget,
    )
    assert auto.status in ("completed", "incomplete") and auto.usage
    assert auto.incomplete_details is None or auto.incomplete_details.reason != "max_prompt_tokens"
    assert auto.usage.prompt_tokens <= budget


def test_response_format_json_object(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client, JSON_QUESTION)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=tutor.id,
        response_format={"type": "json_object"},
        max_completion_tokens=200,
    )
    assert run.status == "completed", run.incomplete_details
    assert isinstance(json.loads(reply_text(client, thread_id)), dict)


def test_response_format_json_schema(client: Client, tutor: Assistant) -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "integer"},
            "steps": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "confidence": {"type": "string", "enum": ["low", "high"]},
        },
        "required": ["answer", "steps", "confidence"],
        "additionalProperties": False,
    }
    thread_id = ask(client, JSON_QUESTION)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=tutor.id,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "solution", "schema": schema},
        },
        max_completion_tokens=300,
    )
    assert run.status == "completed", run.incomplete_details
    jsonschema.validate(json.loads(reply_text(client, thread_id)), schema)


def test_metadata_update_and_list(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, metadata={"user": "42"}, max_completion_tokens=3
    )
    assert run.metadata == {"user": "42"}
    changed = client.beta.threads.runs.update(run.id, thread_id=thread_id, metadata={"user": "43"})
    assert changed.metadata == {"user": "43"} and changed.status == run.status
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, max_completion_tokens=3
    )
    listed = client.beta.threads.runs.list(thread_id=thread_id)
    assert [r.id for r in listed.data] == [second.id, run.id]
    assert [
        r.id for r in client.beta.threads.runs.list(thread_id=thread_id, order="asc", limit=1).data
    ] == [run.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"temperature": 3}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
        ({"max_prompt_tokens": -5}, "max_prompt_tokens"),
        ({"truncation_strategy": {"type": "middle_out"}}, "truncation_strategy.type"),
        ({"truncation_strategy": {"type": "last_messages"}}, "truncation_strategy"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"additional_messages": [{"role": "system", "content": "x"}]},
            "additional_messages[0].role",
        ),
        ({"model": "/nonexistent/model.gguf"}, "model"),
        ({"include": ["everything"]}, "include[0]"),
    ],
)
def test_bad_run_parameters_store_nothing(
    client: Client, tutor: Assistant, params: dict[str, object], param: str
) -> None:
    thread_id = ask(client)
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.runs.create(thread_id=thread_id, assistant_id=tutor.id, **params)  # type: ignore[arg-type]
    assert caught.value.param == param and caught.value.status_code == 400
    assert client.beta.threads.runs.list(thread_id=thread_id).data == []
    assert len(client.beta.threads.messages.list(thread_id=thread_id).data) == 1


def test_unknown_ids(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client)
    with pytest.raises(NotFoundError) as caught:
        client.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_missing")
    assert caught.value.param == "assistant_id"
    with pytest.raises(NotFoundError):
        client.beta.threads.runs.create(thread_id="thread_missing", assistant_id=tutor.id)
    with pytest.raises(NotFoundError):
        client.beta.threads.runs.retrieve("run_missing", thread_id=thread_id)
    with pytest.raises(NotFoundError):
        client.beta.threads.runs.cancel("run_missing", thread_id=thread_id)
    with pytest.raises(NotFoundError):
        client.beta.threads.runs.steps.list(thread_id=thread_id, run_id="run_missing")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=tutor.id, max_completion_tokens=2
    )
    with pytest.raises(NotFoundError):
        client.beta.threads.runs.steps.retrieve("step_missing", thread_id=thread_id, run_id=run.id)
    with pytest.raises(InvalidRequestError) as caught:  # a finished run cannot be cancelled
        client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert "status" in caught.value.message


def test_deleting_a_thread_with_an_active_run_is_refused(client: Client, tutor: Assistant) -> None:
    thread_id = ask(client, ENDLESS)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=tutor.id)
    with pytest.raises(ConflictError):
        client.beta.threads.delete(thread_id)
    client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert client.beta.threads.runs.poll(run.id, thread_id=thread_id).status == "cancelled"
    assert client.beta.threads.delete(thread_id).deleted
