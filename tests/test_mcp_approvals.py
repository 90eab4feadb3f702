"""MCP approvals through the Responses API: the real model, the notes MCP server, real clients.

A tool that asks first ends the response with an ``mcp_approval_request``; the
user's ``mcp_approval_response`` (with ``previous_response_id``, or replayed in the
whole history as the Agents SDK and ``store=False`` apps send it) makes the call or
tells the model it was denied. The server and helpers are tests/mcp_servers'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.service import Runtime

from .mcp_servers import NOTES, forced, model_read, notes_runtime


@pytest.fixture(scope="module")
def served(
    real_engine: LlamaEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, str]]:
    with notes_runtime(real_engine, tmp_path_factory.mktemp("mcp")) as served:
        yield served


@pytest.fixture(scope="module")
def sdk(served: tuple[Runtime, str]) -> Any:
    return openai.OpenAI(base_url=served[1], api_key="sk-local", max_retries=0)


def test_a_tool_that_asks_first_waits_for_approval_and_is_called_once_approved(
    sdk: Any, served: tuple[Runtime, str]
) -> None:
    tool = {"type": "mcp", "server_label": "notes", "allowed_tools": ["add"]}  # asks: the default
    events = list(
        sdk.responses.create(
            model="default",
            input="What is 4 plus 5?",
            tools=[tool],
            tool_choice={"type": "mcp", "server_label": "notes", "name": "add"},
            max_output_tokens=48,
            stream=True,
        )
    )
    asked = events[-1].response
    assert events[-1].type == "response.completed"  # waiting for the user, as for a function
    request = asked.output[1]
    assert request.type == "mcp_approval_request" and request.name == "add"
    assert request.server_label == "notes" and request.id.startswith("mcpr_")
    assert not [e for e in events if e.type.startswith("response.mcp_call")]  # nothing called
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert done[-1].model_dump() == request.model_dump()
    call_id = "call_" + request.id.split("_", 1)[1]
    assert model_read(served[0], asked.id, call_id) == "None"  # no output until approved

    answer = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}
    stream = sdk.responses.create(
        model="default",
        previous_response_id=asked.id,
        input=[answer],
        tools=[tool],
        max_output_tokens=24,
        stream=True,
    )
    later = list(stream)
    approved = later[-1].response
    # The chain showed this server's tools already, unchanged: no second list.
    assert [item.type for item in approved.output][:1] == ["mcp_call"]
    made = approved.output[0]  # the call the approval made
    arguments = json.loads(request.arguments)
    assert made.type == "mcp_call" and made.approval_request_id == request.id
    assert made.output == str(arguments["a"] + arguments["b"]) and made.status == "completed"
    kinds = [e.type for e in later]
    assert kinds[1:6] == [
        "response.in_progress",
        *("response.output_item.added", "response.mcp_call.in_progress"),
        *("response.mcp_call_arguments.done", "response.mcp_call.completed"),
    ]  # the approved call is told first, made before the model went on
    assert model_read(served[0], approved.id, call_id) == made.output
    assert sdk.responses.retrieve(approved.id).output[0].model_dump() == made.model_dump()
    assert sdk.responses.retrieve(asked.id).output[1].type == "mcp_approval_request"
    wider = {**tool, "allowed_tools": ["add", "lookup"]}  # the list changed: shown again
    after = sdk.responses.create(
        model="default",
        previous_response_id=approved.id,
        input="Thanks.",
        tools=[wider],
        tool_choice="none",
        max_output_tokens=16,
    )
    assert after.output[0].type == "mcp_list_tools"
    assert [t.name for t in after.output[0].tools] == ["add", "lookup"]


def test_a_denied_call_is_never_made_and_the_model_is_told(
    sdk: Any, served: tuple[Runtime, str]
) -> None:
    tool = {**NOTES, "require_approval": {"always": {"tool_names": ["die"]}}}
    asked = forced(sdk, tool, "die", "Stop the server.")
    request = asked.output[1]
    assert request.type == "mcp_approval_request" and request.name == "die"
    answer = {
        "type": "mcp_approval_response",
        "approval_request_id": request.id,
        "approve": False,
        "reason": "not now",
    }
    denied = sdk.responses.create(
        model="default", previous_response_id=asked.id, input=[answer], max_output_tokens=16
    )
    assert not [item for item in denied.output if item.type == "mcp_call"]
    told = model_read(served[0], denied.id, "call_" + request.id.split("_", 1)[1])
    assert told is not None and "denied" in told and "not now" in told
    # Still alive: the call was never made (die would have killed the server).
    alive = forced(sdk, NOTES, "add", "What is 3 plus 3?").output[1]
    assert alive.status == "completed"
    with pytest.raises(openai.BadRequestError) as twice:
        sdk.responses.create(model="default", previous_response_id=asked.id, input=[answer])
    assert twice.value.body["param"] == "input"  # type: ignore[index]


def test_the_agents_sdks_hosted_mcp_tool_reads_every_item(
    sdk: Any, served: tuple[Runtime, str]
) -> None:
    """``HostedMCPTool`` as an Agents SDK app declares it, with an approval callback: the
    SDK answers the request and sends the whole history back (no previous_response_id)."""
    agents = pytest.importorskip("agents", reason="openai-agents is a dev extra")
    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    asked: list[str] = []

    def approve(request: Any) -> dict[str, Any]:
        asked.append(request.data.name)
        return {"approve": True}

    tool = agents.HostedMCPTool(
        tool_config={"type": "mcp", "server_label": "notes", "allowed_tools": ["add"]},
        on_approval_request=approve,
    )
    client = AsyncOpenAI(base_url=served[1], api_key="local", max_retries=0)
    agent = agents.Agent(
        name="Sums",
        instructions="Add numbers with the add tool.",
        tools=[tool],
        model=agents.OpenAIResponsesModel(model="default", openai_client=client),
        model_settings=agents.ModelSettings(tool_choice="required", temperature=0, max_tokens=48),
    )
    with ThreadPoolExecutor(1) as pool:  # run_sync wants a thread with no running loop
        result = pool.submit(agents.Runner.run_sync, agent, "What is 6 plus 7?").result()
    kinds = [type(item).__name__ for item in result.new_items]
    assert asked == ["add"]
    assert "MCPApprovalRequestItem" in kinds
    assert kinds.count("MCPListToolsItem") == 1  # the replayed list is not listed again
    made = [
        item.raw_item
        for item in result.new_items
        if getattr(item.raw_item, "type", None) == "mcp_call"
    ]
    assert len(made) == 1, kinds
    arguments = json.loads(made[0].arguments)
    assert made[0].output == str(arguments["a"] + arguments["b"])


def test_an_approval_with_store_false_is_answered_by_replaying_the_history(sdk: Any) -> None:
    """Nothing is kept of a store=False response: the app sends the request back beside its
    answer, and the call is made from what the input says."""
    tool = {"type": "mcp", "server_label": "notes", "allowed_tools": ["add"]}
    question = {"role": "user", "content": "What is 7 plus 8?"}
    asked = forced(sdk, tool, "add", "What is 7 plus 8?", store=False)
    request = asked.output[-1]
    assert request.type == "mcp_approval_request"
    history = [question, *(item.model_dump(exclude_none=True) for item in asked.output)]
    answer = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}
    done = sdk.responses.create(
        model="default",
        input=[*history, answer],
        tools=[tool],
        max_output_tokens=24,
        store=False,
    )
    made = next(item for item in done.output if item.type == "mcp_call")
    arguments = json.loads(request.arguments)
    assert made.approval_request_id == request.id
    assert made.output == str(arguments["a"] + arguments["b"])
    # The history replays the tool list, unchanged: it is not shown again.
    assert [item.type for item in done.output][:1] == ["mcp_call"]


def test_an_approved_call_in_the_making_holds_up_no_other_response(sdk: Any) -> None:
    tool = {"type": "mcp", "server_label": "notes", "allowed_tools": ["slow"]}
    asked = forced(sdk, tool, "slow", "Take your time.")
    request = asked.output[-1]
    assert request.type == "mcp_approval_request"
    answer = {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}
    with ThreadPoolExecutor(1) as pool:
        approving = pool.submit(
            sdk.responses.create,
            model="default",
            previous_response_id=asked.id,
            input=[answer],
            max_output_tokens=16,
        )
        time.sleep(0.3)  # the slow call (3.5 s) is under way
        other = sdk.responses.create(model="default", input="Hi", max_output_tokens=16)
        assert not approving.done()  # the other response did not wait for the MCP call
        assert other.status in ("completed", "incomplete")
        made = next(item for item in approving.result().output if item.type == "mcp_call")
    assert made.output == "done slowly"


def test_input_tokens_count_an_mcp_tools_listing_and_replayed_approvals(sdk: Any) -> None:
    tool = {**NOTES, "allowed_tools": ["add"]}
    plain = sdk.responses.input_tokens.count(model="default", input="What is 2 plus 2?")
    with_tool = sdk.responses.input_tokens.count(
        model="default", input="What is 2 plus 2?", tools=[tool]
    )
    assert with_tool.input_tokens > plain.input_tokens  # the listed tool is in the prompt
    request = {
        "type": "mcp_approval_request",
        "id": "mcpr_x1",
        "server_label": "notes",
        "name": "add",
        "arguments": '{"a": 2, "b": 2}',
    }
    answer = {"type": "mcp_approval_response", "approval_request_id": "mcpr_x1", "approve": True}
    replayed = sdk.responses.input_tokens.count(
        model="default",
        input=[{"role": "user", "content": "What is 2 plus 2?"}, request, answer],
        tools=[tool],
    )
    assert replayed.input_tokens >= with_tool.input_tokens  # counted, not a 500
