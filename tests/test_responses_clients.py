"""Responses requests shaped as real clients send them, through both faces.

Each of these was a 400 while requests were checked against the SDK's TypedDicts
as if ``Required`` meant "the API requires it": function tools without ``strict``
or ``parameters`` (LangChain, litellm, instructor), Codex's request (an ``id`` on
every input message, ``client_metadata``, ``include: ["reasoning.encrypted_content"]``,
a ``namespace`` tool, a declared ``web_search`` tool, a description past 1,024
characters), history replayed the way Codex and LangChain replay it (assistant
messages without status or annotations, reasoning items without id), the Open
Responses spec's penalties. ``input_tokens`` counts what a response would be given.
Keys the SDK's ``responses.create`` does not take travel in ``extra_body`` over HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline_assistants.errors import InvalidRequestError

from .http_harness import HttpClient

LONG = "Runs a shell command and returns its output. " * 40  # ~1,800 characters
EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": LONG,
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
AGENTS = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Tools to manage helper agents.",
    "tools": [
        {"type": "function", "name": "close_agent", "description": "Close an agent.", "strict": False,
         "parameters": {"type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}},
        {"type": "function", "name": "list_agents", "description": "List the agents."},
    ],
}  # fmt: skip
SDK_KEYS = set(
    [
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "include",
        "store",
        "stream",
        "temperature",
        "max_output_tokens",
        "previous_response_id",
        "conversation",
        "reasoning",
        "prompt_cache_key",
        "parallel_tool_calls",
        "text",
        "top_p",
        "truncation",
        "metadata",
        "background",
    ]
)


def create(client: Any, **body: Any) -> Any:
    """``responses.create`` with keys the SDK lacks sent as the JSON a client sends."""
    if isinstance(client, HttpClient):
        extra = {k: body.pop(k) for k in list(body) if k not in SDK_KEYS}
        return client.responses.create(**body, extra_body=extra or None)
    return client.responses.create(**body)


def codex_input(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "message", "id": "msg_dev-1", "role": "developer",
         "content": [{"type": "input_text", "text": "You are a coding agent."}]},
        {"type": "message", "id": "msg_user-1", "role": "user",
         "content": [{"type": "input_text", "text": text}]},
    ]  # fmt: skip


def test_function_tools_without_strict_or_parameters(client: Any) -> None:
    tool = {"type": "function", "name": "get_time", "description": "The time now."}
    response = client.responses.create(
        model="default", input="What time is it?", tools=[tool], tool_choice="required",
        temperature=0, max_output_tokens=40,
    )  # fmt: skip
    [call] = [item for item in response.output if item.type == "function_call"]
    assert call.name == "get_time" and json.loads(call.arguments) == {}
    [echoed] = response.tools
    assert echoed.strict is None and echoed.parameters is None


def test_a_codex_request_runs_and_its_namespaced_call_names_the_namespace(client: Any) -> None:
    response = create(
        client,
        model="default",
        input=codex_input("Close the agent named scout."),
        tools=[EXEC, AGENTS, {"type": "web_search", "external_web_access": False}],
        tool_choice={"type": "function", "name": "close_agent"},
        parallel_tool_calls=True,
        reasoning={"summary": "auto"},
        store=False,
        include=["reasoning.encrypted_content"],
        prompt_cache_key="0198-session",
        client_metadata={"x-codex-turn-metadata": '{"turn_id": "t1"}', "session_id": "s1"},
        temperature=0,
        max_output_tokens=60,
    )
    [call] = [item for item in response.output if item.type == "function_call"]
    assert call.name == "close_agent" and call.namespace == "multi_agent_v1"
    assert isinstance(json.loads(call.arguments)["target"], str)
    assert [t.type for t in response.tools] == ["function", "namespace", "web_search"]
    assert response.prompt_cache_key == "0198-session" and response.store is False
    assert response.reasoning is not None and response.reasoning.summary == "auto"


def test_declared_hosted_tools_are_never_called(client: Any) -> None:
    response = client.responses.create(
        model="default", input="Search the web for the news.", tools=[{"type": "web_search"}],
        tool_choice="auto", temperature=0, max_output_tokens=24,
    )  # fmt: skip
    assert [item.type for item in response.output] == ["message"]
    with pytest.raises(InvalidRequestError) as info:
        client.responses.create(
            model="default", input="Hi", tools=[{"type": "web_search"}], tool_choice="required"
        )
    assert info.value.param == "tool_choice"  # 'required' with nothing the model may call


def test_history_replayed_as_clients_replay_it(client: Any) -> None:
    history = [
        *codex_input("What is the weather in Paris?"),
        {"type": "reasoning", "summary": [], "encrypted_content": None},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"location": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 21 C"},
        {"type": "message", "role": "assistant", "id": "msg_a1",
         "content": [{"type": "output_text", "text": "It is sunny in Paris, 21 C."}]},
        {"type": "message", "id": "msg_user-2", "role": "user",
         "content": [{"type": "input_text", "text": "And tomorrow?"}]},
    ]  # fmt: skip
    response = client.responses.create(
        model="default", input=history, temperature=0, max_output_tokens=24
    )
    assert response.status in ("completed", "incomplete") and response.output_text
    counted = client.responses.input_tokens.count(model="default", input=history)
    assert counted.object == "response.input_tokens"
    assert counted.input_tokens == response.usage.input_tokens


def test_input_tokens_counts_what_the_response_is_given(client: Any) -> None:
    ask = {"model": "default", "instructions": "Answer in one word.", "input": "Capital of Italy?"}
    counted = client.responses.input_tokens.count(**ask)
    response = client.responses.create(**ask, temperature=0, max_output_tokens=16)
    assert counted.input_tokens == response.usage.input_tokens > 0
    with_tools = client.responses.input_tokens.count(**ask, tools=[EXEC])
    assert with_tools.input_tokens > counted.input_tokens  # the tool is shown to the model
    follow = client.responses.input_tokens.count(
        model="default", input="And of France?", previous_response_id=response.id
    )
    assert follow.input_tokens > counted.input_tokens  # the earlier turn is in the prompt


def test_penalties_of_the_spec_are_taken_and_echoed(client: Any) -> None:
    response = create(
        client, model="default", input="Say hi.", presence_penalty=0.5, frequency_penalty=0.25,
        temperature=0, max_output_tokens=16,
    )  # fmt: skip
    body = response.model_dump()
    assert body["presence_penalty"] == 0.5 and body["frequency_penalty"] == 0.25
    with pytest.raises(InvalidRequestError) as info:
        create(client, model="default", input="Hi", presence_penalty=3)
    assert info.value.param == "presence_penalty"


@pytest.mark.parametrize(
    ("tools", "where"),
    [
        ([EXEC, {**EXEC, "name": "exec command"}], "tools[1].name"),
        ([{**AGENTS, "tools": [{"type": "function", "name": "bad name"}]}], "tools[0].tools[0].name"),
        ([EXEC, {**EXEC, "description": 7}], "tools[1].description"),
    ],
)  # fmt: skip
def test_tool_errors_name_the_request_s_own_path(client: Any, tools: list[Any], where: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.responses.create(model="default", input="Hi", tools=tools)
    assert where in info.value.message or info.value.param == where, info.value.message
    assert ".function." not in info.value.message


def test_keys_the_sdk_always_sends_change_nothing_when_omitted(
    contract_server: tuple[Any, str],
) -> None:
    """``Required[Optional[...]]`` keys are optional now: an update that omits them (a body
    of ``{}``) keeps what is stored rather than clearing it, or failing with a 500."""
    import httpx2
    import openai

    url = contract_server[1]
    sdk = openai.OpenAI(base_url=url, api_key="local", max_retries=0)
    conversation = sdk.conversations.create(metadata={"topic": "kept"})
    answer = httpx2.post(f"{url}/conversations/{conversation.id}", json={}, timeout=60)
    assert answer.status_code == 200 and answer.json()["metadata"] == {"topic": "kept"}
    file = sdk.files.create(file=("notes.txt", b"Some notes."), purpose="assistants")
    store = sdk.vector_stores.create(name="kept")
    sdk.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=file.id, attributes={"kind": "notes"}
    )
    answer = httpx2.post(f"{url}/vector_stores/{store.id}/files/{file.id}", json={}, timeout=60)
    assert answer.status_code == 200 and answer.json()["attributes"] == {"kind": "notes"}
