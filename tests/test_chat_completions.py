"""Chat Completions and Models through both faces (Python API, official client over HTTP).

Real model, temperature 0. A completion shares the engine with runs, so the
same conversation gives the same text and token counts as an Assistants run;
streaming gives the same text as a whole completion; tool calls validate
against their schemas and a tool result round-trips; bad requests are 400s
naming the parameter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.errors import InvalidRequestError, NotFoundError

from .conftest import EQUATION, MATH_TUTOR
from .http_harness import HttpClient
from .tools_fixtures import GET_WEATHER

WEATHER = {"type": "function", "function": GET_WEATHER}
TUTOR_MESSAGES = [
    {"role": "system", "content": MATH_TUTOR},
    {"role": "user", "content": EQUATION},
]
COUNT = [{"role": "user", "content": "Count from 1 to 10, one number per line."}]


def test_models_lists_the_names_runs_accept(client: Any) -> None:
    models = client.models.list()
    ids = [model.id for model in models.data]
    default_file = Settings.from_env().default_model
    assert ids[0] == "default"
    assert default_file.stem in ids
    assert all(model.object == "model" and model.created > 0 for model in models.data)
    found = client.models.retrieve(default_file.stem)
    assert found.id == default_file.stem
    with pytest.raises(NotFoundError) as info:
        client.models.retrieve("gpt-4o")
    assert info.value.param == "model"
    # A listed name serves a completion, and is echoed back.
    answer = client.chat.completions.create(
        model=default_file.stem, messages=COUNT, temperature=0, max_tokens=4
    )
    assert answer.model == default_file.stem


def test_completion_matches_a_run_on_the_same_conversation(client: Any, tutor: Any) -> None:
    completion = client.chat.completions.create(
        model="default", messages=TUTOR_MESSAGES, temperature=0
    )
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content and choice.message.tool_calls is None

    thread = client.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id)
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    assert choice.message.content == reply.content[0].text.value
    assert completion.usage.prompt_tokens == run.usage.prompt_tokens
    assert completion.usage.completion_tokens == run.usage.completion_tokens


def test_stream_gives_the_whole_completion_piece_by_piece(client: Any) -> None:
    whole = client.chat.completions.create(model="default", messages=COUNT, temperature=0)
    chunks = list(
        client.chat.completions.create(
            model="default",
            messages=COUNT,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(
        chunk.id == chunks[0].id and chunk.object == "chat.completion.chunk" for chunk in chunks
    )
    pieces = [c.choices[0].delta.content for c in chunks[1:] if c.choices]
    assert len([p for p in pieces if p]) > 5  # token by token, not in one piece
    assert "".join(p for p in pieces if p) == whole.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens


def test_stop_strings_and_token_budget_end_the_answer(client: Any) -> None:
    whole = client.chat.completions.create(model="default", messages=COUNT, temperature=0)
    text = whole.choices[0].message.content
    assert "4" in text
    stopped = client.chat.completions.create(
        model="default", messages=COUNT, temperature=0, stop=["4", "never"]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == text[: text.index("4")]
    streamed = client.chat.completions.create(
        model="default", messages=COUNT, temperature=0, stop="4", stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == text[: text.index("4")]
    short = client.chat.completions.create(
        model="default", messages=COUNT, temperature=0, max_completion_tokens=5
    )
    assert short.choices[0].finish_reason == "length"
    assert short.usage.completion_tokens == 5


def test_tool_call_validates_and_its_result_goes_back(client: Any) -> None:
    question = [{"role": "user", "content": "What is the weather like in Paris today?"}]
    first = client.chat.completions.create(
        model="default", messages=question, tools=[WEATHER], tool_choice="required", temperature=0
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])

    history = [
        *question,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 degrees and sunny"},
    ]
    second = client.chat.completions.create(
        model="default", messages=history, tools=[WEATHER], temperature=0, max_tokens=60
    )
    assert second.choices[0].finish_reason in ("stop", "length")
    assert second.choices[0].message.content
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_json_schema_response_format_is_enforced(client: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Describe a person."}],
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema, "strict": True},
        },
    )
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"messages": []}, "messages"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"temperature": 3}, "temperature"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [{"type": "code_interpreter"}]}, "tools[0].type"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                    }
                ]
            },
            "messages[0].content[0].type",
        ),
        (
            {"messages": [*COUNT, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
            "messages[1].tool_call_id",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "nope"}},
                }
            },
            "response_format.json_schema.schema",
        ),
        ({"service_tier": "flex"}, "service_tier"),  # was accepted and ignored
    ],
)
def test_bad_requests_name_the_parameter(client: Any, change: dict[str, Any], param: str) -> None:
    body = {"model": "default", "messages": COUNT, **change}
    with pytest.raises(InvalidRequestError) as info:
        client.chat.completions.create(**body)
    assert info.value.param == param, info.value.message


class Person(BaseModel):
    name: str
    age: int


def test_sdk_helpers_parse_and_stream(tmp_path: Path, real_engine: Any) -> None:
    """The SDK's own helpers over HTTP: ``parse`` with a pydantic model, and
    ``stream(...)`` whose final completion carries the tool call."""
    from offline_assistants.service import Runtime

    runtime = Runtime(
        Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: real_engine
    )
    http = HttpClient(runtime)
    try:
        parsed = http.sdk.chat.completions.parse(
            model="default",
            messages=[{"role": "user", "content": "Describe a person."}],
            response_format=Person,
            temperature=0,
        )
        assert isinstance(parsed.choices[0].message.parsed, Person)
        with http.sdk.chat.completions.stream(
            model="default",
            messages=[{"role": "user", "content": "Weather in Oslo?"}],
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            temperature=0,
        ) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
        [call] = final.choices[0].message.tool_calls
        jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])
    finally:
        http.close()


def test_a_conversation_reuses_its_prefix(tmp_path: Path) -> None:
    """On a runtime with its own engine (and prefix cache), the next turn of a conversation
    reports the prompt tokens it did not evaluate again as ``cached_tokens``."""
    instructions = MATH_TUTOR + " Check each step, use plain words, and keep numbers exact." * 12
    history: list[dict[str, Any]] = [{"role": "system", "content": instructions}]
    cached = []
    with Client(data_dir=tmp_path / "data") as client:
        for question in ("What is 12 times 12?", "And half of that?"):
            history.append({"role": "user", "content": question})
            answer = client.chat.completions.create(
                model="default", messages=history, temperature=0, max_tokens=24
            )
            history.append({"role": "assistant", "content": answer.choices[0].message.content})
            cached.append(answer.usage.prompt_tokens_details.cached_tokens)
    assert cached[0] == 0
    assert cached[1] > 128  # the instructions whole (a prompt is cut where its messages end)


def test_one_size_rule_for_message_text_on_every_api(client: Any) -> None:
    """A message's text past 256,000 characters is refused before any tokenizing, naming
    it, on Chat Completions as on Responses, input_tokens and Assistants messages."""
    big = "word " * 60_000  # 300,000 characters
    with pytest.raises(InvalidRequestError) as info:
        client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": [{"type": "text", "text": big}]}]
        )
    assert info.value.param == "messages[0].content"
    with pytest.raises(InvalidRequestError) as info:
        client.responses.input_tokens.count(model="default", input=big)
    assert info.value.param == "input"
    with pytest.raises(InvalidRequestError) as info:
        client.responses.create(model="default", input=[{"role": "user", "content": big}])
    assert info.value.param == "input[0].content"
    thread = client.beta.threads.create()
    with pytest.raises(InvalidRequestError) as info:
        client.beta.threads.messages.create(thread.id, role="user", content=big)
    assert info.value.param == "content"
