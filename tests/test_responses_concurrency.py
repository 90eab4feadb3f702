"""Concurrent Responses on one conversation or one previous response, through both faces.

Five requests at once on one conversation: exactly one runs, the others get the
400 the Assistants API gives a second run on a busy thread (``active_run``). Four
requests at once answering the same response branch exactly as four sequential
ones do: each sees the same history, token for token (same prompt length, same
answer at temperature 0), and none sees another's input.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from offline_assistants.errors import ConflictError

from .conftest import ENDLESS

TURN = {"model": "default", "temperature": 0, "max_output_tokens": 24}


def at_once(count: int, call: Any) -> list[Any]:
    """``call(i)`` from ``count`` threads at once; each result or the error it raised."""

    def attempt(index: int) -> Any:
        try:
            return call(index)
        except ConflictError as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(attempt, range(count)))


def test_one_response_at_a_time_per_conversation(client: Any) -> None:
    conversation = client.conversations.create()
    long = {**TURN, "max_output_tokens": 240}  # seconds of counting: all five arrive meanwhile
    results = at_once(
        5,
        lambda i: client.responses.create(**long, conversation=conversation.id, input=ENDLESS),
    )
    answered = [r for r in results if not isinstance(r, ConflictError)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert len(answered) == 1 and len(refused) == 4
    # Those refused were refused because one was in progress, never merged into it.
    assert all(r.code == "active_run" and r.param == "conversation" for r in refused)
    items = client.conversations.items.list(conversation.id, order="asc").data
    users = [item for item in items if item.type == "message" and item.role == "user"]
    assert len(users) == len(answered)  # only the answered ones' input is in the conversation


def test_answers_to_one_response_branch_apart(client: Any) -> None:
    root = client.responses.create(**TURN, input="My name is Ada. Remember it.")
    results = at_once(
        4,
        lambda i: client.responses.create(
            **TURN, previous_response_id=root.id, input="What is my name?"
        ),
    )
    assert not [r for r in results if isinstance(r, ConflictError)]
    prompts = {r.usage.input_tokens for r in results}
    answers = {r.output_text for r in results}
    assert len(prompts) == 1 and len(answers) == 1  # the same history, nothing of the others'
    sequential = client.responses.create(
        **TURN, previous_response_id=root.id, input="What is my name?"
    )
    assert sequential.usage.input_tokens in prompts and sequential.output_text in answers
    for response in results:
        inputs = client.responses.input_items.list(response.id).data
        assert [item.content[0].text for item in inputs] == ["What is my name?"]
