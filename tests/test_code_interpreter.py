"""The code_interpreter tool in runs: the real model's fibonacci flow, and scripted code for the rest.

The fibonacci test is end to end with the real model and kernel, through both
faces. The other tests script the model's *choice of code* (tests/fakes.py
``ScriptedEngine``) so that they can assert on a specific image, file or
variable; the kernel, the sandbox, the store and the API are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.errors import InvalidRequestError
from offline_assistants.tools.code_interpreter import SandboxedKernel
from offline_assistants.tools.code_interpreter.budget import mounts_under

from .fakes import ScriptedEngine, code_call

FIBONACCI = "Generate the first 20 fibbonaci numbers with code."


def test_fibonacci_flow_with_the_real_model(client: Any, tmp_path: Path) -> None:
    assistant = client.beta.assistants.create(
        model="default",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        temperature=0,
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": FIBONACCI}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "code_interpreter"}
    )
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    assert [s.type for s in steps.data][:1] == ["tool_calls"]
    assert steps.data[-1].type == "message_creation"
    call = steps.data[0].step_details.tool_calls[0]
    assert call.type == "code_interpreter" and call.code_interpreter.input.strip()
    logs = [o.logs for o in call.code_interpreter.outputs if o.type == "logs"]
    # The outputs are what the code really printed: run it again in a fresh kernel.
    with SandboxedKernel(tmp_path / "replay") as replay:
        again = replay.execute(call.code_interpreter.input)
    assert logs == ([again.logs] if again.logs else [])
    answer = client.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    assert answer.role == "assistant" and answer.status == "completed"
    assert answer.id == steps.data[-1].step_details.message_creation.message_id


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[tuple[Client, ScriptedEngine]]:
    """A Client whose model answers what the test scripts."""
    engine = ScriptedEngine()
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine) as c:
        yield c, engine


def _run(client: Client, thread_id: str) -> Any:
    assistant = client.beta.assistants.create(model="default", tools=[{"type": "code_interpreter"}])
    return client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id)


def _code_outputs(client: Client, run: Any) -> list[Any]:
    steps = client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc")
    return [
        call.code_interpreter
        for step in steps.data
        if step.type == "tool_calls"
        for call in step.step_details.tool_calls
    ]


def test_a_plot_becomes_an_image_file(scripted: tuple[Client, ScriptedEngine]) -> None:
    client, engine = scripted
    engine.script(
        [
            code_call("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"),
            "Here is the plot.",
        ]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Plot it."}])
    run = _run(client, thread.id)
    assert run.status == "completed", run.last_error
    [call] = _code_outputs(client, run)
    [image] = [o for o in call.outputs if o.type == "image"]
    png = client.files.content(image.image.file_id).content
    assert png.startswith(b"\x89PNG")
    assert client.files.retrieve(image.image.file_id).purpose == "assistants_output"
    answer = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert [b.type for b in answer.content] == ["image_file", "text"]
    assert answer.content[0].image_file.file_id == image.image.file_id
    assert answer.content[1].text.value == "Here is the plot."


def test_a_written_file_is_cited_with_a_file_path_annotation(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    client, engine = scripted
    engine.script(
        [
            code_call("open('/mnt/data/squares.csv', 'w').write('n,sq\\n2,4\\n')"),
            "Saved as sandbox:/mnt/data/squares.csv for you.",
        ]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Save it."}])
    run = _run(client, thread.id)
    assert run.status == "completed", run.last_error
    text = client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text
    [annotation] = text.annotations
    assert annotation.type == "file_path"
    assert text.value[annotation.start_index : annotation.end_index] == (
        "sandbox:/mnt/data/squares.csv"
    )
    assert client.files.content(annotation.file_path.file_id).content == b"n,sq\n2,4\n"


def test_attached_and_resource_files_are_readable_under_mnt_data(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    client, engine = scripted
    data = client.files.create(file=("data.csv", b"x,y\n1,2\n"), purpose="assistants")
    notes = client.files.create(file=("notes.txt", b"remember 42"), purpose="assistants")
    engine.script(
        [
            code_call(
                "print(open('/mnt/data/data.csv').read())\n"
                "print(open('/mnt/data/notes.txt').read())"
            ),
            "Read both.",
        ]
    )
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Read the files.",
                "attachments": [{"file_id": data.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ],
        tool_resources={"code_interpreter": {"file_ids": [notes.id]}},
    )
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert message.attachments[0].file_id == data.id
    assert client.beta.threads.retrieve(thread.id).tool_resources.code_interpreter.file_ids == [
        notes.id
    ]
    run = _run(client, thread.id)
    assert run.status == "completed", run.last_error
    [call] = _code_outputs(client, run)
    assert call.outputs[0].logs == "x,y\n1,2\n\nremember 42\n"


def test_state_is_kept_across_runs_of_a_thread_not_between_threads(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    client, engine = scripted
    first = client.beta.threads.create(messages=[{"role": "user", "content": "Set x."}])
    engine.script([code_call("x = 41"), "Done."])
    assert _run(client, first.id).status == "completed"
    client.beta.threads.messages.create(first.id, role="user", content="Use x.")
    engine.script([code_call("print(x + 1)"), "42."])
    again = _run(client, first.id)
    assert _code_outputs(client, again)[0].outputs[0].logs == "42\n"
    second = client.beta.threads.create(messages=[{"role": "user", "content": "Use x."}])
    engine.script([code_call("print(x + 1)"), "No x here."])
    other = _run(client, second.id)
    logs = _code_outputs(client, other)[0].outputs[0].logs
    assert "NameError" in logs  # the error is an output the model reads, not a failed run
    assert other.status == "completed"


def test_code_rounds_are_bounded(scripted: tuple[Client, ScriptedEngine]) -> None:
    client, engine = scripted
    engine.script([code_call("print('again')")] * 10 + ["Stopped."])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Loop."}])
    run = _run(client, thread.id)
    assert run.status == "completed"
    assert len(_code_outputs(client, run)) == 4  # then the model had to answer in words


def test_deleting_a_thread_shuts_its_kernel_down(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    client, engine = scripted
    engine.script([code_call("x = 1"), "ok"])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    _run(client, thread.id)
    assert client.runtime.kernels.has_session(thread.id)
    client.beta.threads.delete(thread.id)
    assert not client.runtime.kernels.has_session(thread.id)


def test_bad_file_references_are_400s(client: Any) -> None:
    with pytest.raises(InvalidRequestError) as err:
        client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": ["file-nope"]}})
    assert "file-nope" in err.value.message
    with pytest.raises(InvalidRequestError):
        client.beta.threads.create(
            messages=[
                {
                    "role": "user",
                    "content": "hi",
                    "attachments": [
                        {"file_id": "file-nope", "tools": [{"type": "code_interpreter"}]}
                    ],
                }
            ]
        )
    with pytest.raises(InvalidRequestError) as err:
        client.beta.assistants.create(
            model="default",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": ["vs_nope"]}},
        )
    assert "vs_nope" in err.value.message and err.value.param == "tool_resources"
    assert client.beta.assistants.list().data == []


def test_runtime_killed_leaves_no_kernel_behind(tmp_path: Path) -> None:
    marker = f"oa-orphan-{uuid.uuid4().hex}"
    script = textwrap.dedent(
        f"""
        import sys, time
        from offline_assistants import Client
        client = Client(data_dir={str(tmp_path / "data")!r}, engine_factory=lambda p: None)
        kernels = client.runtime.kernels
        kernels.execute("t", "import subprocess, sys\\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])")
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    assert _processes_with(marker)  # the grandchild is running
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    left = [marker, str(tmp_path / "data")]
    while any(_processes_with(text) for text in left) and time.monotonic() < deadline:
        time.sleep(0.1)  # the sandbox dies with the runtime (on a busy machine, not at once)
    assert _processes_with(marker) == []
    assert _processes_with(str(tmp_path / "data")) == []  # no bwrap, no kernel
    # A killed runtime's /mnt/data mounts (root) go when the data directory is next opened.
    with Client(data_dir=tmp_path / "data", engine_factory=lambda p: None):  # type: ignore[arg-type,return-value]
        assert mounts_under(tmp_path / "data") == []


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def test_streaming_announces_the_code_then_its_output(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    from openai.lib.streaming import AssistantEventHandler

    client, engine = scripted
    engine.script([code_call("print(6 * 7)"), "It is 42."])
    assistant = client.beta.assistants.create(model="default", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
    seen: list[str] = []
    done: list[Any] = []

    class Handler(AssistantEventHandler):
        def on_event(self, event: Any) -> None:
            seen.append(event.event)

        def on_tool_call_done(self, tool_call: Any) -> None:
            done.append(tool_call)

    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Handler()
    ) as stream:
        stream.until_done()
    # The SDK's handler reports the last call done at the step's end and again at the run's.
    assert len({c.id for c in done}) == 1
    call = done[-1]
    assert call.type == "code_interpreter"
    assert call.code_interpreter.input == "print(6 * 7)"
    assert [o.logs for o in call.code_interpreter.outputs] == ["42\n"]
    steps = [e for e in seen if e.startswith("thread.run.step.")]
    assert steps[:3] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
    ]
    assert "thread.run.step.completed" in steps and seen[-1] == "thread.run.completed"


