"""The Responses and Conversations APIs through both faces (Python API, official client over HTTP).

Real model (temperature 0, short answers), real DuckDB, real index and kernel
where a tool needs them. A response runs on the Assistants executor, so the
same conversation answers as a chat completion does; chains and conversations
carry their history; function calls round-trip through ``function_call_output``;
file_search citations point at true places; streams follow the API's order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from offline_assistants.config import Settings
from offline_assistants.errors import ConflictError, InvalidRequestError, NotFoundError
from offline_assistants.service import Runtime

from .conftest import ENDLESS, EQUATION, MATH_TUTOR
from .documents import PDF
from .http_harness import HttpClient
from .tools_fixtures import GET_WEATHER

WEATHER = {"type": "function", **GET_WEATHER}
SHORT = {"temperature": 0, "max_output_tokens": 24}


def test_text_and_a_chain_of_responses(client: Any) -> None:
    first = client.responses.create(
        model="default", instructions=MATH_TUTOR, input=EQUATION, **SHORT
    )
    assert first.object == "response" and first.id.startswith("resp_")
    assert first.status in ("completed", "incomplete")
    [message] = first.output
    assert message.type == "message" and message.role == "assistant"
    assert first.output_text and first.output_text == message.content[0].text
    assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    assert client.responses.retrieve(first.id).output_text == first.output_text

    # The same conversation as a chat completion: the same engine, prompt and answer.
    chat = client.chat.completions.create(
        model="default",
        messages=[{"role": "system", "content": MATH_TUTOR}, {"role": "user", "content": EQUATION}],
        temperature=0,
        max_tokens=24,
    )
    assert chat.choices[0].message.content == first.output_text
    assert chat.usage.prompt_tokens == first.usage.input_tokens

    second = client.responses.create(
        model="default", input="Now check it.", previous_response_id=first.id, **SHORT
    )
    assert second.previous_response_id == first.id
    assert second.output_text
    # The earlier question and answer are in its prompt.
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    [item] = client.responses.input_items.list(second.id).data
    assert item.type == "message" and item.content[0].text == "Now check it."


def test_two_answers_from_one_response_do_not_see_each_other(client: Any) -> None:
    """Branching: the second answer to the same previous response starts from the same
    history (a copy), not after the first answer."""
    root = client.responses.create(model="default", input="Pick a number.", **SHORT)
    left = client.responses.create(
        model="default", input="Double it.", previous_response_id=root.id, **SHORT
    )
    right = client.responses.create(
        model="default", input="Double it.", previous_response_id=root.id, **SHORT
    )
    assert left.usage.input_tokens == right.usage.input_tokens
    assert left.output_text == right.output_text  # same history, same question
    after_left = client.responses.create(
        model="default", input="Double it.", previous_response_id=left.id, **SHORT
    )
    assert after_left.usage.input_tokens > right.usage.input_tokens
    assert client.responses.retrieve(root.id).output_text == root.output_text


def test_a_function_call_round_trip(client: Any) -> None:
    asked = client.responses.create(
        model="default",
        input="What is the weather like in Paris today?",
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
    )
    assert asked.status == "completed"
    [call] = asked.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    jsonschema.validate(json.loads(call.arguments), GET_WEATHER["parameters"])

    with pytest.raises(InvalidRequestError) as missing:
        client.responses.create(
            model="default", input="And tomorrow?", previous_response_id=asked.id, **SHORT
        )
    assert call.call_id in missing.value.message

    answered = client.responses.create(
        model="default",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "22 C, sunny"}],
        tools=[WEATHER],
        **SHORT,
    )
    assert answered.output[0].type == "message" and answered.output_text
    [given] = client.responses.input_items.list(answered.id).data
    assert given.type == "function_call_output" and given.output == "22 C, sunny"
    assert client.responses.retrieve(asked.id).output[0].call_id == call.call_id


def test_a_replayed_history_without_stored_state(client: Any) -> None:
    """What agent frameworks send: the whole history, calls and outputs included."""
    history = [
        {"role": "user", "content": "What is the weather like in Oslo?"},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Oslo"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "It is 3 C and snowing."},
    ]
    answer = client.responses.create(
        model="default", input=history, tools=[WEATHER], store=False, **SHORT
    )
    assert answer.output[0].type == "message" and answer.output_text
    with pytest.raises(NotFoundError):
        client.responses.retrieve(answer.id)  # store=False keeps nothing
    with pytest.raises(InvalidRequestError) as loose:
        client.responses.create(
            model="default",
            input=[{"type": "function_call_output", "call_id": "call_9", "output": "x"}],
            **SHORT,
        )
    assert "call_9" in loose.value.message


def test_a_conversation_keeps_its_items(client: Any) -> None:
    conversation = client.conversations.create(
        items=[{"role": "user", "content": "My name is Ada."}], metadata={"topic": "names"}
    )
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "names"}
    first = client.responses.create(
        model="default", conversation=conversation.id, input="Hello!", **SHORT
    )
    assert first.conversation.id == conversation.id
    client.responses.create(
        model="default", conversation=conversation.id, input="What is my name?", **SHORT
    )
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [(i.type, i.role) for i in items] == [
        ("message", "user"),
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[2].content[0].text == first.output_text
    # A conversation is a thread too: the Assistants API reads the same messages.
    thread_messages = client.beta.threads.messages.list(conversation.id, order="asc").data
    assert [m.id for m in thread_messages] == [i.id for i in items]

    added = client.conversations.items.create(
        conversation.id, items=[{"role": "user", "content": "One more thing."}]
    )
    assert added.data[0].content[0].text == "One more thing."
    found = client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    assert found.id == added.data[0].id
    client.conversations.items.delete(added.data[0].id, conversation_id=conversation.id)
    assert len(client.conversations.items.list(conversation.id).data) == 5
    renamed = client.conversations.update(conversation.id, metadata={"topic": "greetings"})
    assert renamed.metadata == {"topic": "greetings"}
    assert client.conversations.delete(conversation.id).deleted
    with pytest.raises(NotFoundError):
        client.conversations.retrieve(conversation.id)


def test_streamed_events_in_the_api_order(client: Any) -> None:
    events = list(
        client.responses.create(model="default", input="Count from 1 to 10.", stream=True, **SHORT)
    )
    kinds = [event.type for event in events]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 3
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[4 : 4 + len(deltas)] == ["response.output_text.delta"] * len(deltas)
    assert kinds[4 + len(deltas) :] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete"
        if events[-1].response.status == "incomplete"
        else "response.completed",
    ]
    text = "".join(d.delta for d in deltas)
    assert events[-4].text == text
    final = events[-1].response
    assert final.output_text == text
    assert client.responses.retrieve(final.id).output_text == text
    # The stream helper (the SDK's over HTTP, ours in process) gives the final response (the
    # SDK's wants it completed, not cut short by max_output_tokens).
    with client.responses.stream(
        model="default", input="Say hello.", temperature=0, max_output_tokens=200
    ) as helper:
        final = helper.get_final_response()
    assert final.status == "completed" and final.output_text


def test_json_schema_text_format_is_enforced(client: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model="default",
        input="Describe a person.",
        text={
            "format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}
        },
        temperature=0,
    )
    jsonschema.validate(json.loads(response.output_text), schema)
    assert response.text.format.type == "json_schema"


def test_background_responses_can_be_cancelled(client: Any) -> None:
    started = client.responses.create(
        model="default", input=ENDLESS, background=True, temperature=0, max_output_tokens=2000
    )
    assert started.background and started.status in ("queued", "in_progress")
    with pytest.raises(ConflictError):
        client.responses.delete(started.id)
    cancelled = client.responses.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(started.id).status == "cancelled"
    client.responses.delete(started.id)
    with pytest.raises(NotFoundError):
        client.responses.retrieve(started.id)
    done = client.responses.create(model="default", input="Hi", **SHORT)
    with pytest.raises(InvalidRequestError) as info:
        client.responses.cancel(done.id)
    assert "background" in info.value.message


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"previous_response_id": "resp_missing"}, "previous_response_id"),
        ({"previous_response_id": "resp_x", "conversation": "conv_x"}, "previous_response_id"),
        ({"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "x"}}]}, "input[0].type"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x", "detail": "auto"}]}]}, "input[0].content[0].type"),
        ({"tools": [{"type": "mcp", "server_label": "x", "server_url": "https://mcp.example.com/mcp"}]}, "tools[0].server_url"),
        ({"tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}, "tool_choice"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"input": None}, "input"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"background": True, "store": False}, "store"),
        ({"max_output_tokens": 4}, "max_output_tokens"),
        ({"include": ["message.output_text.logprobs"]}, "include[0]"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_parameter(client: Any, change: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.responses.create(**{"model": "default", "input": "Hi", **change})
    assert info.value.param == param, info.value.message


def test_missing_conversation_is_a_404(client: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        client.responses.create(model="default", input="Hi", conversation="conv_missing")
    assert info.value.param == "conversation"


def test_file_search_citations_point_at_their_sentences(client: Any) -> None:
    paper = client.files.create(file=open(PDF, "rb"), purpose="assistants")  # noqa: SIM115
    store = client.vector_stores.create(name="papers")
    client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=paper.id)
    conversation = client.conversations.create()
    response = client.responses.create(
        model="default",
        conversation=conversation.id,
        input="What BLEU score did the big Transformer get on English-to-German translation?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        include=["file_search_call.results"],
        temperature=0,
        max_output_tokens=60,
    )
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries and search.results and search.results[0].filename.endswith(".pdf")
    assert all(result.file_id == paper.id for result in search.results)
    part = message.content[0]
    citations = [a for a in part.annotations if a.type == "file_citation"]
    assert citations and all(a.file_id == paper.id for a in citations)
    # The thread holds the same answer with the Assistants-style markers: take them out
    # and each marker's place is its citation's index.
    [thread_answer] = client.beta.threads.messages.list(conversation.id, order="desc").data[:1]
    text = thread_answer.content[-1].text
    removed = 0
    expected = []
    for mark in sorted(text.annotations, key=lambda a: a.start_index):
        expected.append(mark.start_index - removed)
        removed += mark.end_index - mark.start_index
    assert [a.index for a in citations] == expected
    clean = text.value
    for mark in sorted(text.annotations, key=lambda a: a.start_index, reverse=True):
        clean = clean[: mark.start_index] + clean[mark.end_index :]
    assert part.text == clean


def test_sdk_helpers_stream_and_parse(tmp_path: Path, real_engine: Any) -> None:
    """The SDK's own helpers over HTTP: ``responses.stream`` to ``get_final_response``
    with a function call, and ``responses.parse`` into a pydantic model."""
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    runtime = Runtime(
        Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: real_engine
    )
    http = HttpClient(runtime)
    try:
        with http.sdk.responses.stream(
            model="default",
            input="What is the weather in Rome?",
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "get_weather"},
            temperature=0,
        ) as stream:
            seen = [event.type for event in stream]
            final = stream.get_final_response()
        assert "response.function_call_arguments.delta" in seen
        [call] = final.output
        assert call.parsed_arguments == json.loads(call.arguments)
        jsonschema.validate(call.parsed_arguments, GET_WEATHER["parameters"])
        parsed = http.sdk.responses.parse(
            model="default", input="Describe a person.", text_format=Person, temperature=0
        )
        assert isinstance(parsed.output_parsed, Person)
    finally:
        http.close()


def test_an_input_item_missing_a_field_is_named_never_a_server_error() -> None:
    """Found by the fuzzer: an input item the request check let through without ``role``
    was a 500 (KeyError in parse_input); now a 400 naming the field."""
    from offline_assistants.service.responses.input_items import parse_input

    for item, param in [
        ({"type": "message", "content": "hi"}, "input[0].role"),
        ({"type": "function_call_output", "output": "4"}, "input[0].call_id"),
    ]:
        with pytest.raises(InvalidRequestError) as info:
            parse_input([item])
        assert info.value.param == param and "Missing required parameter" in info.value.message


def test_a_responses_run_is_no_assistants(tmp_path: Path, real_engine: Any) -> None:
    """A response runs as a run of its own kind: no assistant id made up for it (the
    response it answers is kept beside the run), and the answer on the conversation's
    thread names no assistant."""
    runtime = Runtime(
        Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: real_engine
    )
    http = HttpClient(runtime)
    try:
        conversation = http.sdk.conversations.create()
        response = http.sdk.responses.create(
            model="default", input=EQUATION, conversation=conversation.id, **SHORT
        )
        record = runtime.store.responses.get(response.id)
        assert record is not None
        run = runtime.store.runs.get(record.run_id, record.thread_id)
        assert run is not None and run.assistant_id == ""
        assert runtime.store.runs.options(run.id).response_id == response.id
        answer = runtime.messages.list(record.thread_id, order="desc").data[0]
        assert answer.role == "assistant" and answer.assistant_id is None
        assert answer.run_id == run.id
    finally:
        http.close()
