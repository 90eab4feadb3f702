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
from pathlib import Path
from typing import Any

import openai
import pytest

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.service import Runtime

from .mcp_servers import NOTES, forced, free_port, listening, model_read, notes_runtime


@pytest.fixture(scope="module")
def served(
    real_engine: LlamaEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, str]]:
    with notes_runtime(real_engine, tmp_path_factory.mktemp("mcp")) as served:
        yield served


@pytest.fixture(scope="module")
def sdk(served: tuple[Runtime, str]) -> Any:
    return openai.OpenAI(base_url=served[1], api_key="sk-local", max_retries=0)


@pytest.fixture(scope="module")
def http_notes() -> Iterator[str]:
    """The same server over Streamable HTTP on 127.0.0.1; yields its URL."""
    with listening("http") as port:
        yield f"http://127.0.0.1:{port}/mcp"


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
