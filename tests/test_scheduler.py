"""Many runs at once, with the real model: none waits behind another's tool, and
concurrent generations are decoded together with the same text they have alone.

Each test uses a runtime of its own (real model, real DuckDB file, real Chroma
directory); the batch holds ``parallel`` generations.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai.types.beta.threads.run import Run

from offline_assistants import Client
from offline_assistants.config import Settings

from .conftest import ENDLESS, ENDLESS_FORMAT
from .documents import PDF

QUESTIONS = [
    "What is 2 plus 2?",
    "Name a colour of the sky.",
    "What is the capital of France?",
    "Say hello in Spanish.",
    "What is 7 times 8?",
    "Describe a cat in one sentence.",
    "Count to five.",
    "Which is bigger, 3 or 9?",
]


def _settings(data: Path, parallel: int) -> Settings:
    return dataclasses.replace(Settings.from_env(data_dir=data), n_ctx=2048, parallel=parallel)


@pytest.fixture
def batched(tmp_path: Path) -> Iterator[Client]:
    with Client(settings=_settings(tmp_path / "data", 8)) as client:
        yield client


def _answer(client: Client, run: Run) -> str:
    message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
    assert message.role == "assistant" and message.run_id == run.id
    return "".join(b.text.value for b in message.content if b.type == "text")


def _start(client: Client, assistant_id: str, question: str, **options: object) -> Run:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    run: Run = client.beta.threads.runs.create(
        thread_id=thread.id,
        assistant_id=assistant_id,
        **options,  # type: ignore[arg-type]
    )
    return run


def test_eight_runs_at_once_complete_with_their_solo_text(batched: Client) -> None:
    client = batched
    assistant = client.beta.assistants.create(model="default", temperature=0)
    solo = []
    for question in QUESTIONS:  # one at a time: each alone in the batch
        run = _start(client, assistant.id, question, max_completion_tokens=40)
        run = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
        solo.append((run, _answer(client, run)))
    engine = client.runtime.engines.get(client.runtime.settings.default_model)
    decodes_before = engine.batcher.decodes  # type: ignore[attr-defined]
    runs = [_start(client, assistant.id, q, max_completion_tokens=40) for q in QUESTIONS]
    done = [client.beta.threads.runs.poll(r.id, thread_id=r.thread_id) for r in runs]
    decodes = engine.batcher.decodes - decodes_before  # type: ignore[attr-defined]
    generated = 0
    for (alone, text), run in zip(solo, done, strict=True):
        assert run.status == alone.status and run.status in ("completed", "incomplete")
        assert run.usage is not None and alone.usage is not None
        assert run.usage.completion_tokens == alone.usage.completion_tokens
        assert run.usage.prompt_tokens == alone.usage.prompt_tokens
        assert _answer(client, run) == text  # same tokens, nothing from another thread
        generated += run.usage.completion_tokens
    # Shared batches: far fewer decodes than one per generated token.
    assert decodes < 0.5 * generated, (decodes, generated)


def test_a_run_completes_while_another_waits_for_ingestion(batched: Client) -> None:
    client = batched
    embedder = client.runtime.embedder
    embedder._busy.__enter__()  # ingestion cannot embed until the test lets it
    try:
        with PDF.open("rb") as handle:
            paper = client.files.create(file=handle, purpose="assistants")
        store = client.vector_stores.create(name="paper", file_ids=[paper.id])
        researcher = client.beta.assistants.create(
            model="default",
            temperature=0,
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        waiting = _start(client, researcher.id, "What is the Transformer?")
        plain = client.beta.assistants.create(model="default", temperature=0)
        other = _start(client, plain.id, QUESTIONS[2], max_completion_tokens=40)
        other = client.beta.threads.runs.poll(other.id, thread_id=other.thread_id)
        assert other.status in ("completed", "incomplete") and _answer(client, other)
        still = client.beta.threads.runs.retrieve(waiting.id, thread_id=waiting.thread_id)
        assert still.status == "in_progress"  # its file_search waits for the document
        assert client.vector_stores.retrieve(store.id).file_counts.in_progress == 1
    finally:
        embedder._busy.__exit__()
    done = client.beta.threads.runs.poll(
        waiting.id, thread_id=waiting.thread_id, poll_interval_ms=500
    )
    assert done.status in ("completed", "incomplete")
    steps = client.beta.threads.runs.steps.list(
        thread_id=done.thread_id,
        run_id=done.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ).data
    searches = [
        call
        for step in steps
        if step.step_details.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "file_search"
    ]
    assert len(searches) == 1 and searches[0].file_search.results  # searched once ingested


def test_cancelling_one_run_of_a_batch_leaves_the_others_untouched(batched: Client) -> None:
    client = batched
    assistant = client.beta.assistants.create(model="default", temperature=0)
    alone = _start(client, assistant.id, ENDLESS, max_completion_tokens=120)
    alone = client.beta.threads.runs.poll(alone.id, thread_id=alone.thread_id)
    expected = _answer(client, alone)
    runs = [_start(client, assistant.id, ENDLESS, max_completion_tokens=120) for _ in range(4)]
    victim = runs[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the victim has written something
        messages = client.beta.threads.messages.list(thread_id=victim.thread_id).data
        if messages[0].role == "assistant":
            break
        time.sleep(0.05)
    cancelled = client.beta.threads.runs.cancel(victim.id, thread_id=victim.thread_id)
    assert cancelled.status in ("cancelling", "cancelled")
    final = [client.beta.threads.runs.poll(r.id, thread_id=r.thread_id) for r in runs]
    assert final[1].status == "cancelled"
    cut = client.beta.threads.messages.list(thread_id=victim.thread_id).data[0]
    assert cut.status == "incomplete"
    assert len(_answer(client, final[1])) < len(expected)
    for run in final[:1] + final[2:]:
        assert run.status == alone.status
        assert run.usage is not None and alone.usage is not None
        assert run.usage.completion_tokens == alone.usage.completion_tokens
        assert _answer(client, run) == expected


def test_more_runs_than_slots_wait_their_turn(tmp_path: Path) -> None:
    with Client(settings=_settings(tmp_path / "data", 2)) as client:
        assistant = client.beta.assistants.create(model="default", temperature=0)
        runs = [_start(client, assistant.id, q, max_completion_tokens=24) for q in QUESTIONS[:5]]
        done = [client.beta.threads.runs.poll(r.id, thread_id=r.thread_id) for r in runs]
        assert all(r.status in ("completed", "incomplete") for r in done)
        assert all(_answer(client, r) for r in done)
        engine = client.runtime.engines.get(client.runtime.settings.default_model)
        assert engine.parallel == 2  # type: ignore[attr-defined]


SEVERAL_SCRIPT = textwrap.dedent(
    """
    import sys
    from offline_assistants import Client
    c = Client(data_dir=sys.argv[1])
    a = c.beta.assistants.create(model="default", temperature=0)
    # Load the model first: llama.cpp's loader silences this process's stdout meanwhile.
    c.beta.threads.create_and_run_poll(
        assistant_id=a.id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        max_completion_tokens=2,
    )
    runs = []
    for _ in range(int(sys.argv[3])):
        t = c.beta.threads.create(messages=[{"role": "user", "content": sys.argv[2]}])
        runs.append(c.beta.threads.runs.create(thread_id=t.id, assistant_id=a.id))
    import time
    # Every slot generating, the other runs queued for one.
    slots = min(len(runs), c.runtime.settings.parallel)
    while [c.beta.threads.runs.retrieve(r.id, thread_id=r.thread_id).status
           for r in runs].count("in_progress") < slots:
        time.sleep(0.05)
    for r in runs:
        print(r.id, r.thread_id, flush=True)
    time.sleep(600)
    """
)


def test_kill_9_with_several_runs_in_flight_leaves_none_stuck(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    count = 5  # more than the default slots: some generate, some are queued for a slot
    process = subprocess.Popen(
        [sys.executable, "-c", SEVERAL_SCRIPT, str(data_dir), ENDLESS, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(count)]
        assert all(lines), process.stderr.read() if process.stderr else ""
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    pairs = [line.split() for line in lines]
    with Client(data_dir=data_dir) as client:
        assert sorted(client.runtime.recovered) == sorted(run_id for run_id, _ in pairs)
        for run_id, thread_id in pairs:
            run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status == "failed" and run.last_error is not None
        assert not client.runtime.store.runs.active()


def test_runs_from_many_client_threads_at_once(batched: Client) -> None:
    """Twelve callers of the Python API at once (more than the batch holds)."""
    client = batched
    assistant = client.beta.assistants.create(model="default", temperature=0)
    results: list[Run] = []
    errors: list[BaseException] = []

    def caller(question: str) -> None:
        try:
            thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
            results.append(
                client.beta.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=16
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    callers = [threading.Thread(target=caller, args=(q,)) for q in QUESTIONS + QUESTIONS[:4]]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join(300)
    assert not errors and len(results) == 12
    assert all(r.status in ("completed", "incomplete") for r in results)
    assert len({r.thread_id for r in results}) == 12


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def test_streams_and_function_calls_in_one_batch(batched: Client) -> None:
    """Streams deliver each run's own text; calls made under their grammar validate."""
    client = batched
    plain = client.beta.assistants.create(model="default", temperature=0)
    caller = client.beta.assistants.create(
        model="default",
        temperature=0,
        tools=[WEATHER],
    )
    streamed: dict[str, str] = {}

    def stream(question: str) -> None:
        thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
        with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=plain.id, max_completion_tokens=40
        ) as events:
            streamed[thread.id] = "".join(events.text_deltas)

    streams = [threading.Thread(target=stream, args=(q,)) for q in QUESTIONS[:3]]
    for thread in streams:
        thread.start()
    calls = [
        _start(
            client,
            caller.id,
            f"What is the weather in {city}?",
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
        for city in ("Paris", "Oslo", "Lima")
    ]
    for thread in streams:
        thread.join(300)
    assert len(streamed) == 3
    for thread_id, text in streamed.items():
        message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
        assert message.content[0].text.value == text  # type: ignore[union-attr]
    for run in calls:
        run = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
        assert run.status == "requires_action", run.last_error
        assert run.required_action is not None
        for call in run.required_action.submit_tool_outputs.tool_calls:
            assert call.function.name == "get_weather"
            arguments = json.loads(call.function.arguments)
            assert set(arguments) == {"city"} and isinstance(arguments["city"], str)


def _until(check: object, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


def test_a_run_waiting_for_the_model_is_queued_and_a_stream_opens_at_once(
    tmp_path: Path,
) -> None:
    """Under load every request waited with its run ``in_progress`` and its stream silent:
    a run is ``queued`` until the model has a slot for it, and a streamed response's
    ``response.created`` (status ``queued``) comes at once, ``in_progress`` when it starts."""
    with Client(settings=_settings(tmp_path / "data", 1)) as client:
        assistant = client.beta.assistants.create(model="default", temperature=0)
        holder = _start(client, assistant.id, ENDLESS, response_format=ENDLESS_FORMAT)

        def status(run: Run) -> str:
            return client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).status

        _until(lambda: status(holder) == "in_progress", "the first run to hold the slot")
        batcher = client.runtime.engines.get(client.runtime.settings.default_model).batcher  # type: ignore[attr-defined]
        waiting = _start(client, assistant.id, QUESTIONS[0], max_completion_tokens=8)
        _until(lambda: len(batcher._waiting) == 1, "the second run to wait for the slot")
        assert status(waiting) == "queued"
        stream = iter(
            client.responses.create(
                model="default", input="Say hi.", max_output_tokens=16, stream=True
            )
        )
        first = next(stream)
        assert first.type == "response.created" and first.response.status == "queued"
        _until(lambda: len(batcher._waiting) == 2, "the response to wait for the slot")
        client.beta.threads.runs.cancel(holder.id, thread_id=holder.thread_id)
        rest = list(stream)
        assert rest[0].type == "response.in_progress", [e.type for e in rest]
        assert rest[-1].type in ("response.completed", "response.incomplete")
        assert any(e.type == "response.output_text.delta" for e in rest)
        done = client.beta.threads.runs.poll(waiting.id, thread_id=waiting.thread_id)
        assert done.status in ("completed", "incomplete") and done.started_at is not None
