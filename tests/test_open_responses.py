"""The Open Responses acceptance cases, validated against the specification's schemas.

The cases of openresponses.org's compliance suite (basic, streaming, system prompt,
tool calling, tool calling streamed, image input, multi-turn), written here from the
spec and sent as raw JSON over HTTP to the shared contract server. Every response
object, and every event of a stream, must validate against the spec's schemas in
strict mode (``tests/open_responses.py``): every required field present (nullable
ones as null), integers as integers. The spec's tool-calling case leaves the choice to
the model; with the 135M default the request must be accepted and the output valid,
and the forced variant must call. Image input on a text-only model is a clear 400 in
the spec's error shape once the request itself is valid.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from offline_assistants.service import Runtime

from .open_responses import check_event, check_response

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}
        },
        "required": ["location"],
    },
}  # fmt: skip
ASK_WEATHER = [{"type": "message", "role": "user", "content": "What's the weather like in San Francisco?"}]  # fmt: skip
CASES: dict[str, dict[str, Any]] = {
    "basic-response": {"input": [{"type": "message", "role": "user", "content": "Say hello in exactly 3 words."}]},
    "system-prompt": {"input": [
        {"type": "message", "role": "system", "content": "You are a pirate. Always respond in pirate speak."},
        {"type": "message", "role": "user", "content": "Say hello."},
    ]},
    "tool-calling": {"input": ASK_WEATHER, "tools": [WEATHER]},
    "multi-turn": {"input": [
        {"type": "message", "role": "user", "content": "My name is Alice."},
        {"type": "message", "role": "assistant", "content": "Hello Alice! Nice to meet you. How can I help you today?"},
        {"type": "message", "role": "user", "content": "What is my name?"},
    ]},
}  # fmt: skip
LIMITS = {"model": "default", "temperature": 0, "max_output_tokens": 32}


def post(url: str, body: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(f"{url}/responses", json={**LIMITS, **body}, timeout=120)


def stream(url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a streamed response, each checked against the spec as it comes."""
    response = post(url, {**body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            event = json.loads(lines["data"])
            assert lines.get("event") == event["type"]
            check_event(event)
            events.append(event)
    numbers = [e["sequence_number"] for e in events]
    assert numbers == list(range(len(events)))
    return events


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_response_validates_against_the_spec(
    case: str, contract_server: tuple[Runtime, str]
) -> None:
    response = post(contract_server[1], CASES[case])
    assert response.status_code == 200, response.text
    check_response(response.text)
    body = response.json()
    assert body["output"], body
    if case == "tool-calling":  # the model chooses: whatever it chose is a valid item
        assert body["status"] in ("completed", "incomplete")
        assert {item["type"] for item in body["output"]} <= {"message", "function_call"}
    else:
        assert body["status"] in ("completed", "incomplete")
        assert body["output"][0]["type"] == "message"
    # Echoed settings: the request's values, or the documented defaults.
    assert body["temperature"] == 0 and body["max_output_tokens"] == 32
    assert body["presence_penalty"] == 0 and body["frequency_penalty"] == 0
    assert body["store"] is True and body["service_tier"] == "default"
    assert body["reasoning"] == {"effort": None, "summary": None}
    for key in ("max_tool_calls", "safety_identifier", "prompt_cache_key", "user"):
        assert key in body and body[key] is None


def test_forced_tool_call_validates_against_the_spec(contract_server: tuple[Runtime, str]) -> None:
    body = {**CASES["tool-calling"], "tool_choice": "required", "max_output_tokens": 80}
    response = post(contract_server[1], body)
    assert response.status_code == 200, response.text
    check_response(response.text)
    [call] = [item for item in response.json()["output"] if item["type"] == "function_call"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"])["location"]
    # The function tool echoed with every field the spec requires (strict was not sent).
    [tool] = response.json()["tools"]
    assert tool["strict"] is None and tool["parameters"] == WEATHER["parameters"]


def test_streaming_response_events_validate(contract_server: tuple[Runtime, str]) -> None:
    body = {"input": [{"type": "message", "role": "user", "content": "Count from 1 to 5."}]}
    events = stream(contract_server[1], body)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] in ("response.completed", "response.incomplete")
    assert "response.output_text.delta" in kinds
    final = events[-1]["response"]
    check_response(final)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert final["output"][0]["content"][0]["text"] == text


def test_streaming_tool_call_events_validate(contract_server: tuple[Runtime, str]) -> None:
    body = {"input": ASK_WEATHER, "tools": [WEATHER], "tool_choice": "required"}
    body["max_output_tokens"] = 80
    events = stream(contract_server[1], body)
    kinds = [e["type"] for e in events]
    added = [e for e in events if e["type"] == "response.output_item.added"]
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert added[0]["item"]["type"] == "function_call"
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    assert done[-1]["item"]["type"] == "function_call"
    assert kinds[-1] == "response.completed"


def test_streamed_json_schema_format_validates(contract_server: tuple[Runtime, str]) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "place", "schema": schema, "strict": True}
    events = stream(contract_server[1], {"input": "Name a city.", "text": {"format": fmt}})
    assert "error" not in [e["type"] for e in events]
    final = events[-1]["response"]
    assert final["text"]["format"]["schema"] == schema  # by its wire name, not schema_
    assert set(json.loads(final["output"][0]["content"][0]["text"])) == {"city"}


def test_image_input_is_a_clear_400_on_a_text_model(contract_server: tuple[Runtime, str]) -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}  # no detail
    content = [{"type": "input_text", "text": "What do you see?"}, image]
    response = post(contract_server[1], {"input": [{"type": "message", "role": "user", "content": content}]})  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "input[0].content[1].type"
    assert "text only" in error["message"]
