"""Code Interpreter in the Responses API, and the Containers API, through both faces.

The real model writes and streams a code call; where a test needs a particular
choice of code (a file written, state kept) the model's choice is scripted, with
the kernel, store and API real. Containers list and serve what the code wrote,
and a created container keeps files and state across unrelated responses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.errors import InvalidRequestError, NotFoundError
from offline_assistants.service import Runtime

from .fakes import ScriptedEngine, code_call
from .http_harness import HttpClient


def test_code_interpreter_streams_its_call(client: Any) -> None:
    events = list(
        client.responses.create(
            model="default",
            input="Calculate 123 * 456 using code.",  # a cell with logs in Q4_1 and Q8_0
            tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
            tool_choice={"type": "code_interpreter"},
            include=["code_interpreter_call.outputs"],
            stream=True,
            temperature=0,
            max_output_tokens=300,
        )
    )
    kinds = [e.type for e in events]
    start = kinds.index("response.code_interpreter_call.in_progress")
    code_deltas = [e.delta for e in events if e.type == "response.code_interpreter_call_code.delta"]
    done = kinds.index("response.code_interpreter_call_code.done")
    assert start < done and code_deltas
    assert kinds[done : done + 3] == [
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ]
    call = events[-1].response.output[0]
    assert call.type == "code_interpreter_call" and call.code == "".join(code_deltas)
    assert call.container_id.startswith("cntr_")
    assert call.outputs and call.outputs[0].type == "logs"


@pytest.fixture(params=["python", "http"])
def scripted(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Any, ScriptedEngine]]:
    """Both faces over a runtime whose model's choices are scripted (kernel, store and API
    real)."""
    engine = ScriptedEngine()
    if request.param == "python":
        with Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine) as client:
            yield client, engine
        return
    runtime = Runtime(
        Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda path: engine
    )
    http = HttpClient(runtime)
    try:
        yield http, engine
    finally:
        http.close()


def test_a_written_file_is_a_container_file(scripted: tuple[Any, ScriptedEngine]) -> None:
    client, engine = scripted
    engine.script(
        [
            code_call("open('/mnt/data/squares.csv', 'w').write('n,sq\\n2,4\\n')"),
            "Saved as sandbox:/mnt/data/squares.csv for you.",
        ]
    )
    response = client.responses.create(
        model="default",
        input="Save the squares.",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    )
    call, message = response.output
    part = message.content[0]
    [annotation] = part.annotations
    assert annotation.type == "container_file_citation"
    assert annotation.container_id == call.container_id
    assert annotation.filename == "squares.csv"
    link = part.text[annotation.start_index : annotation.end_index]
    assert link == "sandbox:/mnt/data/squares.csv"
    container = client.containers.retrieve(call.container_id)
    assert container.status == "running"
    [listed] = client.containers.files.list(call.container_id).data
    assert listed.id == annotation.file_id and listed.path == "/mnt/data/squares.csv"
    assert listed.source == "assistant" and listed.bytes == 9
    content = client.containers.files.content.retrieve(
        annotation.file_id, container_id=call.container_id
    )
    assert content.read() == b"n,sq\n2,4\n"
    assert client.files.content(annotation.file_id).content == b"n,sq\n2,4\n"


def test_a_created_container_holds_files_and_state(scripted: tuple[Any, ScriptedEngine]) -> None:
    """Two separate responses name one container: its file is readable, and what the first
    left in the kernel the second still sees."""
    client, engine = scripted
    data = client.files.create(file=("numbers.txt", b"7 11 13"), purpose="assistants")
    container = client.containers.create(name="scratch", file_ids=[data.id])
    assert container.id.startswith("cntr_") and container.name == "scratch"
    assert [c.id for c in client.containers.list().data] == [container.id]
    tool = {"type": "code_interpreter", "container": container.id}
    engine.script(
        [
            code_call("total = sum(map(int, open('/mnt/data/numbers.txt').read().split()))"),
            "Done.",
        ]
    )
    first = client.responses.create(model="default", input="Add them up.", tools=[tool])
    assert first.output[0].container_id == container.id
    engine.script([code_call("print(total * 2)"), "It is 62."])
    second = client.responses.create(
        model="default",
        input="Double it.",
        tools=[tool],
        include=["code_interpreter_call.outputs"],
    )
    assert second.output[0].outputs[0].logs.strip() == "62"
    [given] = client.containers.files.list(container.id).data
    assert given.id == data.id and given.source == "user"
    with pytest.raises(InvalidRequestError) as info:
        client.containers.create(
            name="net", network_policy={"type": "allowlist", "allowed_domains": ["x.org"]}
        )
    assert info.value.param == "network_policy"
    client.containers.delete(container.id)
    with pytest.raises(NotFoundError):
        client.containers.retrieve(container.id)
    with pytest.raises(NotFoundError):
        client.responses.create(model="default", input="Again.", tools=[tool])


def test_a_memory_limit_the_sandbox_cannot_give_is_refused(client: Any) -> None:
    """The sandbox caps memory at 2 GiB: '1g' is honoured (and echoed), larger hosted sizes
    are a 400 naming the parameter rather than a promise the sandbox would not keep."""
    small = client.containers.create(name="small", memory_limit="1g")
    assert small.memory_limit == "1g"
    for size in ("4g", "16g", "64g"):
        with pytest.raises(InvalidRequestError) as info:
            client.containers.create(name="big", memory_limit=size)
        assert info.value.param == "memory_limit" and "2 GiB" in info.value.message
