"""Runs on a serving engine elsewhere: llama-cpp-python's own server, started here on 127.0.0.1.

The runtime is configured as a user would (``engine_url``; ``serve --engine-url``
for the HTTP face) and driven through both faces. The engine is a real
OpenAI-compatible server serving the default GGUF; the store, tools and prompt
making stay in the runtime. Killing the engine mid-run, asking for a model it
does not serve and a prompt longer than its window all end the run ``failed``
with a ``last_error`` that names the engine and the cause.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, Grammar, Sampling, resolve_model
from offline_assistants.engine.grammar import literal
from offline_assistants.engine.models import RemoteModel
from offline_assistants.engine.remote import RemoteEngine
from offline_assistants.service import Runtime

from .conftest import ENDLESS, EQUATION, MATH_TUTOR
from .http_harness import HttpClient
from .servers import SERVED_NAME, LlamaServer

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


@pytest.fixture(scope="module")
def engine_server(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    with LlamaServer(model_path, tmp_path_factory.mktemp("engine") / "server.log") as server:
        yield server  # type: ignore[misc]


def remote_settings(data_dir: Path, url: str, **given: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, engine_url=url, engine_model=SERVED_NAME, **given)


def open_client(face: str, settings: Settings) -> Any:
    return Client(settings=settings) if face == "python" else HttpClient(Runtime(settings))


@pytest.fixture(params=["python", "http"])
def remote(
    request: pytest.FixtureRequest, tmp_path: Path, engine_server: LlamaServer
) -> Iterator[Any]:
    client = open_client(request.param, remote_settings(tmp_path / "data", engine_server.url))
    try:
        yield client
    finally:
        client.close()


def runtime_of(client: Any) -> Runtime:
    return client.runtime


def answer(client: Any, thread_id: str) -> str:
    message = client.beta.threads.messages.list(thread_id=thread_id, order="desc").data[0]
    assert message.role == "assistant"
    return message.content[0].text.value if message.content else ""


def test_models_lists_what_the_engine_serves(remote: Any) -> None:
    assert [m.id for m in remote.models.list().data] == ["default", SERVED_NAME]
    assert remote.models.retrieve(SERVED_NAME).id == SERVED_NAME


def test_model_names_route_to_what_the_engine_serves(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    """A name the engine lists is asked for by that name; any other (an app's "gpt-4o")
    goes to the configured model, or without one to the first the engine lists. The
    prompt's tokenizer is NAME.gguf from the models directory where there is one."""
    configured = remote_settings(tmp_path / "a", engine_server.url)
    unnamed = Settings.from_env(data_dir=tmp_path / "b", engine_url=engine_server.url)
    for settings in (configured, unnamed):
        with Client(settings=settings) as client:
            for requested in (SERVED_NAME, "default", "gpt-4o"):
                key = resolve_model(requested, settings)
                engine = client.runtime.engines.get(key)
                assert isinstance(engine, RemoteEngine)
                assert engine.model == SERVED_NAME
            gemma = resolve_model("gemma-3-270m-q4_k_m", settings)
            assert isinstance(gemma, RemoteModel)
            assert gemma.tokenizer == settings.models_dir / "gemma-3-270m-q4_k_m.gguf"
            assert resolve_model("gpt-4o", settings) == RemoteModel(
                "gpt-4o", settings.default_model
            )


def test_seed_flow_is_generated_by_the_engine(remote: Any, engine_server: LlamaServer) -> None:
    """The overview's Math Tutor: the answer is the engine's completion of the prompt the
    runtime made (asked of the engine directly, the same text comes back), and the prompt's
    token count is the one the engine counts."""
    tutor = remote.beta.assistants.create(
        name="Math Tutor", instructions=MATH_TUTOR, model="default", temperature=0
    )
    thread = remote.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    run = remote.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=48
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    text = answer(remote, thread.id)
    assert text.strip(), "the engine wrote nothing"

    engine = runtime_of(remote).engines.get(resolve_model("default", remote.runtime.settings))
    assert isinstance(engine, RemoteEngine)
    prompt = engine.prompt_tokens(
        [ChatMessage("system", MATH_TUTOR), ChatMessage("user", EQUATION)]
    )
    assert len(prompt) == run.usage.prompt_tokens
    direct = httpx.post(
        f"{engine_server.url}/completions",
        json={
            **engine.body(
                engine.prompt_text(prompt), 48, Sampling(temperature=0, min_p=0.05), None
            ),
            "stream": False,
        },
        timeout=120,
    ).json()
    assert direct["choices"][0]["text"] == text
    assert direct["usage"]["prompt_tokens"] == run.usage.prompt_tokens
    assert direct["usage"]["completion_tokens"] == run.usage.completion_tokens


def test_function_call_under_required_validates(remote: Any) -> None:
    assistant = remote.beta.assistants.create(
        model=SERVED_NAME,
        instructions="You are a helpful assistant.",
        temperature=0,
        tools=[WEATHER],
    )
    thread = remote.beta.threads.create(
        messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )
    run = remote.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
    )
    assert run.status == "requires_action", run.last_error
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [call.function.name for call in calls] == ["get_weather"]
    for call in calls:
        jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])
    run = remote.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "18°C and sunny"} for call in calls],
    )
    assert run.status == "completed", run.last_error
    assert answer(remote, thread.id).strip()


