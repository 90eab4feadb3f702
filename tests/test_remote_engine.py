"""Runs on a serving engine elsewhere: llama-cpp-python's own server, started here on 127.0.0.1.

The runtime is configured as a user would (``engine_url``; ``serve --engine-url``
for the HTTP face) and driven through both faces. The engine is a real
OpenAI-compatible server serving the default GGUF; the store, tools and prompt
making stay in the runtime. What goes wrong at the engine is
``test_remote_engine_failures.py``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
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
from offline_assistants.engine.engine_cache import RemoteModel
from offline_assistants.engine.grammar import literal
from offline_assistants.engine.remote import RemoteEngine
from offline_assistants.service import Runtime

from .conftest import ENDLESS, EQUATION, MATH_TUTOR
from .http_harness import HttpClient
from .servers import (
    DISCONNECTED,
    SERVED_NAME,
    WEATHER,
    LlamaServer,
    announced,
    answer,
    poll_until_done,
    remote_settings,
    seed_run,
    wait_for_text,
    wait_until_up,
)


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


def test_cancel_stops_the_engine(remote: Any, engine_server: LlamaServer) -> None:
    assistant = remote.beta.assistants.create(model="default", temperature=0)
    thread = remote.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
    run = remote.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=1500
    )
    wait_for_text(remote, thread.id)
    disconnects = engine_server.said(DISCONNECTED)
    remote.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    run = poll_until_done(remote, thread.id, run.id)
    assert run.status == "cancelled"
    # The engine stopped too: it saw the connection close in the middle of its answer
    # (llama_cpp.server then leaves its token loop), and it answers the next run.
    engine_server.wait_for(DISCONNECTED, more_than=disconnects)
    follow = remote.beta.threads.create(messages=[{"role": "user", "content": "Say hi."}])
    done = remote.beta.threads.runs.create_and_poll(
        thread_id=follow.id, assistant_id=assistant.id, max_completion_tokens=8
    )
    assert done.status in ("completed", "incomplete"), done.last_error


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
        # The engine's first answer evaluates the whole prompt, later ones reuse it from its
        # cache: the logits differ in the last bits, enough to flip a near tie at greedy
        # (Q8_0). Warm the cache first so that every answer below starts from the same state.
        "".join(engine.generate(prompt, max_tokens=12, sampling=greedy))
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
        base_url, said = announced(server)
        assert any(f"generating on {engine_server.url} ({SERVED_NAME})" in line for line in said)
        sdk = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
        wait_until_up(sdk)
        assert [m.id for m in sdk.models.list()] == ["default", SERVED_NAME]
        run = seed_run(sdk, "Hello!")
        assert run.status in ("completed", "incomplete"), run.last_error
        assert run.usage.completion_tokens > 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


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
