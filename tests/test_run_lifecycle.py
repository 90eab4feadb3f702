"""Run lifecycle: cancel mid-generation, busy threads, failures, shutdown.

The real model drives cancel mid-generation; a scripted engine (tests/fakes.py)
makes the timing-dependent edge cases deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai.types.beta.assistant import Assistant

from offline_assistants import Client, ConflictError

from .conftest import ENDLESS
from .fakes import GatedEngine


def test_cancel_mid_generation_with_the_real_model(client: Client, tutor: Assistant) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor.id)
    with client.runtime.bus.subscribe(run.id) as events:
        deltas = 0
        while deltas < 5:
            event = events.get(timeout=60)
            assert event is not None, "no tokens arrived"
            deltas += event.event == "thread.message.delta"
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    assert run.usage is not None and 5 <= run.usage.completion_tokens < 1000
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "run_cancelled"
    assert message.content[0].text.value.startswith("1")  # type: ignore[union-attr]
    step = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at is not None


def test_a_run_cancelled_while_the_model_reads_its_prompt_closes_its_message(
    client: Client, tutor: Assistant
) -> None:
    """Without tools the answer can only be a message, so its step and message are written
    while the model reads the prompt: a run cancelled then, before its first token, ends
    cancelled with that message incomplete, never left in progress."""
    long_question = "Please read all of this carefully before you answer. " * 60 + ENDLESS
    thread = client.beta.threads.create(messages=[{"role": "user", "content": long_question}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=tutor.id)
    with client.runtime.bus.subscribe(run.id) as events:
        seen: list[str] = []
        while "thread.message.created" not in seen:
            event = events.get(timeout=60)
            assert event is not None, f"no message was opened; saw {seen}"
            seen.append(event.event)
    assert "thread.message.delta" not in seen  # opened before any token came
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled"
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert message.role == "assistant" and message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "run_cancelled"
    step = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data[0]
    assert step.status == "cancelled"


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[Client, GatedEngine, Assistant]]:
    engine = GatedEngine(["Hel", "lo", " there", "!"])
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine) as c:
        assistant = c.beta.assistants.create(model="default")
        yield c, engine, assistant
        engine.release(100)


def test_polling_sees_text_while_the_run_is_in_progress(
    gated: tuple[Client, GatedEngine, Assistant],
) -> None:
    client, engine, assistant = gated
    client.runtime.settings.__dict__["message_flush_interval"] = 0.0  # flush every token
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    engine.release(2)
    with client.runtime.bus.subscribe(run.id) as events:
        while engine.emitted < 2:
            events.get(timeout=5)
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
    partial = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert partial.status == "in_progress"
    engine.release(2)
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed"
    final = client.beta.threads.messages.retrieve(partial.id, thread_id=thread.id)
    assert final.content[0].text.value == "Hello there!"  # type: ignore[union-attr]
    assert final.status == "completed" and final.completed_at is not None


def test_a_thread_with_an_active_run_takes_no_new_message_or_run(
    gated: tuple[Client, GatedEngine, Assistant],
) -> None:
    client, engine, assistant = gated
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert engine.started.wait(10)
    with pytest.raises(ConflictError) as caught:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")
    assert run.id in caught.value.message and caught.value.status_code == 400
    with pytest.raises(ConflictError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    engine.release(10)
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "completed"
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")


def test_cancel_a_run_waiting_for_the_model_leaves_the_other_run_alone(
    gated: tuple[Client, GatedEngine, Assistant],
) -> None:
    client, engine, assistant = gated
    busy = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    first = client.beta.threads.runs.create(thread_id=busy.id, assistant_id=assistant.id)
    assert engine.started.wait(10)
    waiting = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    second = client.beta.threads.runs.create(thread_id=waiting.id, assistant_id=assistant.id)
    assert second.status == "queued"
    cancelled = client.beta.threads.runs.cancel(second.id, thread_id=waiting.id)
    assert cancelled.status in ("cancelling", "cancelled")
    engine.release(10)
    done = client.beta.threads.runs.poll(first.id, thread_id=busy.id)
    assert done.status == "completed"
    assert client.beta.threads.runs.poll(second.id, thread_id=waiting.id).status == "cancelled"
    answer = client.beta.threads.messages.list(thread_id=busy.id).data[0]
    assert answer.content[0].text.value == "".join(engine.pieces)  # type: ignore[union-attr]


def test_an_engine_failure_fails_the_run_and_closes_its_message(tmp_path: Path) -> None:
    engine = GatedEngine(["a", "b", "c"], fail_at=2)
    engine.release(10)
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine) as client:
        assistant = client.beta.assistants.create(model="default")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "failed" and run.failed_at is not None
        assert run.last_error is not None and run.last_error.code == "server_error"
        assert "scripted engine failure" in run.last_error.message
        message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
        assert message.status == "incomplete"
        assert message.incomplete_details is not None
        assert message.incomplete_details.reason == "run_failed"
        assert message.content[0].text.value == "ab"  # type: ignore[union-attr]
        step = client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id).data[0]
        assert step.status == "failed" and step.last_error is not None
        # The worker survives: the next run on a new thread works.
        engine.fail_at = None
        engine.release(10)
        again = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert again.status == "completed"


def test_a_model_that_fails_to_load_fails_the_run(tmp_path: Path) -> None:
    def broken(path: Path) -> GatedEngine:
        raise OSError(f"cannot map {path}")

    with Client(data_dir=tmp_path / "data", engine_factory=broken) as client:
        assistant = client.beta.assistants.create(model="default")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
        )
        assert run.status == "failed" and run.last_error is not None
        assert "cannot map" in run.last_error.message


def test_closing_the_client_fails_unfinished_runs(tmp_path: Path) -> None:
    engine = GatedEngine(["x"] * 50)
    client = Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine)
    assistant = client.beta.assistants.create(model="default")
    running = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert engine.started.wait(10)
    second = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    engine.release(1)
    closer = __import__("threading").Thread(target=client.close)
    closer.start()
    engine.release(100)
    closer.join(30)
    with Client(data_dir=tmp_path / "data", engine_factory=lambda path: engine) as reopened:
        for run in (running, second):  # each generating, or waiting for the model
            stored = reopened.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
            assert stored.status == "failed", stored
            assert stored.last_error is not None
            assert "The runtime shut down" in stored.last_error.message
        assert reopened.runtime.recovered == []  # nothing was left for recovery