def test_streaming_delivers_the_engines_tokens_as_they_come(remote: Any) -> None:
    assistant = remote.beta.assistants.create(
        instructions=MATH_TUTOR, model="default", temperature=0
    )
    thread = remote.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    deltas: list[str] = []
    with remote.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=32
    ) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                deltas += [part.text.value for part in event.data.delta.content or () if part.text]
        run = stream.get_final_run()
    assert len(deltas) >= 3
    assert "".join(deltas) == answer(remote, thread.id)
    assert run.usage.completion_tokens >= len(deltas)


def test_cancel_stops_the_engine(remote: Any) -> None:
    assistant = remote.beta.assistants.create(model="default", temperature=0)
    thread = remote.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
    run = remote.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=1500
    )
    wait_for_text(remote, thread.id)
    remote.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    run = poll_until_done(remote, thread.id, run.id)
    assert run.status == "cancelled"
    # The engine stopped too: it answers the next run at once, not after 1500 tokens.
    started = time.monotonic()
    follow = remote.beta.threads.create(messages=[{"role": "user", "content": "Say hi."}])
    done = remote.beta.threads.runs.create_and_poll(
        thread_id=follow.id, assistant_id=assistant.id, max_completion_tokens=8
    )
    assert done.status in ("completed", "incomplete"), done.last_error
    assert time.monotonic() - started < 60


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


def seed_run(client: Any, text: str) -> Any:
    assistant = client.beta.assistants.create(model="default", temperature=0)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=8
    )


def wait_for_text(client: Any, thread_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = client.beta.threads.messages.list(thread_id=thread_id, order="desc").data
        if messages[0].role == "assistant" and messages[0].content:
            return
        time.sleep(0.1)
    raise AssertionError("the engine wrote nothing in time")


def poll_until_done(client: Any, thread_id: str, run_id: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id)
        if run.status not in ("queued", "in_progress", "cancelling"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout:g} s")


def test_lazy_grammar_holds_once_the_marker_is_written(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    """A call grammar waits for its marker: output that completes the marker is generated
    again under the grammar (valid by construction); output that leaves it is free text."""
    with Client(settings=remote_settings(tmp_path / "data", engine_server.url)) as client:
        engine = client.runtime.engines.get(resolve_model("default", client.settings))
        assert isinstance(engine, RemoteEngine)
        prompt = engine.prompt_tokens([ChatMessage("user", "Say hello to Ada.")])
        greedy = Sampling(temperature=0)
        free = "".join(engine.generate(prompt, max_tokens=12, sampling=greedy))
        marker = free.lstrip()[:4]  # what the model writes anyway, as a call marker
        assert len(marker) == 4, free
        constrained = Grammar(f'root ::= {literal(marker)} " ZEBRA"', trigger=marker)
        stream = engine.generate(prompt, max_tokens=12, sampling=greedy, grammar=constrained)
        assert "".join(stream) == marker + " ZEBRA"
        assert stream.finish_reason == "stop"
        elsewhere = Grammar('root ::= "QQQ" [a-z]+', trigger="QQQ")
        stream = engine.generate(prompt, max_tokens=12, sampling=greedy, grammar=elsewhere)
        assert "".join(stream) == free


def test_serve_with_engine_url_as_a_user_starts_it(
    engine_server: LlamaServer, tmp_path: Path
) -> None:
    """``offline-assistants serve --engine-url ... --engine-model ...``, driven by the official
    client: the models are the engine's, and a run is generated there."""
    help_text = subprocess.run(
        [sys.executable, "-m", "offline_assistants", "serve", "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    for option in ("--engine-url", "--engine-model", "--engine-tokenizer", "--engine-constraint", "--chroma-url"):  # fmt: skip
        assert option in help_text
    command = [sys.executable, "-m", "offline_assistants", "serve", "--port", "0"]
    command += ["--data-dir", str(tmp_path), "--engine-url", engine_server.url]
    server = subprocess.Popen(
        [*command, "--engine-model", SERVED_NAME], stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stderr is not None
        said = []
        for line in server.stderr:
            said.append(line)
            if "base_url=" in line:
                break
        assert any(f"generating on {engine_server.url} ({SERVED_NAME})" in line for line in said)
        base_url = said[-1].split('base_url="')[1].split('"')[0]
        sdk = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
        wait_until_up(sdk)
        assert [m.id for m in sdk.models.list()] == ["default", SERVED_NAME]
        run = seed_run(sdk, "Hello!")
        assert run.status in ("completed", "incomplete"), run.last_error
        assert run.usage.completion_tokens > 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def wait_until_up(sdk: openai.OpenAI, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            sdk.beta.assistants.list()
            return
        except openai.APIConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


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


def test_chat_completions_and_responses_use_the_engine(remote: Any) -> None:
    completion = remote.chat.completions.create(
        model=SERVED_NAME,
        messages=[{"role": "user", "content": "Say hello."}],
        max_completion_tokens=8,
        temperature=0,
    )
    assert completion.choices[0].message.content
    assert completion.usage.completion_tokens > 0
    response = remote.responses.create(
        model=SERVED_NAME, input="Say hello.", max_output_tokens=16, temperature=0
    )
    assert response.status in ("completed", "incomplete")
    assert response.output_text
