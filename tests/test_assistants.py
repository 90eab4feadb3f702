"""Assistants CRUD and listing through the Python API, with bad input that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai.types.beta.assistant import Assistant

from offline_assistants import Client, InvalidRequestError, ModelFileError, NotFoundError


def make(client: Client, **fields: object) -> Assistant:
    return client.beta.assistants.create(model="default", **fields)  # type: ignore[arg-type]


def test_create_retrieve_update_delete(client: Client) -> None:
    created = make(
        client,
        name="Math Tutor",
        description="helps with maths",
        instructions="Be brief.",
        metadata={"team": "maths"},
        temperature=0.5,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    assert created.id.startswith("asst_") and created.object == "assistant"
    assert created.tools == [] and created.model == "default"
    assert client.beta.assistants.retrieve(created.id) == created

    changed = client.beta.assistants.update(created.id, name="Tutor", metadata={"v": "2"})
    assert changed.name == "Tutor" and changed.metadata == {"v": "2"}
    assert changed.instructions == "Be brief." and changed.temperature == 0.5
    assert client.beta.assistants.retrieve(created.id) == changed

    deleted = client.beta.assistants.delete(created.id)
    assert deleted.deleted and deleted.id == created.id and deleted.object == "assistant.deleted"
    with pytest.raises(NotFoundError) as caught:
        client.beta.assistants.retrieve(created.id)
    assert caught.value.status_code == 404 and created.id in caught.value.message


def test_defaults_match_the_api(client: Client) -> None:
    assistant = make(client)
    assert assistant.temperature == 1.0 and assistant.top_p == 1.0
    assert assistant.response_format == "auto" and assistant.metadata == {}
    assert assistant.name is None and assistant.instructions is None


def test_list_cursor_parameters(client: Client) -> None:
    ids = [make(client, name=f"a{i}").id for i in range(7)]
    newest_first = list(reversed(ids))

    page = client.beta.assistants.list(limit=3)
    assert [a.id for a in page.data] == newest_first[:3]
    assert page.first_id == newest_first[0] and page.last_id == newest_first[2]
    assert page.has_more is True

    page = client.beta.assistants.list(limit=3, after=newest_first[2])
    assert [a.id for a in page.data] == newest_first[3:6] and page.has_more

    page = client.beta.assistants.list(limit=3, after=newest_first[5])
    assert [a.id for a in page.data] == newest_first[6:] and page.has_more is False

    page = client.beta.assistants.list(limit=2, before=newest_first[4])
    assert [a.id for a in page.data] == newest_first[2:4] and page.has_more is True

    page = client.beta.assistants.list(order="asc", limit=4)
    assert [a.id for a in page.data] == ids[:4]
    page = client.beta.assistants.list(order="asc", after=ids[1], before=ids[5])
    assert [a.id for a in page.data] == ids[2:5] and page.has_more is False

    # Iterating a page walks every page, as the SDK's pages do.
    assert [a.id for a in client.beta.assistants.list(limit=2)] == newest_first

    empty = client.beta.assistants.list(after=ids[0], order="asc", limit=100)
    assert len(empty.data) == 6
    assert client.beta.assistants.list(limit=100, after=newest_first[-1]).data == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"order": "newest"}, "order"),
        ({"after": "asst_nope"}, "after"),
        ({"before": "asst_nope"}, "before"),
    ],
)
def test_bad_list_parameters(client: Client, params: dict[str, object], param: str) -> None:
    if params.get("limit") == "5" and not isinstance(client, Client):
        pytest.skip("over HTTP every query value is a string; '5' is a valid limit there")
    make(client)
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.assistants.list(**params)  # type: ignore[arg-type]
    assert caught.value.param == param and caught.value.status_code == 400


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"name": "n" * 257}, "name"),
        ({"description": "d" * 513}, "description"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"response_format": {"type": "yaml"}}, "response_format"),
        ({"tools": [{"type": "browser"}]}, "tools[0].type"),
        ({"tools": [{"type": "code_interpreter", "extra": 1}]}, "tools[0].extra"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_fields_are_rejected_and_change_nothing(
    client: Client, fields: dict[str, object], param: str
) -> None:
    original = make(client, name="keep", metadata={"a": "b"})
    with pytest.raises(InvalidRequestError) as caught:
        client.beta.assistants.update(original.id, **fields)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert client.beta.assistants.retrieve(original.id) == original
    before = len(client.beta.assistants.list(limit=100).data)
    with pytest.raises(InvalidRequestError):
        client.beta.assistants.create(**{"model": "default", **fields})  # type: ignore[arg-type]
    assert len(client.beta.assistants.list(limit=100).data) == before


def test_metadata_at_the_limits_is_accepted(client: Client) -> None:
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    assert make(client, metadata=metadata).metadata == metadata


def test_model_path_missing_or_not_gguf(client: Client, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ModelFileError) as caught:
        client.beta.assistants.create(model=str(missing))
    assert str(missing) in caught.value.message and caught.value.param == "model"

    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelFileError) as caught:
        client.beta.assistants.create(model=str(junk))
    assert str(junk) in caught.value.message and "GGUF" in caught.value.message


def test_model_by_path_and_by_hosted_name(client: Client) -> None:
    path = str(client.settings.default_model)
    assert make(client).model == "default"
    assert client.beta.assistants.create(model=path).model == path
    # Apps written for the hosted API keep their model names; the default model serves them.
    assert client.beta.assistants.create(model="gpt-4o").model == "gpt-4o"


def test_unknown_ids_are_not_found(client: Client) -> None:
    for call in (
        lambda: client.beta.assistants.retrieve("asst_missing"),
        lambda: client.beta.assistants.update("asst_missing", name="x"),
        lambda: client.beta.assistants.delete("asst_missing"),
    ):
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.to_dict()["error"]["type"] == "invalid_request_error"
