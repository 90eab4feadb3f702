"""The Dashboard shows a response's MCP calls: in a real headless Chromium, the real model
calling the test's real MCP server (tests/mcp_servers/notes_server.py, declared as a stdio
server), read on the Threads page as a person reads a conversation's runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from offline_assistants.config import Settings
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.server import create_app
from offline_assistants.server.background import BackgroundServer
from offline_assistants.service import Runtime

from .browser import API_KEY, Tab, client_for
from .mcp_servers import NOTES_SERVER


@pytest.fixture(scope="module")
def mcp_origin(real_engine: LlamaEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = dataclasses.replace(
        Settings.from_env(data_dir=tmp_path_factory.mktemp("dashboard-mcp") / "data"),
        mcp_commands=(("notes", f"{sys.executable} {NOTES_SERVER} stdio"),),
        response_temperature=0.0,
    )
    runtime = Runtime(settings, engine_factory=lambda path: real_engine)
    try:
        with BackgroundServer(create_app(runtime, api_key=API_KEY)) as server:
            yield server.base_url.removesuffix("/v1")
    finally:
        runtime.close()


def test_a_conversations_mcp_calls_show_server_output_error_and_approval(
    browser: Any, mcp_origin: str
) -> None:
    sdk = client_for(mcp_origin)
    conversation = sdk.conversations.create()

    def forced(name: str, text: str, **tool: Any) -> Any:
        notes = {"type": "mcp", "server_label": "notes", "require_approval": "never", **tool}
        return sdk.responses.create(
            model="default",
            conversation=conversation.id,
            input=text,
            tools=[notes],
            tool_choice={"type": "mcp", "server_label": "notes", "name": name},
            max_output_tokens=40,
        )

    def made(response: Any, kind: str = "mcp_call") -> Any:
        return next(item for item in response.output if item.type == kind)

    looked = made(forced("lookup", "Look up attention."))
    assert looked.output
    assert made(forced("broken", "Read my notes.")).status == "failed"
    made(forced("add", "What is 2 plus 2?", require_approval="always"), "mcp_approval_request")

    tab = Tab(browser, mcp_origin)
    try:
        page = tab.page
        tab.open(f"threads/{conversation.id}")
        runs = page.locator("details.run")
        runs.first.wait_for()
        assert runs.count() == 3
        for index in range(3):
            runs.nth(index).locator("summary").click()
        calls = page.locator(".tool-call[data-call-type=function]")
        calls.nth(2).wait_for()
        shown = {
            (calls.nth(i).locator("h3").first.text_content() or ""): calls.nth(i)
            for i in range(calls.count())
        }
        assert set(shown) == {"notes · lookup(…)", "notes · broken(…)", "notes · add(…)"}
        term = json.loads(looked.arguments)["term"]
        assert shown["notes · lookup(…)"].locator(".function-output").text_content() == (
            f"notes on {term}: seen in 3 notes"
        )
        error = shown["notes · broken(…)"].locator(".mcp-error").text_content() or ""
        assert "the notes folder is locked" in error
        waiting = shown["notes · add(…)"].locator(".mcp-approval").text_content() or ""
        assert "Waiting for the user's approval" in waiting
        assert page.locator("details.run summary >> text=MCP notes lookup").count() == 1
        tab.done("mcp-calls")

        # Approved from the page: the conversation's next response makes the call.
        shown["notes · add(…)"].locator("button.mcp-approve").click()
        page.wait_for_selector("#notice >> text=Approved: the call was made.")
        latest = page.locator("details.run").first
        latest.locator("summary").click()
        latest.locator(".mcp-approval >> text=Approved by the user").wait_for()
        items = sdk.conversations.items.list(conversation.id).data
        made = next(i for i in items if i.type == "mcp_call" and i.name == "add")
        arguments = json.loads(made.arguments)
        assert made.output == str(arguments["a"] + arguments["b"])
        assert latest.locator(".function-output").text_content() == made.output
        tab.done("mcp-approved")

        # The Playground lists the declared servers, running since the calls above.
        sdk.beta.assistants.create(name="Any", model="default")
        tab.go("playground")
        server = page.locator("#pg-mcp li[data-label=notes]")
        server.wait_for()
        assert "stdio · running" in (server.text_content() or "")
        assert str(NOTES_SERVER) in (server.text_content() or "")
        tab.done("mcp-servers")
    finally:
        tab.close()
