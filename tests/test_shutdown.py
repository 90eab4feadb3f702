"""A script may simply end: a Client nobody closed shuts down cleanly at interpreter exit.

Each script below starts a real-model run whose answer cannot end on its own in time
(conftest.ENDLESS_FORMAT: a grammar asks for millions of characters), and then ends while the model is still
generating: by falling off its last line, or by an uncaught exception. Before the fix
this aborted now and then ("terminate called without an active exception", SIGABRT)
because a thread was still inside llama.cpp while Python finalised; now the runtime
closes at exit, the run ends ``failed`` saying the runtime shut down, and the next
process finds nothing to recover.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from offline_assistants import Client

from .conftest import ENDLESS, ENDLESS_FORMAT

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from offline_assistants import Client
    client = Client(data_dir=sys.argv[1])
    assistant = client.beta.assistants.create(model="default", temperature=0)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": sys.argv[2]}])
    # An answer that cannot end on its own (conftest.ENDLESS_FORMAT): only the exit ends it.
    run = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, response_format=json.loads(sys.argv[4]),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = client.beta.threads.messages.list(thread_id=thread.id).data
        if len(messages) > 1 and messages[0].content:
            break  # the model is writing: its text has been flushed at least once
        time.sleep(0.05)
    print(run.id, thread.id, flush=True)
    if sys.argv[3] == "raise":
        raise RuntimeError("the script failed")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["end", "raise"])
def test_a_script_that_never_closes_its_client_exits_cleanly(tmp_path: Path, ending: str) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), ENDLESS, ending, json.dumps(ENDLESS_FORMAT)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == (1 if ending == "raise" else 0), done.stderr[-3000:]
    for sign in ("terminate called", "Fatal Python error", "Aborted", "Segmentation"):
        assert sign not in done.stderr, done.stderr[-3000:]
    if ending == "raise":
        assert "RuntimeError: the script failed" in done.stderr
    run_id, thread_id = done.stdout.split()
    with Client(data_dir=data) as client:
        assert client.runtime.recovered == []  # closed at exit, not left for recovery
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "failed"
        assert run.last_error is not None and "shut down" in run.last_error.message
        answer = client.beta.threads.messages.list(thread_id=thread_id).data[0]
        assert answer.status == "incomplete" and answer.content[0].text.value  # type: ignore[union-attr]
