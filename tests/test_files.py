"""The Files API through both faces: upload, retrieve, list, content, delete, bad input."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from offline_assistants.errors import InvalidRequestError, NotFoundError

from .documents import PDF


def test_upload_retrieve_content_round_trip(client: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    file = client.files.create(file=("../../etc/passwd", io.BytesIO(data)), purpose="assistants")
    assert file.object == "file" and file.bytes == len(data) and file.purpose == "assistants"
    assert file.filename == "passwd"  # a label only: the path part is dropped
    assert client.files.retrieve(file.id) == file
    assert client.files.content(file.id).content == data
    stored = list((tmp_path / "data" / "files").iterdir())
    assert [p.name for p in stored] == [file.id]  # stored under its id, never its name


def test_upload_from_path_and_bytes(client: Any, tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_text("# Notes\n")
    from_path = client.files.create(file=source, purpose="assistants")
    assert from_path.filename == "notes.md"
    assert client.files.content(from_path.id).content == b"# Notes\n"
    with open(source, "rb") as handle:
        from_handle = client.files.create(file=handle, purpose="user_data")
    assert from_handle.filename == "notes.md" and from_handle.purpose == "user_data"


def test_list_filters_by_purpose_and_pages(client: Any) -> None:
    ids = [
        client.files.create(file=(f"f{i}.txt", b"x" * (i + 1)), purpose="assistants").id
        for i in range(3)
    ]
    client.files.create(file=("v.png", b"png"), purpose="vision")
    page = client.files.list(purpose="assistants", limit=2, order="asc")
    assert [f.id for f in page.data] == ids[:2] and page.has_more
    assert [f.id for f in client.files.list(purpose="assistants", order="asc")] == ids
    assert len(client.files.list().data) == 4


def test_delete_removes_metadata_and_bytes(client: Any, tmp_path: Path) -> None:
    keep = client.files.create(file=("keep.txt", b"keep"), purpose="assistants")
    gone = client.files.create(file=("gone.txt", b"gone"), purpose="assistants")
    deleted = client.files.delete(gone.id)
    assert deleted.deleted and deleted.id == gone.id
    with pytest.raises(NotFoundError):
        client.files.retrieve(gone.id)
    with pytest.raises(NotFoundError):
        client.files.content(gone.id)
    with pytest.raises(NotFoundError):
        client.files.delete(gone.id)
    assert not (tmp_path / "data" / "files" / gone.id).exists()
    assert client.files.content(keep.id).content == b"keep"


def test_bad_purpose_is_a_400_that_stores_nothing(client: Any) -> None:
    with pytest.raises(InvalidRequestError) as err:
        client.files.create(file=("a.txt", b"a"), purpose="homework")
    assert err.value.param == "purpose"
    assert client.files.list().data == []


def test_a_real_pdf_round_trips(client: Any) -> None:
    file = client.files.create(file=PDF, purpose="assistants")
    assert file.bytes == PDF.stat().st_size
    assert client.files.content(file.id).content == PDF.read_bytes()
