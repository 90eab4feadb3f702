"""The Assistants overview before tools, end to end, with the real model and a real DuckDB file."""

from __future__ import annotations

from openai.types.beta.assistant import Assistant
from openai.types.beta.thread import Thread
from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from offline_assistants import Client
from offline_assistants.runs.prompt import build_prompt, conversation

from .conftest import EQUATION, MATH_TUTOR


def test_math_tutor_walkthrough(client: Client) -> None:
    assistant = client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_TUTOR, model="default", temperature=0
    )
    assert isinstance(assistant, Assistant)
    thread = client.beta.threads.create()
    assert isinstance(thread, Thread)
    user = client.beta.threads.messages.create(thread_id=thread.id, role="user", content=EQUATION)
    assert isinstance(user, Message) and user.content[0].text.value == EQUATION  # type: ignore[union-attr]

    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    # "queued", not the finished run: create returned before the worker started it.
    assert isinstance(run, Run) and run.status == "queued"
    assert run.instructions == MATH_TUTOR and run.model == "default"

    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed", run.last_error
    assert run.started_at is not None and run.completed_at is not None

    messages = client.beta.threads.messages.list(thread_id=thread.id)
    assert [m.role for m in messages.data] == ["assistant", "user"]  # newest first
    reply = messages.data[0]
    assert reply.status == "completed" and reply.run_id == run.id
    assert reply.assistant_id == assistant.id
    text = reply.content[0].text.value  # type: ignore[union-attr]
    assert text.strip()

    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    assert len(steps.data) == 1
    step = steps.data[0]
    assert isinstance(step, RunStep)
    assert step.type == "message_creation" and step.status == "completed"
    assert step.step_details.message_creation.message_id == reply.id  # type: ignore[union-attr]

    # Usage counts come from the model's own tokenizer.
    engine = client.runtime.engines.get(client.settings.default_model)
    prompt = build_prompt(engine, run, None, conversation([(0, user)], [], run.id))
    assert prompt is not None
    assert run.usage is not None
    assert run.usage.prompt_tokens == len(prompt.tokens)
    assert run.usage.completion_tokens > 0
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    assert step.usage is not None and step.usage.model_dump() == run.usage.model_dump()


def test_create_and_poll_and_three_turns(client: Client, tutor: Assistant) -> None:
    thread = client.beta.threads.create()
    for turn, question in enumerate(["What is 2 + 2?", "And 3 + 3?", "Thanks! What about 10 - 4?"]):
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=question)
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=40
        )
        assert run.status in ("completed", "incomplete")
        assert run.usage is not None
        messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
        assert len(messages.data) == 2 * (turn + 1)
    # Later turns see the earlier ones: the prompt grows with the thread.
    runs = client.beta.threads.runs.list(thread_id=thread.id, order="asc").data
    prompts = [r.usage.prompt_tokens for r in runs]  # type: ignore[union-attr]
    assert prompts == sorted(prompts) and prompts[0] < prompts[-1]


def test_create_and_run_poll(client: Client, tutor: Assistant) -> None:
    run = client.beta.threads.create_and_run_poll(
        assistant_id=tutor.id,
        thread={"messages": [{"role": "user", "content": EQUATION}]},
        max_completion_tokens=30,
    )
    assert run.status in ("completed", "incomplete")
    messages = client.beta.threads.messages.list(thread_id=run.thread_id)
    assert [m.role for m in messages.data] == ["assistant", "user"]
    assert messages.data[0].run_id == run.id
    filtered = client.beta.threads.messages.list(thread_id=run.thread_id, run_id=run.id)
    assert [m.id for m in filtered.data] == [messages.data[0].id]
