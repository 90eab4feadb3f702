"""Agent frameworks and the AI SDK against the server, with tools, structured output, streams.

LangChain (``ChatOpenAI(use_responses_api=True)``: ``bind_tools``,
``with_structured_output(method="function_calling")``, ``stream``), a LangGraph graph
with a ToolNode, pydantic-ai (an Agent on ``OpenAIResponsesModel`` with an output
type), litellm
(``litellm.responses`` with a tool), instructor (``Mode.RESPONSES_TOOLS``) and the
openai SDK's ``responses.stream(text_format=...)`` run from their own venv
(``tests/clients/agent_frameworks.py``); the Vercel AI SDK (``streamText`` with
``Output.object`` on the Responses provider, a forced tool on the Responses and the
Chat provider; ``@ai-sdk/open-responses``, the provider for any Open Responses server,
with a forced tool and a stream) from the Node clients cache, and the Agents SDK for
JavaScript (``@openai/agents``, a forced tool, its output sent back, an answer) (``tests/node/ai_sdk.cjs``). These
clients omit ``strict`` and sometimes ``parameters`` on their function tools, which
the SDK's types mark required; each case forces the tool or the schema, so what is
asserted is the protocol: a valid call, a parsed object, exit code 0.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from offline_assistants.service import Runtime

from .contract_clients import (
    frameworks_python,
    node_agents_dir,
    node_binary,
    node_clients_dir,
    node_package,
)

SCRIPT = Path(__file__).parent / "clients" / "agent_frameworks.py"
AI_SDK = Path(__file__).parent / "node" / "ai_sdk.cjs"
AGENTS_SDK = Path(__file__).parent / "node" / "agents_sdk.cjs"


def framework(case: str, base_url: str, key: str = "local") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # litellm reads its bundled map, offline
    venv = "pydantic-ai" if case.startswith("pydantic-ai") else "clients"
    done = subprocess.run(
        [str(frameworks_python(venv)), str(SCRIPT), base_url, case, key],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "case",
    [
        "langchain-tools",
        "litellm-tools",
        "langchain-structured",
        "instructor-responses",
        "pydantic-ai-output",
    ],
)
def test_a_forced_tool_comes_back_as_a_parsed_call(
    case: str, contract_server: tuple[Runtime, str]
) -> None:
    result = framework(case, contract_server[1])
    if "calls" in result:
        [call] = result["calls"]
        assert call["name"] in ("Weather", "get_weather")
        assert isinstance(call["args"]["location"], str)
    else:
        assert isinstance(result["parsed"]["location"], str)


def test_langchain_streams_a_response(contract_server: tuple[Runtime, str]) -> None:
    result = framework("langchain-stream", contract_server[1])
    assert result["chunks"] > 1 and result["text"].strip()


def test_a_langgraph_tool_loop_runs_through(contract_server: tuple[Runtime, str]) -> None:
    """The forced call, its output sent back as a function_call_output, an answer."""
    result = framework("langgraph-tool-loop", contract_server[1])
    assert result["kinds"] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert result["answer"].strip()


def test_openai_sdk_streams_a_text_format_and_parses_it(
    contract_server: tuple[Runtime, str],
) -> None:
    result = framework("openai-text-format", contract_server[1])
    kinds = result["events"]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "error" not in kinds and "response.output_text.delta" in kinds
    assert isinstance(result["parsed"]["location"], str)


def test_ai_sdk_structured_stream_and_forced_tools(contract_server: tuple[Runtime, str]) -> None:
    node = node_binary()
    for package in ("ai", "@ai-sdk/openai", "@ai-sdk/open-responses", "zod"):
        node_package(package)
    config = {"modules": str(node_clients_dir() / "node_modules"), "baseURL": contract_server[1]}
    done = subprocess.run(
        [node, str(AI_SDK), json.dumps(config)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = {r["case"]: r for r in map(json.loads, done.stdout.strip().splitlines())}
    structured = results["structured"]
    assert structured["partials"] >= 1 and structured["finish"] == "stop"
    assert set(structured["output"]) == {"city", "country"}
    for provider in ("responses", "chat", "open"):
        [call] = results[f"tool-{provider}"]["calls"]
        assert call["name"] == "get_weather" and isinstance(call["input"]["location"], str)
        assert results[f"tool-{provider}"]["finish"] == "tool-calls"
    stream = results["open-stream"]
    assert stream["pieces"] > 1 and stream["text"].strip()
    assert stream["finish"] in ("stop", "length")


def test_the_js_agents_sdk_calls_its_tool_and_answers(contract_server: tuple[Runtime, str]) -> None:
    """@openai/agents: the forced call runs the tool, its output goes back as a
    function_call_output, and the agent answers."""
    node = node_binary()
    modules = node_package("@openai/agents", node_agents_dir()).parents[1]
    config = {"modules": str(modules), "baseURL": contract_server[1]}
    done = subprocess.run(
        [node, str(AGENTS_SDK), json.dumps(config)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["calls"] and isinstance(result["calls"][0], str)
    assert result["items"][:2] == ["tool_call_item", "tool_call_output_item"]
    assert result["items"][-1] == "message_output_item" and result["final"].strip()
