"""The Responses API's WebSocket mode, through the official SDK's ``responses.connect()``.

One connection carries several responses in sequence; a ``store: false`` response
is kept while the connection lives, so the next ``response.create`` continues it
with ``previous_response_id`` (its prompt holds the earlier turn), and once the
connection closes it is gone: a reconnect gets ``previous_response_not_found``.
Every event validates against the Open Responses spec, as over SSE. Bad messages
get an ``error`` event and the connection stays usable. The handshake is guarded
like every request: the API key, and an ``Origin`` only from an allowed host (a
browser page elsewhere may not drive the model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from offline_assistants.config import Settings
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.server import create_app
from offline_assistants.server.background import BackgroundServer
from offline_assistants.service import Runtime

from .open_responses import check_event

ENDINGS = ("response.completed", "response.incomplete", "response.failed", "error")
TURN = {"type": "response.create", "model": "default", "temperature": 0, "max_output_tokens": 16}


def until_end(connection: Any) -> list[dict[str, Any]]:
    """One response's events as the wire carried them (and as the SDK parses them)."""
    events = []
    while True:
        data = connection.recv_bytes()
        assert connection.parse_event(data).type  # the SDK reads every one
        events.append(json.loads(data))
        if events[-1]["type"] in ENDINGS:
            return events


@pytest.fixture
def sdk(contract_server: tuple[Runtime, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=contract_server[1], api_key="local", max_retries=0)


def test_one_connection_chains_unstored_responses(sdk: openai.OpenAI) -> None:
    with sdk.responses.connect() as connection:
        connection.send({**TURN, "input": "My name is Ada.", "store": False})
        first = until_end(connection)
        connection.send(
            {**TURN, "input": "What is my name?", "store": False,
             "previous_response_id": first[-1]["response"]["id"]}
        )  # fmt: skip
        second = until_end(connection)
    for event in first + second:
        check_event(event)
    assert [e["type"] for e in first][:2] == ["response.created", "response.in_progress"]
    before, after = first[-1]["response"], second[-1]["response"]
    assert after["previous_response_id"] == before["id"]
    # The first turn (question and answer) is in the second's prompt.
    assert after["usage"]["input_tokens"] > before["usage"]["input_tokens"] + 5
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(before["id"])  # store: false, and the connection is closed
    with sdk.responses.connect() as connection:
        connection.send({**TURN, "input": "Again?", "previous_response_id": after["id"]})
        [error] = until_end(connection)
    assert error["status"] == 400 and error["error"]["code"] == "previous_response_not_found"


def test_bad_messages_get_errors_and_the_connection_goes_on(sdk: openai.OpenAI) -> None:
    with sdk.responses.connect() as connection:
        connection.send_raw("not json")
        [bad_json] = until_end(connection)
        connection.send({"type": "response.cancel"})  # type: ignore[typeddict-item]
        [bad_type] = until_end(connection)
        connection.send({**TURN, "input": "Hi", "background": True})
        [background] = until_end(connection)
        connection.send({**TURN, "input": "Say hi."})
        events = until_end(connection)
    assert bad_json["status"] == 400 and bad_type["error"]["param"] == "type"
    assert background["error"]["param"] == "background"
    assert events[-1]["type"] in ("response.completed", "response.incomplete")
    assert events[-1]["response"]["store"] is True


@pytest.fixture
def keyed(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[str]:
    runtime = Runtime(Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: real_engine)  # fmt: skip
    try:
        with BackgroundServer(create_app(runtime, api_key="sk-local")) as server:
            yield server.base_url.replace("http://", "ws://") + "/responses"
    finally:
        runtime.close()


def test_the_handshake_is_guarded(keyed: str) -> None:
    good = {"Authorization": "Bearer sk-local"}
    refused = [{}, {"Authorization": "Bearer wrong"}, {**good, "Origin": "http://evil.example"}]
    for headers in refused:
        with pytest.raises(InvalidStatus) as info:
            connect(keyed, additional_headers=headers, open_timeout=10)
        assert info.value.response.status_code == 403, headers
    own = "http://" + keyed.split("/")[2]
    with connect(keyed, additional_headers={**good, "Origin": own}, open_timeout=10) as ws:
        ws.send(json.dumps({**TURN, "input": "Hi", "service_tier": "priority"}))
        error = json.loads(ws.recv(timeout=30))
    assert error["type"] == "error" and error["error"]["param"] == "service_tier"
