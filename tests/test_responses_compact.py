"""``responses.compact``: a conversation's user messages and one sealed summary, through both faces.

The compacted output validates against the Open Responses spec; its compaction item
is opaque (the summary never appears in it) and, sent back as input, puts the
model's summary into the next response's prompt (more input tokens than without
it, far fewer than the full history). An altered handle, or one another data
directory made, is a 400 naming the item, and nothing is stored or changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from offline_assistants import Client
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.errors import InvalidRequestError
from offline_assistants.service import Runtime

from .open_responses import check_compaction

TURN = {"model": "default", "temperature": 0, "max_output_tokens": 24}
FACTS = [
    "My name is Alice and I am planning a trip to Rome in May.",
    "I want to see the Colosseum and eat carbonara.",
]


def chain(client: Any) -> Any:
    first = client.responses.create(**TURN, instructions="Be brief.", input=FACTS[0])
    return client.responses.create(**TURN, input=FACTS[1], previous_response_id=first.id)


def test_compact_a_chain_and_go_on_from_the_summary(client: Any) -> None:
    last = chain(client)
    compacted = client.responses.compact(model="default", previous_response_id=last.id)
    assert compacted.object == "response.compaction" and compacted.id.startswith("resp_")
    *users, item = compacted.output
    assert [u.role for u in users] == ["user", "user"]
    assert [u.content[0].text for u in users] == FACTS
    assert item.type == "compaction" and item.id.startswith("cmp_")
    assert "Alice" not in item.encrypted_content and "{" not in item.encrypted_content
    assert compacted.usage.input_tokens > 0 and compacted.usage.output_tokens > 0

    sealed = {"type": "compaction", "encrypted_content": item.encrypted_content}
    ask = {"role": "user", "content": "Where am I going?"}
    with_summary = client.responses.input_tokens.count(model="default", input=[sealed, ask])
    without = client.responses.input_tokens.count(model="default", input=[ask])
    assert with_summary.input_tokens > without.input_tokens  # the summary is in the prompt
    answer = client.responses.create(**TURN, input=[sealed, ask], store=False)
    assert answer.status in ("completed", "incomplete") and answer.output_text


def test_compact_input_items_and_refuse_what_was_altered(client: Any) -> None:
    items = [
        {"type": "message", "role": "developer", "content": "You plan trips."},
        {"type": "message", "role": "user", "content": FACTS[0]},
        {"type": "message", "role": "assistant", "content": "Rome in May is lovely."},
    ]
    compacted = client.responses.compact(model="default", input=items)
    handle = compacted.output[-1].encrypted_content
    altered = handle[:-6] + ("AAAAAA" if not handle.endswith("AAAAAA") else "BBBBBB")
    for bad in (altered, "not-a-handle"):
        with pytest.raises(InvalidRequestError) as info:
            client.responses.create(
                **TURN,
                input=[
                    {"type": "compaction", "encrypted_content": bad},
                    {"role": "user", "content": "Hi"},
                ],
            )
        assert info.value.param == "input[0].encrypted_content"
    with pytest.raises(InvalidRequestError) as info:
        client.responses.compact(model="default")
    assert info.value.param == "input"


def test_a_handle_from_another_data_directory_is_refused(
    tmp_path: Path, real_engine: LlamaEngine, contract_server: tuple[Runtime, str]
) -> None:
    items = [{"type": "message", "role": "user", "content": FACTS[0]}]
    response = httpx2.post(
        f"{contract_server[1]}/responses/compact", json={"model": "default", "input": items},
        timeout=120,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    check_compaction(body)
    sealed = {"type": "compaction", "encrypted_content": body["output"][-1]["encrypted_content"]}
    with (
        Client(data_dir=tmp_path / "other", engine_factory=lambda path: real_engine) as other,
        pytest.raises(InvalidRequestError) as info,
    ):
        other.responses.input_tokens.count(model="default", input=[sealed])
    assert "another server" in info.value.message