def test_the_model_reads_its_code_and_output_back(
    scripted: tuple[Client, ScriptedEngine],
) -> None:
    import json

    from offline_assistants.runs.prompt import conversation

    client, engine = scripted
    engine.script([code_call("print('x' * 5000)\nprint('end')"), "Long."])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Print."}])
    run = _run(client, thread.id)
    store = client.runtime.store
    units = conversation(
        store.messages.in_thread_with_seq(thread.id), store.steps.in_thread_with_seq(thread.id), ""
    )
    _, (call_turn, output_turn) = units[1]
    [call] = call_turn.tool_calls
    assert call.name == "code_interpreter"
    assert json.loads(call.arguments) == {"code": "print('x' * 5000)\nprint('end')"}
    assert output_turn.role == "tool" and output_turn.tool_call_id == call.id
    # Long output is shortened to its head and tail for the prompt; the step keeps it all.
    assert output_turn.content.startswith("xxx") and output_turn.content.endswith("end")
    assert "[...]" in output_turn.content and len(output_turn.content) < 2100
    assert len(_code_outputs(client, run)[0].outputs[0].logs) == 5005


def test_without_a_sandbox_the_run_fails_saying_why(
    scripted: tuple[Client, ScriptedEngine], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client, engine = scripted
    monkeypatch.setenv("PATH", str(tmp_path))  # bwrap cannot be found
    engine.script([code_call("print(1)"), "never"])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    run = _run(client, thread.id)
    assert run.status == "failed"
    assert run.last_error is not None and "bubblewrap" in run.last_error.message
    [step] = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert step.status == "failed"  # nothing left in progress
