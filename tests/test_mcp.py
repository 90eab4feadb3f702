"""MCP tools through the Responses API: a real MCP server, the real model, the official client.

The server (tests/mcp_servers/notes_server.py) is written with the official ``mcp`` SDK
and reached both ways a user has it: declared to the runtime as a stdio
command (``serve --mcp notes=COMMAND``), and at a loopback Streamable HTTP URL.
The tool is forced (``tool_choice`` of type ``mcp``) so the tiny model's call is
certain; its arguments are whatever the model wrote under the tool's schema,
and the output must be the server's answer to exactly those arguments. Every
item and event is read by the SDK's own types (the Open Responses spec has no
MCP items to check against).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.service import Runtime

from .http_harness import serving
from .mcp_servers import NOTES_SERVER, free_port, listening

SERVER = NOTES_SERVER
NOTES: dict[str, Any] = {"type": "mcp", "server_label": "notes", "require_approval": "never"}


@pytest.fixture(scope="module")
def http_notes() -> Iterator[str]:
    """The same server over Streamable HTTP on 127.0.0.1; yields its URL."""
    with listening("http") as port:
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def served(
    real_engine: LlamaEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, str]]:
    command = f"{sys.executable} {SERVER} stdio"
    here = tmp_path_factory.mktemp("mcp")
    # A published server (PyPI's mcp-server-time), declared as the MCP clients declare it.
    config = here / "mcp.json"
    time_server = {"command": sys.executable, "args": ["-m", "mcp_server_time"]}
    config.write_text(json.dumps({"mcpServers": {"time": time_server}}))
    with serving(
        here / "data",
        real_engine,
        mcp_commands=(("notes", command),),
        mcp_config=config,
        mcp_timeout=4.0,
        response_temperature=0.0,
    ) as (runtime, url):
        yield runtime, url


@pytest.fixture(scope="module")
def sdk(served: tuple[Runtime, str]) -> Any:
    return openai.OpenAI(base_url=served[1], api_key="sk-local", max_retries=0)


def forced(sdk: Any, tool: dict[str, Any], name: str, text: str, **extra: Any) -> Any:
    return sdk.responses.create(
        model="default",
        input=text,
        tools=[tool],
        tool_choice={"type": "mcp", "server_label": tool["server_label"], "name": name},
        max_output_tokens=64,
        **extra,
    )


def test_a_declared_stdio_server_lists_its_tools_and_the_model_calls_one(
    sdk: Any, served: tuple[Runtime, str]
) -> None:
    tool = {**NOTES, "allowed_tools": ["add", "lookup"]}
    response = forced(sdk, tool, "add", "What is 2 plus 3? Use the add tool.")
    listing, call = response.output[0], response.output[1]
    assert listing.type == "mcp_list_tools" and listing.server_label == "notes"
    assert [t.name for t in listing.tools] == ["add", "lookup"]  # allowed_tools kept these
    assert listing.tools[0].input_schema["properties"].keys() == {"a", "b"}
    assert call.type == "mcp_call" and call.server_label == "notes" and call.name == "add"
    arguments = json.loads(call.arguments)
    assert call.output == str(arguments["a"] + arguments["b"])  # the server's answer
    assert call.error is None and call.status == "completed"
    # What the model read back in its next turn, from the stored call: the same output.
    assert model_read(served[0], response.id, "call_" + call.id.split("_", 1)[1]) == call.output
    assert response.status in ("completed", "incomplete")  # the model went on after the call
    again = sdk.responses.retrieve(response.id)
    assert [i.model_dump() for i in again.output] == [i.model_dump() for i in response.output]
    shown = next(t for t in response.tools if t.type == "mcp")
    assert shown.server_label == "notes" and shown.headers is None
    assert listing.tools[1].annotations == {"readOnlyHint": True}
    # read_only keeps the tools the server marks read-only (lookup), and only those.
    reader = {**NOTES, "allowed_tools": {"read_only": True}}
    looked = forced(sdk, reader, "lookup", "Look up attention.")
    assert [t.name for t in looked.output[0].tools] == ["lookup"]
    with pytest.raises(openai.BadRequestError):
        forced(sdk, reader, "add", "What is 1 plus 1?")  # not offered: no such tool


def test_a_url_server_streams_the_mcp_events_in_order(sdk: Any, http_notes: str) -> None:
    tool = {
        **NOTES,
        "server_label": "wiki",
        "server_url": http_notes,
        "headers": {"X-Notes": "1"},
        "authorization": "local-token",
    }
    with sdk.responses.stream(
        model="default",
        input="Look up transformers.",
        tools=[{**tool, "allowed_tools": ["lookup"]}],
        tool_choice={"type": "mcp", "server_label": "wiki", "name": "lookup"},
        max_output_tokens=64,
    ) as stream:
        events = list(stream)
    final = events[-1].response  # completed, or incomplete: the answer after the call ran long
    assert events[-1].type in ("response.completed", "response.incomplete")
    kinds = [e.type for e in events]
    listed = [k for k in kinds if "mcp_list_tools" in k]
    assert listed == ["response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed"]
    calls = [k for k in kinds if k.startswith("response.mcp_call")]
    assert calls[0] == "response.mcp_call.in_progress"
    assert "response.mcp_call_arguments.delta" in calls
    assert calls[-2:] == ["response.mcp_call_arguments.done", "response.mcp_call.completed"], (
        events[-1].response.output
    )
    assert kinds.index("response.mcp_list_tools.completed") < kinds.index(calls[0])
    done = {e.item.id: e.item for e in events if e.type == "response.output_item.done"}
    call = final.output[1]
    assert call.type == "mcp_call" and done[call.id].model_dump() == call.model_dump()
    term = json.loads(call.arguments)["term"]
    assert call.output == f"notes on {term}: seen in 3 notes"
    assert [e.output_index for e in events if e.type == "response.output_item.added"][:2] == [0, 1]
    # The request's headers and authorization reach the server; the response shows neither.
    who = forced(sdk, {**tool, "allowed_tools": ["whoami"]}, "whoami", "Who am I?").output[1]
    assert who.output == "authorization=Bearer local-token notes=1"
    assert "local-token" not in sdk.responses.retrieve(final.id).model_dump_json()


def test_a_failing_tool_is_an_mcp_call_with_its_error_and_the_run_goes_on(sdk: Any) -> None:
    response = forced(sdk, NOTES, "broken", "Read my notes.")
    call = response.output[1]
    assert call.type == "mcp_call" and call.status == "failed" and call.output is None
    assert call.error is not None
    error = call.error.model_dump()
    assert error["type"] == "mcp_tool_execution_error"
    assert "the notes folder is locked" in json.dumps(error["content"])
    assert response.status in ("completed", "incomplete")


def test_a_server_that_dies_mid_call_is_an_error_and_is_started_again(sdk: Any) -> None:
    died = forced(sdk, NOTES, "die", "Stop.").output[1]
    assert died.status == "failed" and died.error.model_dump()["type"] == "mcp_protocol_error"
    again = forced(sdk, NOTES, "add", "What is 1 plus 1?").output[1]
    arguments = json.loads(again.arguments)
    assert again.status == "completed" and again.output == str(arguments["a"] + arguments["b"])


def test_hostile_answers_are_bounded(sdk: Any) -> None:
    huge = forced(sdk, NOTES, "huge", "Fetch everything.").output[1]
    assert huge.status == "completed" and len(huge.output) < 20_100
    assert huge.output.endswith("[output cut at 20000 characters]")
    started = time.monotonic()
    hung = forced(sdk, NOTES, "hang", "Wait for it.").output[1]
    assert time.monotonic() - started < 30
    assert hung.status == "failed" and "did not answer within 4 s" in hung.error.message
    # Bytes that are no UTF-8 (and no message) on the stdio pipe: skipped, the call answered.
    garbled = forced(sdk, NOTES, "garble", "Garble it.").output[1]
    assert garbled.status == "completed" and garbled.output == "still here ?"
    after = forced(sdk, NOTES, "add", "What is 2 plus 5?").output[1]
    assert after.status == "completed"


def test_what_cannot_be_used_is_a_clear_error_before_anything_runs(sdk: Any) -> None:
    cases = [
        ({**NOTES, "server_label": "mail"}, 400, "tools[0].server_label", "serve --mcp mail="),
        ({**NOTES, "server_url": "https://mcp.example.com/mcp"}, 400, "tools[0].server_url", ""),
        ({**NOTES, "require_approval": "sometimes"}, 400, "tools[0].require_approval", "never"),
        ({**NOTES, "connector_id": "connector_gmail"}, 400, "tools[0].connector_id", "local"),
        (
            {**NOTES, "server_label": "down", "server_url": f"http://127.0.0.1:{free_port()}/mcp"},
            424,
            "tools[0]",
            "Error retrieving tool list from MCP server: 'down'",
        ),
    ]
    for tool, status, param, words in cases:
        with pytest.raises(openai.APIStatusError) as raised:
            sdk.responses.create(model="default", input="hi", tools=[tool], max_output_tokens=16)
        assert raised.value.status_code == status, (tool, raised.value)
        body = raised.value.body
        assert isinstance(body, dict) and body["param"] == param, body
        assert words in body["message"], body
    with pytest.raises(openai.BadRequestError) as wrong:
        forced(sdk, NOTES, "delete_all", "hi")
    assert wrong.value.body["param"] == "tool_choice.name"  # type: ignore[index]


def test_an_mcp_call_replayed_with_store_false_is_read_as_a_finished_call(sdk: Any) -> None:
    first = forced(sdk, NOTES, "add", "What is 2 plus 2?", store=False)
    replayed = [item.model_dump(exclude_none=True) for item in first.output]
    follow = sdk.responses.create(
        model="default",
        input=[
            {"role": "user", "content": "What is 2 plus 2?"},
            *replayed,
            {"role": "user", "content": "Thanks."},
        ],
        max_output_tokens=16,
        store=False,
    )
    assert follow.status in ("completed", "incomplete")
    assert follow.output[0].type == "message"


def model_read(runtime: Runtime, response_id: str, call_id: str) -> str | None:
    """What the model was given back for the call ``call_id`` (its stored output)."""
    record = runtime.store.responses.get(response_id)
    assert record is not None
    for step in runtime.store.steps.in_run(record.run_id):
        for call in getattr(step.step_details, "tool_calls", []):
            if call.id == call_id:
                return str(call.function.output)
    return None


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


def test_a_published_server_declared_in_a_config_file_answers(sdk: Any) -> None:
    tool = {"type": "mcp", "server_label": "time", "require_approval": "never"}
    response = forced(
        sdk, tool, "get_current_time", "What time is it in Europe/Paris? Use Europe/Paris."
    )
    listing, call = response.output[0], response.output[1]
    assert {t.name for t in listing.tools} >= {"get_current_time", "convert_time"}
    asked = json.loads(call.arguments)["timezone"]
    if call.status == "completed":  # a zone the server knows: its answer names it
        assert json.loads(call.output)["timezone"] == asked
    else:  # one it does not: its error names it
        assert call.status == "failed" and asked in call.error.model_dump_json()


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


def test_serve_says_what_is_wrong_with_a_declared_server(tmp_path: Path) -> None:
    bad = tmp_path / "mcp.json"
    bad.write_text(json.dumps({"mcpServers": {"notes": {"args": ["x"]}}}))
    for flags, words in (
        (["--mcp-config", str(bad)], "notes: give a 'command'"),
        (["--mcp", "notes"], "--mcp wants NAME=COMMAND"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "offline_assistants", "serve", "--port", "0", *flags],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and words in result.stderr, result.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "offline_assistants", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "--mcp NAME=COMMAND" in shown and "--mcp-allow-remote" in shown


def test_an_sse_server_is_reached_at_its_sse_url(sdk: Any) -> None:
    with listening("sse") as port:
        tool = {**NOTES, "server_label": "old", "server_url": f"http://127.0.0.1:{port}/sse"}
        response = forced(sdk, {**tool, "allowed_tools": ["add"]}, "add", "What is 8 plus 1?")
    call = next(item for item in response.output if item.type == "mcp_call")
    arguments = json.loads(call.arguments)
    assert call.status == "completed" and call.output == str(arguments["a"] + arguments["b"])


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
