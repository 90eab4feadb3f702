"""A serving engine that fails: killed mid-run, down, silent, refusing, or unable to constrain.

Each ends the run ``failed`` with a ``last_error`` that names the engine and the
cause, and a restarted engine serves the next run. An engine without
constraints (``constraint="none"``) has its calls checked here: a bad one is
generated again and never handed to the app.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import resolve_model
from offline_assistants.engine.remote import RemoteEngine

from .conftest import ENDLESS, EQUATION, MATH_TUTOR
from .servers import (
    SERVED_NAME,
    WEATHER,
    LlamaServer,
    answer,
    poll_until_done,
    remote_settings,
    seed_run,
    wait_for_text,
)


def test_engine_killed_mid_run_fails_the_run_and_a_restart_serves_again(
    model_path: Path, tmp_path: Path
) -> None:
    server = LlamaServer(model_path, tmp_path / "engine.log")
    server.start()
    try:
        with Client(settings=remote_settings(tmp_path / "data", server.url)) as client:
            assistant = client.beta.assistants.create(model="default", temperature=0)
            thread = client.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
            run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            wait_for_text(client, thread.id)
            server.kill()
            run = poll_until_done(client, thread.id, run.id)
            assert run.status == "failed"
            assert run.last_error.code == "server_error"
            assert server.url in run.last_error.message
            assert "broke off" in run.last_error.message
            message = client.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
            assert message.status == "incomplete" and message.content[0].text.value

            down = client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert down.status == "failed"
            assert f"The engine at {server.url} could not be reached" in down.last_error.message

            server.start()  # the same port, as a restarted engine would be
            client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Stop.")
            again = client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=8
            )
            assert again.status in ("completed", "incomplete"), again.last_error
    finally:
        server.stop()


def test_engine_refusals_name_the_engine_and_the_cause(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        data_dir=tmp_path / "missing", engine_url=engine_server.url, engine_model="no-such-model"
    )
    with Client(settings=settings) as client:
        run = seed_run(client, "Hello")
        assert run.status == "failed"
        assert run.last_error.message == (
            f"The engine at {engine_server.url} does not serve model 'no-such-model' "
            f"(it lists: {SERVED_NAME})."
        )
    # The engine's window (2048 tokens) is smaller than the runtime's: the engine refuses.
    with Client(settings=remote_settings(tmp_path / "long", engine_server.url)) as client:
        run = seed_run(client, "apple " * 3000)
        assert run.status == "failed"
        message = run.last_error.message
        assert message.startswith(f"The engine at {engine_server.url} refused the request")
        assert "HTTP 400" in message and "maximum context length" in message


def test_an_engine_that_never_answers_times_out_with_a_reason(tmp_path: Path) -> None:
    """A listener this test opened that accepts connections and says nothing."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        settings = dataclasses.replace(remote_settings(tmp_path / "data", url), engine_timeout=1.5)
        with Client(settings=settings) as client:
            run = seed_run(client, "Hello")
            assert run.status == "failed"
            assert run.last_error is not None
            assert run.last_error.message.startswith(
                f"The engine at {url} did not answer within 1.5 s"
            )


def test_engine_without_constraints_never_hands_on_a_bad_call(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    """constraint 'none': the output is checked against the call grammar here, generated
    again, and the run fails after the last try. The app never sees the bad call."""
    code = {
        "type": "function",
        "function": {
            "name": "unlock",
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string", "enum": ["zq-7431-xv"]}},
                "required": ["code"],
            },
        },
    }
    settings = remote_settings(tmp_path / "data", engine_server.url, engine_constraint="none")
    with Client(settings=settings) as client:
        assistant = client.beta.assistants.create(model="default", temperature=0, tools=[code])
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Open it."}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
        )
        assert run.status == "failed", run.required_action
        assert "do not match their schemas" in run.last_error.message
        steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
        assert all(step.type != "tool_calls" or step.status == "failed" for step in steps)


def test_without_constraints_a_message_still_streams(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    settings = remote_settings(tmp_path / "data", engine_server.url, engine_constraint="none")
    with Client(settings=settings) as client:
        assistant = client.beta.assistants.create(
            instructions=MATH_TUTOR, model="default", temperature=0, tools=[WEATHER]
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
        deltas: list[str] = []
        with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=24
        ) as stream:
            for event in stream:
                if event.event == "thread.message.delta":
                    deltas += [p.text.value for p in event.data.delta.content or () if p.text]
        assert len(deltas) >= 3
        assert "".join(deltas) == answer(client, thread.id)


def test_call_check_uses_the_grammar(engine_server: LlamaServer, tmp_path: Path) -> None:
    """What constraint 'none' checks with: the model's tokenizer and llama.cpp's grammar."""
    with Client(settings=remote_settings(tmp_path / "data", engine_server.url)) as client:
        engine = client.runtime.engines.get(resolve_model("default", client.settings))
        assert isinstance(engine, RemoteEngine)
        grammar = r'root ::= "{\"a\": " [0-9]+ "}"'
        assert engine.matches(grammar, '{"a": 12}')
        assert not engine.matches(grammar, '{"a": 1')  # not finished
        assert not engine.matches(grammar, '{"a": x}')
        assert not engine.matches(grammar, '{"a": 12}}')
