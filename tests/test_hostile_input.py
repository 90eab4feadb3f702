"""Hostile input never bricks the store: unreadable values are refused, bad rows are survived,
oversized bodies are turned away, and a full disk is a clear 507 that heals without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx2
import openai
import pytest

from offline_assistants import Client, InsufficientStorageError, InvalidRequestError
from offline_assistants.config import Settings
from offline_assistants.engine import Engine
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.server.limits import MAX_JSON_BYTES

from .http_harness import serving


def shared_factory(engine: LlamaEngine) -> Any:
    def shared(path: Path) -> Engine:
        return engine

    return shared


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), "a\ud800b", 10**20], ids=repr
)
def test_unstorable_attribute_values_are_refused(
    tmp_path: Path, real_engine: Any, value: object
) -> None:
    settings = Settings.from_env(data_dir=tmp_path / "data")
    with Client(settings=settings, engine_factory=shared_factory(real_engine)) as client:
        file = client.files.create(file=("a.txt", b"hello there"), purpose="assistants")
        store = client.vector_stores.create(name="s")
        with pytest.raises(InvalidRequestError) as caught:
            client.vector_stores.files.create(
                vector_store_id=store.id, file_id=file.id, attributes={"x": value}
            )
        assert caught.value.param == "attributes.x"
        with pytest.raises(InvalidRequestError):
            client.vector_stores.file_batches.create(
                vector_store_id=store.id, file_ids=[file.id], attributes={"x": value}
            )
        assert client.vector_stores.files.list(vector_store_id=store.id).data == []


@pytest.mark.parametrize(
    ("literal", "fragment"),
    [
        ("NaN", "NaN is not valid JSON"),  # what openai-python 1.x sent for float("nan")
        ("Infinity", "Infinity is not valid JSON"),
        ("1e400", "NaN and Infinity are not accepted"),  # parses as inf
        ('"\\ud800"', "lone surrogate"),
        ("18446744073709551616", "out of range"),
    ],
)
def test_unstorable_values_over_http_are_400s(server: str, literal: str, fragment: str) -> None:
    file = httpx2.post(
        server + "/files", files={"file": ("a.txt", b"hi")}, data={"purpose": "assistants"}
    ).json()
    store = httpx2.post(server + "/vector_stores", json={}).json()
    body = f'{{"file_id": "{file["id"]}", "attributes": {{"x": {literal}}}}}'
    response = httpx2.post(
        f"{server}/vector_stores/{store['id']}/files",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]
    listed = httpx2.get(f"{server}/vector_stores/{store['id']}/files").json()
    assert listed["data"] == []


def test_lone_surrogates_are_refused_everywhere(tmp_path: Path, real_engine: Any) -> None:
    settings = Settings.from_env(data_dir=tmp_path / "data")
    with Client(settings=settings, engine_factory=shared_factory(real_engine)) as client:
        refuse_surrogates(client)


def refuse_surrogates(client: Client) -> None:
    bad = "half \udc80 a character"
    for call in (
        lambda: client.beta.assistants.create(model="default", name=bad),
        lambda: client.beta.assistants.create(model="default", metadata={bad: "v"}),
        lambda: client.beta.threads.create(messages=[{"role": "user", "content": bad}]),
        lambda: client.vector_stores.create(name="ok", metadata={"k": bad}),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            call()
        assert "lone surrogate" in caught.value.message
    assert client.beta.assistants.list().data == []
    assert client.vector_stores.list().data == []


def poison(database: Path, sql: str, parameters: list[Any]) -> None:
    """Write a row the way an older version could have: straight into the DuckDB file."""
    with duckdb.connect(str(database)) as connection:
        connection.execute(sql, parameters)


def test_start_up_survives_rows_that_no_longer_parse(
    tmp_path: Path, real_engine: LlamaEngine
) -> None:
    settings = Settings.from_env(data_dir=tmp_path / "data")
    with Client(settings=settings, engine_factory=shared_factory(real_engine)) as client:
        file = client.files.create(file=("a.txt", b"some words"), purpose="assistants")
        good = client.files.create(file=("b.txt", b"other words"), purpose="assistants")
        store = client.vector_stores.create(name="s")
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=good.id)
        # greedy: at temperature 1 a two-token answer could end on its own ("completed")
        assistant = client.beta.assistants.create(model="default", temperature=0)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=2
        )
    # What the NaN bug left behind: a null attribute, in a row still in progress; and a run
    # left in progress whose body no longer validates.
    row = json.loads(
        duckdb.connect(str(settings.database_path))
        .execute("SELECT body FROM vector_store_files WHERE id = ?", [file.id])
        .fetchone()[0]
    )
    row.update(status="in_progress", attributes={"x": None})
    poison(
        settings.database_path,
        "UPDATE vector_store_files SET body = ?, status = 'in_progress' WHERE id = ?",
        [json.dumps(row), file.id],
    )
    broken_run = {**run.model_dump(mode="json"), "status": "in_progress", "temperature": "hot"}
    poison(
        settings.database_path,
        "UPDATE runs SET body = ?, status = 'in_progress' WHERE id = ?",
        [json.dumps(broken_run), run.id],
    )
    with Client(settings=settings, engine_factory=shared_factory(real_engine)) as client:
        listed = client.vector_stores.files.list(vector_store_id=store.id).data
        assert [f.id for f in listed] == [good.id]  # the unreadable row is skipped, not fatal
        assert client.vector_stores.search(store.id, query="other words").data
        assert client.beta.threads.runs.list(thread_id=thread.id).data == []
        # The damaged file can still be taken out of the store, and the store heals.
        client.vector_stores.files.delete(file.id, vector_store_id=store.id)
        assert client.vector_stores.retrieve(store.id).status == "completed"
        # The thread with the damaged run can go on and be deleted.
        again = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=2
        )
        assert again.status == "incomplete"
        assert client.beta.threads.delete(thread.id).deleted


@pytest.fixture
def server(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[str]:
    with serving(tmp_path / "data", real_engine) as (_, url):
        yield url


def declared_only(url: str, path: str, content_type: str, length: int) -> tuple[int, Any]:
    """Send headers announcing ``length`` bytes and no body: the answer must come anyway."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"POST /v1{path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_oversized_bodies_are_turned_away(server: str) -> None:
    status, body = declared_only(server, "/assistants", "application/json", MAX_JSON_BYTES + 1)
    assert status == 413 and body["error"]["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model": "default", "instructions": "'
        for _ in range(MAX_JSON_BYTES // (1 << 20) + 1):
            yield b"x" * (1 << 20)
        yield b'"}'

    streamed = httpx2.post(
        server + "/assistants", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert "at most" in streamed.json()["error"]["message"]
    status, body = declared_only(server, "/files", "multipart/form-data; boundary=x", 600 << 20)
    assert status == 413 and "an upload may be at most" in body["error"]["message"]
    assert httpx2.get(server + "/assistants").status_code == 200


def test_json_nested_past_the_parser_is_a_400(server: str) -> None:
    response = httpx2.post(
        server + "/assistants",
        content=b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert (
        response.status_code == 400 and "nested too deeply" in response.json()["error"]["message"]
    )


def test_a_400_deep_filter_is_a_400(server: str) -> None:
    sdk = openai.OpenAI(base_url=server, api_key="local", max_retries=0)
    store = sdk.vector_stores.create(name="s")
    deep: dict[str, Any] = {"type": "eq", "key": "a", "value": 1}
    for _ in range(400):
        deep = {"type": "and", "filters": [deep]}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.vector_stores.search(store.id, query="x", filters=deep)  # type: ignore[arg-type]
    assert caught.value.body["param"] == "filters"  # type: ignore[index]


# -- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 40 MiB tmpfs to fill up (needs root: mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("the full-disk test mounts a small tmpfs, which needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("could not mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 20))
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_a_clear_507_and_heals_without_a_restart(
    small_disk: Path, real_engine: LlamaEngine
) -> None:
    settings = Settings.from_env(data_dir=small_disk / "data")
    with serving(settings.data_dir, real_engine) as (_, url):
        sdk = openai.OpenAI(base_url=url, api_key="local", max_retries=0)
        kept = sdk.beta.assistants.create(model="default", name="before")
        filler = fill(small_disk)
        failures = 0
        for _ in range(40):  # writes fail clearly; none is half-stored
            try:
                sdk.beta.assistants.create(model="default", instructions="x" * 200_000)
            except openai.APIStatusError as exc:
                assert exc.status_code == 507, exc
                assert exc.body["code"] == "insufficient_storage"  # type: ignore[index]
                failures += 1
        assert failures > 0
        with pytest.raises(openai.APIStatusError) as upload:
            sdk.files.create(file=("big.bin", b"\1" * (2 << 20)), purpose="assistants")
        assert upload.value.status_code == 507
        assert not [p for p in (settings.data_dir / "files").iterdir() if p.name.startswith(".")]
        # Reads keep working on a full disk, or come back as soon as space does.
        filler.unlink()
        assert sdk.beta.assistants.retrieve(kept.id).name == "before"
        after = sdk.beta.assistants.create(model="default", name="after")
        assert sdk.beta.assistants.retrieve(after.id).name == "after"
        names = [a.name for a in sdk.beta.assistants.list(limit=100)]
        assert "before" in names and "after" in names


def test_a_full_disk_in_the_python_api_raises_insufficient_storage(
    small_disk: Path, real_engine: LlamaEngine
) -> None:
    settings = Settings.from_env(data_dir=small_disk / "data")
    with Client(settings=settings, engine_factory=shared_factory(real_engine)) as client:
        filler = fill(small_disk)
        with pytest.raises(InsufficientStorageError):
            for _ in range(40):
                client.beta.assistants.create(model="default", instructions="y" * 200_000)
        filler.unlink()
        assert client.beta.assistants.create(model="default", name="ok").name == "ok"
