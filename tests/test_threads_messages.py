"""Threads and messages through the Python API: CRUD, listing, bad input."""

from __future__ import annotations

import pytest

from offline_assistants import Client, InvalidRequestError, NotFoundError


def test_thread_with_initial_messages(client: Client) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "first", "metadata": {"n": "1"}},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
            {"role": "user", "content": "third"},
        ],
        metadata={"topic": "algebra"},
    )
    assert thread.id.startswith("thread_") and thread.metadata == {"topic": "algebra"}
    listed = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.content[0].text.value for m in listed] == ["first", "second", "third"]  # type: ignore[union-attr]
    assert [m.role for m in listed] == ["user", "assistant", "user"]
    assert listed[0].metadata == {"n": "1"} and all(m.thread_id == thread.id for m in listed)
    assert client.beta.threads.retrieve(thread.id) == thread


def test_thread_update_and_delete_cascades(client: Client) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    changed = client.beta.threads.update(thread.id, metadata={"k": "v"})
    assert changed.metadata == {"k": "v"} and client.beta.threads.retrieve(thread.id) == changed
    message_id = client.beta.threads.messages.list(thread_id=thread.id).data[0].id
    deleted = client.beta.threads.delete(thread.id)
    assert deleted.deleted and deleted.object == "thread.deleted"
    with pytest.raises(NotFoundError):
        client.beta.threads.retrieve(thread.id)
    with pytest.raises(NotFoundError):
        client.beta.threads.messages.retrieve(message_id, thread_id=thread.id)
    assert client.runtime.store.messages.get(message_id, thread.id) is None


def test_bad_thread_input_stores_nothing(client: Client) -> None:
    good = {"role": "user", "content": "ok"}
    for messages, param in [
        ([good, {"role": "system", "content": "x"}], "messages[1].role"),
        ([good, {"role": "user", "content": []}], "messages[1].content"),
        ([good, {"role": "user", "content": 42}], "messages[1].content"),
        ([{"role": "user", "content": [{"type": "audio"}]}], "messages[0].content[0].type"),
        (
            [good, {"role": "user", "content": "x", "metadata": {"k": "v" * 600}}],
            "messages[1].metadata",
        ),
    ]:
        with pytest.raises(InvalidRequestError) as caught:
            client.beta.threads.create(messages=messages)
        assert caught.value.param == param
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.create(metadata={"k": "v" * 513})
    assert caught.value.param == "metadata"
    assert client.runtime.store.db.fetchone("SELECT count(*) FROM threads") == (0,)
    assert client.runtime.store.db.fetchone("SELECT count(*) FROM messages") == (0,)


def test_message_crud(client: Client) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="What is 2+2?", metadata={"a": "1"}
    )
    assert message.id.startswith("msg_") and message.object == "thread.message"
    assert message.status == "completed" and message.run_id is None
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread.id) == message

    changed = client.beta.threads.messages.update(
        message.id, thread_id=thread.id, metadata={"b": "2"}
    )
    assert changed.metadata == {"b": "2"}
    assert changed.content == message.content
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread.id) == changed

    deleted = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert deleted.deleted and deleted.object == "thread.message.deleted"
    with pytest.raises(NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)


def test_message_content_parts(client: Client) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content=[
            {"type": "text", "text": "look at this"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}},
        ],
    )
    assert [block.type for block in message.content] == ["text", "image_url"]


def test_message_list_parameters(client: Client) -> None:
    thread = client.beta.threads.create()
    ids = [
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=str(i)).id
        for i in range(5)
    ]
    page = client.beta.threads.messages.list(thread_id=thread.id, limit=2)
    assert [m.id for m in page.data] == [ids[4], ids[3]] and page.has_more
    page = client.beta.threads.messages.list(thread_id=thread.id, limit=2, after=ids[3])
    assert [m.id for m in page.data] == [ids[2], ids[1]] and page.has_more
    page = client.beta.threads.messages.list(thread_id=thread.id, order="asc", before=ids[2])
    assert [m.id for m in page.data] == ids[:2] and not page.has_more
    assert page.first_id == ids[0] and page.last_id == ids[1]
    assert client.beta.threads.messages.list(thread_id=thread.id, run_id="run_none").data == []
    # A cursor from another thread is not a cursor of this list.
    other = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    foreign = client.beta.threads.messages.list(thread_id=other.id).data[0].id
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.messages.list(thread_id=thread.id, after=foreign)
    assert caught.value.param == "after"


def test_message_errors(client: Client) -> None:
    thread = client.beta.threads.create()
    other = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread_id=thread.id, role="user", content="x")
    with pytest.raises(NotFoundError):
        client.beta.threads.messages.create(thread_id="thread_missing", role="user", content="x")
    with pytest.raises(NotFoundError):  # a message is found only in its own thread
        client.beta.threads.messages.retrieve(message.id, thread_id=other.id)
    with pytest.raises(NotFoundError):
        client.beta.threads.messages.list(thread_id="thread_missing")
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.messages.create(thread_id=thread.id, role="robot", content="x")
    assert caught.value.param == "role"
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.threads.messages.update(
            message.id, thread_id=thread.id, metadata={str(i): "v" for i in range(17)}
        )
    assert caught.value.param == "metadata"
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread.id) == message
