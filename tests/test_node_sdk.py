"""The official Node SDK (4.x, 6.x and 7.x) streams runs from our server without a hitch.

The Node SDK merges stream deltas strictly: an explicit ``null`` for a field an earlier
delta set ("Unhandled record type: id") or a repeated ``id`` breaks it, where the
Python SDK forgives. Set-up installs the three majors into a cache outside the
repository (``scripts/setup``); these tests skip only where ``node`` is absent.
Each drives a real-model run through ``tests/node/stream_run.cjs``: a Code
Interpreter run, and a function call with its tool outputs submitted as a stream;
``tests/node/chat_stream.cjs`` streams chat completions (text, then a tool call)
through the SDK's ChatCompletionStream helper; ``tests/node/mcp_stream.cjs`` a
response whose MCP tool the runtime calls, through its ResponseStream helper.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest

from offline_assistants.engine.llama import LlamaEngine

from .contract_clients import node_clients_dir
from .http_harness import serving
from .mcp_servers import listening
from .test_code_interpreter import FIBONACCI
from .tools_fixtures import GET_WEATHER

SCRIPT = Path(__file__).parent / "node" / "stream_run.cjs"
CHAT_SCRIPT = Path(__file__).parent / "node" / "chat_stream.cjs"
MCP_SCRIPT = Path(__file__).parent / "node" / "mcp_stream.cjs"
MAJORS = ("openai4", "openai6", "openai7")


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: the Node SDK contract tests need Node.js 18+")
    missing = [m for m in MAJORS if not (node_clients_dir() / "node_modules" / m).is_dir()]
    assert not missing, f"run scripts/setup: the Node openai SDK is missing in {node_clients_dir()}"
    return found


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("node") / "data", real_engine) as (_, url):
        yield url


def stream(node: str, base_url: str, major: str, scenario: str, tools: list[Any], ask: str) -> Any:
    sdk = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
    assistant = sdk.beta.assistants.create(
        model="default",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=tools,
        temperature=0,
    )
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": ask}])
    config = {
        "sdk": str(node_clients_dir() / "node_modules" / major),
        "baseURL": base_url,
        "threadId": thread.id,
        "assistantId": assistant.id,
        "scenario": scenario,
    }
    done = subprocess.run(
        [node, str(SCRIPT), json.dumps(config)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("major", MAJORS)
def test_node_streams_a_code_interpreter_run(node: str, base_url: str, major: str) -> None:
    seen = stream(node, base_url, major, "code", [{"type": "code_interpreter"}], FIBONACCI)
    assert seen["runs"] == ["completed"]
    assert [c["type"] for c in seen["created"]] == ["code_interpreter"]
    assert seen["created"][0]["input"] == ""  # announced before any code was written
    inputs = [d["input"] for d in seen["deltas"] if d["input"]]
    assert len(inputs) > 1  # the code arrived as the model wrote it
    final = seen["done"][-1]
    assert "".join(inputs) == final["code_interpreter"]["input"]
    logs = [o for d in seen["deltas"] for o in d["outputs"]]
    assert logs == [o.get("logs", o["type"]) for o in final["code_interpreter"]["outputs"]]
    assert {d["snapshotId"] for d in seen["deltas"]} == {seen["created"][0]["id"]}
    assert "thread.run.step.completed" in seen["events"] and seen["text"]


@pytest.mark.parametrize("major", MAJORS)
def test_node_streams_a_function_call_and_its_outputs(node: str, base_url: str, major: str) -> None:
    tools = [{"type": "function", "function": GET_WEATHER}]
    seen = stream(node, base_url, major, "function", tools, "What is the weather in Oslo?")
    assert seen["runs"][0] == "requires_action"
    assert seen["runs"][-1] in ("completed", "incomplete")
    assert [c["type"] for c in seen["created"]] == ["function"]
    arguments = "".join(d["arguments"] or "" for d in seen["deltas"])
    assert arguments == seen["arguments"][0] and json.loads(arguments)
    assert "thread.run.requires_action" in seen["events"]


@pytest.mark.parametrize("major", MAJORS)
def test_node_streams_chat_completions_and_responses(node: str, base_url: str, major: str) -> None:
    """The Node SDK's ChatCompletionStream assembles our chunks (text, a tool call) and its
    ResponseStream our response events (a function call)."""
    config = {
        "sdk": str(node_clients_dir() / "node_modules" / major),
        "baseURL": base_url,
        "tool": {"type": "function", "function": GET_WEATHER},
    }
    done = subprocess.run(
        [node, str(CHAT_SCRIPT), json.dumps(config)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    text = seen["textCompletion"]
    assert len(seen["text"]) > 3
    assert text["choices"][0]["message"]["content"] == "".join(seen["text"])
    assert text["usage"]["completion_tokens"] > 0
    [call] = seen["callCompletion"]["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == GET_WEATHER["name"]
    jsonschema.validate(json.loads(call["function"]["arguments"]), GET_WEATHER["parameters"])
    # The ResponseStream helper assembled the response's function call from its events.
    [item] = seen["response"]["output"]
    assert item["type"] == "function_call" and item["name"] == GET_WEATHER["name"]
    assert "".join(seen["responseText"]) == item["arguments"]
    jsonschema.validate(json.loads(item["arguments"]), GET_WEATHER["parameters"])


@pytest.mark.parametrize("major", MAJORS)
def test_node_assembles_a_responses_mcp_items_from_its_stream(
    node: str, base_url: str, major: str
) -> None:
    """The ResponseStream helper checks each event against the response it builds: the tool
    list told whole, the MCP call's arguments deltas on the item it announced."""
    with listening("http") as port:
        config = {
            "sdk": str(node_clients_dir() / "node_modules" / major),
            "baseURL": base_url,
            "serverURL": f"http://127.0.0.1:{port}/mcp",
        }
        done = subprocess.run(
            [node, str(MCP_SCRIPT), json.dumps(config)], capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    listing, call = seen["response"]["output"][:2]
    assert listing["type"] == "mcp_list_tools" and [t["name"] for t in listing["tools"]] == ["add"]
    assert call["type"] == "mcp_call" and call["arguments"] == "".join(seen["argumentDeltas"])
    arguments = json.loads(call["arguments"])
    assert call["output"] == str(arguments["a"] + arguments["b"])
    assert "response.mcp_call.completed" in seen["events"]
