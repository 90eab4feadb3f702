"""Persistence: a second process reads what the first wrote; kill -9 mid-run is recovered at start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from openai.types.beta.assistant import Assistant

from offline_assistants import Client, DataDirLockedError
from offline_assistants.store.migrations import MIGRATIONS

from .conftest import ENDLESS

DUMP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from offline_assistants import Client
    with Client(data_dir=sys.argv[1]) as c:
        thread_id, run_id, assistant_id = sys.argv[2:5]
        out = {
            "assistant": c.beta.assistants.retrieve(assistant_id).model_dump_json(by_alias=True),
            "thread": c.beta.threads.retrieve(thread_id).model_dump_json(by_alias=True),
            "messages": [m.model_dump_json(by_alias=True) for m in c.beta.threads.messages.list(thread_id=thread_id)],
            "run": c.beta.threads.runs.retrieve(run_id, thread_id=thread_id).model_dump_json(by_alias=True),
            "steps": [s.model_dump_json(by_alias=True) for s in c.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run_id)],
        }
    print(json.dumps(out))
    """
)


def run_python(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_second_process_reads_everything_identical(client: Client, tutor: Assistant) -> None:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What is 7 * 6?"}], metadata={"k": "v"}
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=tutor.id,
        max_completion_tokens=20,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "n", "schema": {"type": "object"}},
        },
        truncation_strategy={"type": "last_messages", "last_messages": 4},
    )
    expected = {
        "assistant": tutor.model_dump_json(by_alias=True),
        "thread": thread.model_dump_json(by_alias=True),
        "messages": [
            m.model_dump_json(by_alias=True)
            for m in client.beta.threads.messages.list(thread_id=thread.id)
        ],
        "run": run.model_dump_json(by_alias=True),
        "steps": [
            s.model_dump_json(by_alias=True)
            for s in client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
        ],
    }
    data_dir = str(client.settings.data_dir)
    client.close()
    seen = json.loads(run_python(DUMP_SCRIPT, data_dir, thread.id, run.id, tutor.id))
    assert seen == expected
    assert '"schema":{"type":"object"}' in seen["run"].replace(" ", "")


def test_second_client_on_the_same_data_dir_gets_a_clear_error(client: Client) -> None:
    with pytest.raises(DataDirLockedError) as caught:
        Client(data_dir=client.settings.data_dir)
    assert str(os.getpid()) in caught.value.message
    assert "OFFLINE_ASSISTANTS_DATA_DIR" in caught.value.message
    # The first client is unaffected.
    assert client.beta.threads.create().id


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    with Client(data_dir=tmp_path) as c:
        rows = c.runtime.store.db.fetchall(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        )
    assert rows == [(version, fn.__name__) for version, fn in MIGRATIONS]
    with Client(data_dir=tmp_path) as c:
        again = c.runtime.store.db.fetchall("SELECT version FROM schema_migrations")
    assert len(again) == len(MIGRATIONS)


KILLED_SCRIPT = textwrap.dedent(
    """
    import sys
    from offline_assistants import Client
    c = Client(data_dir=sys.argv[1])
    a = c.beta.assistants.create(model="default", temperature=0)
    run = c.beta.threads.create_and_run(
        assistant_id=a.id, thread={"messages": [{"role": "user", "content": sys.argv[2]}]}
    )
    with c.runtime.bus.subscribe(run.id) as events:
        deltas = 0
        while deltas < 3:
            event = events.get(timeout=60)
            deltas += event is not None and event.event == "thread.message.delta"
    print(run.id, run.thread_id, flush=True)
    import time
    time.sleep(600)
    """
)


def test_kill_9_during_a_run_then_recovery(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SCRIPT, str(data_dir), ENDLESS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        run_id, thread_id = line.split()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)

    with Client(data_dir=data_dir) as client:
        assert client.runtime.recovered == [run_id]
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "failed" and run.failed_at is not None
        assert run.last_error is not None and run.last_error.code == "server_error"
        assert "killed" in run.last_error.message
        message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
        assert message.role == "assistant" and message.status == "incomplete"
        assert message.incomplete_details is not None
        assert message.incomplete_details.reason == "run_failed"
        step = client.beta.threads.runs.steps.list(thread_id=thread_id, run_id=run_id).data[0]
        assert step.status == "failed"
        # The thread is usable again: it takes new messages.
        client.beta.threads.messages.create(thread_id=thread_id, role="user", content="again")
    with Client(data_dir=data_dir) as client:
        assert client.runtime.recovered == []  # recovery touched only what was stuck


STREAMING_SCRIPT = textwrap.dedent(
    """
    import sys
    from offline_assistants import Client
    c = Client(data_dir=sys.argv[1])
    a = c.beta.assistants.create(model="default", temperature=0)
    t = c.beta.threads.create(messages=[{"role": "user", "content": sys.argv[2]}])
    print(t.id, flush=True)
    with c.beta.threads.runs.stream(thread_id=t.id, assistant_id=a.id) as stream:
        for text in stream.text_deltas:
            sys.stdout.write(text.replace("\\n", " "))
            sys.stdout.flush()
    """
)


def test_kill_9_mid_stream_keeps_everything_the_client_saw(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-c", STREAMING_SCRIPT, str(data_dir), ENDLESS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    thread_id = process.stdout.readline().decode().strip()
    seen = b""
    try:
        while len(seen) < 300:  # a few hundred characters in: well past the last flush
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, process.stderr.read() if process.stderr else ""
            seen += chunk
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    with Client(data_dir=data_dir) as client:
        message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
        stored = message.content[0].text.value.replace("\n", " ")  # type: ignore[union-attr]
    assert message.status == "incomplete"
    assert stored.startswith(seen.decode(errors="ignore"))


def test_a_failed_start_releases_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "files").write_text("a file where the uploads directory goes")
    with pytest.raises(FileExistsError):
        Client(data_dir=data)  # the store opens, then cannot make its files directory
    (data / "code_interpreter").write_text("in the way of the kernels' directory")
    (data / "files").unlink()
    with pytest.raises(FileExistsError):
        Client(data_dir=data)  # fails later on: the runtime stops what it started
    (data / "code_interpreter").unlink()
    with Client(data_dir=data) as client:  # neither left the database or its lock behind
        assert client.beta.assistants.list().data == []
