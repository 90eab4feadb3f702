"""A stored response's events, replayed past ``starting_after`` and followed live, both faces.

``retrieve(id, stream=True, starting_after=N)`` is how a client resumes a
background response after its connection dropped: it must get exactly the events
it missed, numbered on from N, then the rest as they are made, ending as the
response ends. A stored response streamed or created whole replays the very
events a live stream got.
"""

from __future__ import annotations

from typing import Any

import pytest

from offline_assistants.errors import InvalidRequestError

from .conftest import ENDLESS

ENDINGS = ("response.completed", "response.incomplete", "response.failed")


def dumped(events: Any) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", exclude_unset=True) for e in events]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


def test_a_background_stream_resumes_where_it_dropped(client: Any) -> None:
    stream = client.responses.create(
        model="default", input=ENDLESS, background=True, stream=True, temperature=0,
        max_output_tokens=60,
    )  # fmt: skip
    seen = []
    for event in stream:
        seen.append(event.model_dump(mode="json", exclude_unset=True))
        if len(seen) == 6:
            break
    stream.close()  # the connection drops; the response goes on in the background
    response_id = seen[0]["response"]["id"]
    rest = dumped(client.responses.retrieve(response_id, stream=True, starting_after=5))
    numbers = [e["sequence_number"] for e in seen + rest]
    assert numbers == list(range(len(numbers)))  # nothing missed, nothing twice
    assert rest[-1]["type"] in ENDINGS
    final = client.responses.retrieve(response_id)
    assert text_of(seen + rest) == final.output_text and final.output_text
    # Read again from the start: the same events.
    again = dumped(client.responses.retrieve(response_id, stream=True))
    assert again == seen + rest


def test_stored_responses_replay_what_was_sent(client: Any) -> None:
    live = dumped(
        client.responses.create(
            model="default", input="Say hi.", stream=True, temperature=0, max_output_tokens=16
        )
    )
    replayed = dumped(client.responses.retrieve(live[0]["response"]["id"], stream=True))
    assert replayed == live
    whole = client.responses.create(
        model="default", input="Hi", temperature=0, max_output_tokens=16
    )
    events = dumped(client.responses.retrieve(whole.id, stream=True, starting_after=1))
    assert events[0]["sequence_number"] == 2 and events[-1]["type"] in ENDINGS
    assert text_of(events) == whole.output_text


def test_an_unrecorded_response_cannot_be_streamed(client: Any) -> None:
    response = client.responses.create(model="default", input="Hi", max_output_tokens=16)
    client.runtime.responses.event_log.delete(response.id)  # as if recorded by no one (an old one)
    with pytest.raises(InvalidRequestError) as info:
        list(client.responses.retrieve(response.id, stream=True))
    assert info.value.param == "stream"
