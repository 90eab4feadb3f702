"""Vector stores through both faces: stores, files, batches, search, bad documents, deletion.

Real components throughout: uploaded files on disk, DuckDB, the bundled
MiniLM embeddings and a Chroma directory under the test's data dir.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.errors import InvalidRequestError, NotFoundError

from .documents import PDF, blank_pdf, hostile_pdf

VOLCANO = (
    "# Volcanoes\n\nMount Etna in Sicily is one of the most active volcanoes on Earth. "
    "Lava flows from its craters reach the towns below every few years.\n"
)
BAKING = (
    "# Sourdough\n\nA sourdough starter is flour and water fermented by wild yeast. "
    "Feed it daily and bake when it doubles in size.\n"
)


def upload(client: Any, name: str, data: bytes) -> Any:
    return client.files.create(file=(name, io.BytesIO(data)), purpose="assistants")


def test_store_lifecycle(client: Any) -> None:
    vs = client.vector_stores.create(name="notes", metadata={"team": "a"})
    assert vs.object == "vector_store" and vs.name == "notes" and vs.metadata == {"team": "a"}
    assert vs.status == "completed" and vs.usage_bytes == 0 and vs.file_counts.total == 0
    assert client.vector_stores.retrieve(vs.id) == vs
    renamed = client.vector_stores.update(vs.id, name="renamed")
    assert renamed.name == "renamed"
    other = client.vector_stores.create()
    assert [s.id for s in client.vector_stores.list(order="asc")] == [vs.id, other.id]
    deleted = client.vector_stores.delete(vs.id)
    assert deleted.deleted and deleted.object == "vector_store.deleted"
    with pytest.raises(NotFoundError):
        client.vector_stores.retrieve(vs.id)
    with pytest.raises(NotFoundError):
        client.vector_stores.delete(vs.id)


def test_files_are_ingested_counted_and_searched(client: Any) -> None:
    volcano = upload(client, "volcano.md", VOLCANO.encode())
    baking = upload(client, "baking.txt", BAKING.encode())
    vs = client.vector_stores.create(name="mixed", file_ids=[volcano.id])
    added = client.vector_stores.files.create_and_poll(vector_store_id=vs.id, file_id=baking.id)
    assert added.status == "completed" and added.last_error is None and added.usage_bytes > 0
    assert added.chunking_strategy.static.max_chunk_size_tokens == 800
    first = client.vector_stores.files.poll(volcano.id, vector_store_id=vs.id)
    assert first.status == "completed"
    store = client.vector_stores.retrieve(vs.id)
    assert store.file_counts.completed == 2 and store.file_counts.total == 2
    assert store.status == "completed"
    assert store.usage_bytes == added.usage_bytes + first.usage_bytes

    found = client.vector_stores.search(vs.id, query="Which volcano erupts in Sicily?")
    assert found.data[0].file_id == volcano.id and found.data[0].filename == "volcano.md"
    assert "Etna" in found.data[0].content[0].text
    assert found.data[0].score > found.data[-1].score
    assert len(client.vector_stores.search(vs.id, query="bread", max_num_results=1).data) == 1
    strict = client.vector_stores.search(
        vs.id, query="bread", ranking_options={"score_threshold": 0.99}
    )
    assert strict.data == []

    listed = client.vector_stores.files.list(vs.id, filter="completed", order="asc")
    assert [f.id for f in listed] == [volcano.id, baking.id]
    assert client.vector_stores.files.list(vs.id, filter="failed").data == []
    assert (
        client.vector_stores.files.retrieve(baking.id, vector_store_id=vs.id).status == "completed"
    )


def test_search_filters_on_attributes(client: Any) -> None:
    vs = client.vector_stores.create()
    for name, text, year in (("a.md", VOLCANO, 2020), ("b.md", BAKING, 2024)):
        file = upload(client, name, text.encode())
        client.vector_stores.files.create_and_poll(
            vector_store_id=vs.id, file_id=file.id, attributes={"year": year, "kind": "note"}
        )
    recent = client.vector_stores.search(
        vs.id,
        query="volcano lava",
        filters={
            "type": "and",
            "filters": [
                {"type": "gte", "key": "year", "value": 2023},
                {"type": "eq", "key": "kind", "value": "note"},
            ],
        },
    )
    assert [r.filename for r in recent.data] == ["b.md"]
    assert recent.data[0].attributes == {"year": 2024, "kind": "note"}
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.search(vs.id, query="x", filters={"type": "near", "key": "year"})
    assert err.value.param == "filters.type"


def test_bad_documents_fail_with_a_reason_and_the_store_keeps_working(client: Any) -> None:
    huge_text = b"word " * 4_200_000  # 21 MB of text: more than 5M tokens
    bad = {
        "empty.txt": (b"", "empty", "invalid_file"),
        "broken.pdf": (b"%PDF-1.7 this is not a pdf", "could not be read", "invalid_file"),
        "locked.pdf": (blank_pdf(encrypt=True), "encrypted", "invalid_file"),
        "scan.pdf": (blank_pdf(), "no extractable text", "invalid_file"),
        "photo.png": (b"\x89PNG\r\n\x1a\n....", "Unsupported file type", "unsupported_file"),
        "huge.txt": (huge_text, "more than 20000000 characters of text", "invalid_file"),
        "bomb.pdf": (hostile_pdf("bomb"), "compression bomb", "invalid_file"),
        "nested.pdf": (hostile_pdf("nested"), "nested too deeply", "invalid_file"),
    }
    ids = {name: upload(client, name, data).id for name, (data, _, _) in bad.items()}
    good = upload(client, "volcano.md", VOLCANO.encode())
    vs = client.vector_stores.create(name="mixed")
    batch = client.vector_stores.file_batches.create_and_poll(
        vs.id, file_ids=[*ids.values(), good.id]
    )
    assert batch.status == "completed"
    assert batch.file_counts.failed == len(bad) and batch.file_counts.completed == 1
    for name, (_, reason, code) in bad.items():
        row = client.vector_stores.files.retrieve(ids[name], vector_store_id=vs.id)
        assert row.status == "failed", name
        assert row.last_error.code == code and reason in row.last_error.message, name
    store = client.vector_stores.retrieve(vs.id)
    assert store.file_counts.failed == len(bad) and store.file_counts.completed == 1
    hits = client.vector_stores.search(vs.id, query="active volcano").data
    assert [h.file_id for h in hits] == [good.id]
    failed = client.vector_stores.files.list(vs.id, filter="failed", limit=100)
    assert {f.id for f in failed} == set(ids.values())


def test_batches_upload_list_and_cancel(client: Any) -> None:
    vs = client.vector_stores.create()
    batch = client.vector_stores.file_batches.upload_and_poll(
        vs.id,
        files=[("volcano.md", io.BytesIO(VOLCANO.encode())), ("baking.md", BAKING.encode())],
    )
    assert batch.object == "vector_store.files_batch" and batch.status == "completed"
    assert batch.file_counts.completed == 2 and batch.file_counts.total == 2
    files = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=vs.id)
    assert len(files.data) == 2

    paper = client.files.create(file=PDF, purpose="assistants")
    pending = client.vector_stores.file_batches.create(vs.id, file_ids=[paper.id])
    cancelled = client.vector_stores.file_batches.cancel(pending.id, vector_store_id=vs.id)
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 1
    row = client.vector_stores.files.retrieve(paper.id, vector_store_id=vs.id)
    assert row.status == "cancelled"
    client.runtime.ingestion.wait_idle(120)
    assert client.runtime.index.count(vs.id) == 2  # nothing of the paper was kept
    hits = client.vector_stores.search(vs.id, query="attention heads", max_num_results=50).data
    assert paper.id not in {h.file_id for h in hits}


def test_deleting_a_file_removes_its_chunks_from_every_store(client: Any) -> None:
    volcano = upload(client, "volcano.md", VOLCANO.encode())
    baking = upload(client, "baking.md", BAKING.encode())
    first = client.vector_stores.create(file_ids=[volcano.id, baking.id])
    second = client.vector_stores.create(file_ids=[volcano.id])
    for vs in (first, second):
        for f in client.vector_stores.files.list(vs.id):
            client.vector_stores.files.poll(f.id, vector_store_id=vs.id)
    index = client.runtime.index
    assert index.count(first.id) == 2 and index.count(second.id) == 1

    removed = client.vector_stores.files.delete(baking.id, vector_store_id=first.id)
    assert removed.deleted and removed.object == "vector_store.file.deleted"
    assert index.count(first.id) == 1
    assert client.files.retrieve(baking.id).id == baking.id  # the File itself stays

    client.files.delete(volcano.id)
    assert index.count(first.id) == 0 and index.count(second.id) == 0
    for vs in (first, second):
        assert client.vector_stores.files.list(vs.id).data == []
        assert client.vector_stores.retrieve(vs.id).file_counts.total == 0
        assert client.vector_stores.search(vs.id, query="volcano").data == []
    with pytest.raises(NotFoundError):
        client.vector_stores.files.retrieve(volcano.id, vector_store_id=first.id)


def test_bad_requests_are_clear_errors(client: Any) -> None:
    file = upload(client, "volcano.md", VOLCANO.encode())
    vs = client.vector_stores.create()
    with pytest.raises(NotFoundError):
        client.vector_stores.files.create(vector_store_id="vs_missing", file_id=file.id)
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.files.create(vector_store_id=vs.id, file_id="file_missing")
    assert err.value.param == "file_id"
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.files.create(
            vector_store_id=vs.id,
            file_id=file.id,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150},
            },
        )
    assert err.value.param == "chunking_strategy"
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.create(file_ids=["file_missing"])
    assert err.value.param == "file_ids"
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.search(vs.id, query="x", max_num_results=51)
    assert err.value.param == "max_num_results"
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.files.list(vs.id, filter="done")
    assert err.value.param == "filter"
    with pytest.raises(InvalidRequestError) as err:
        client.vector_stores.create(expires_after={"anchor": "created_at", "days": 3})
    assert err.value.param == "expires_after.anchor"
    assert client.vector_stores.list().data == [client.vector_stores.retrieve(vs.id)]


def test_static_chunking_is_honoured(client: Any) -> None:
    paper = client.files.create(file=PDF, purpose="assistants")
    vs = client.vector_stores.create()
    row = client.vector_stores.files.create_and_poll(
        vector_store_id=vs.id,
        file_id=paper.id,
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 0},
        },
    )
    assert row.status == "completed"
    assert row.chunking_strategy.static.max_chunk_size_tokens == 400
    chunks = client.runtime.index.file_texts(vs.id, paper.id)
    embedder = client.runtime.embedder
    assert len(chunks) > 10  # ~4,500 tokens in chunks of at most 400
    assert all(len(embedder.token_spans(text)) <= 400 + 5 for text in chunks)
    assert "Attention Is All You Need" in chunks[0]


def test_index_survives_a_restart_and_ingestion_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Client(data_dir=data) as first:
        note = first.files.create(file=("volcano.md", VOLCANO.encode()), purpose="assistants")
        vs = first.vector_stores.create(name="kept")
        first.vector_stores.files.create_and_poll(vector_store_id=vs.id, file_id=note.id)
        paper = first.files.create(file=PDF, purpose="assistants")
        first.vector_stores.files.create(vector_store_id=vs.id, file_id=paper.id)
        # closed at once: the paper's ingestion is interrupted and must resume
    with Client(data_dir=data) as second:
        assert second.vector_stores.retrieve(vs.id).name == "kept"
        hits = second.vector_stores.search(vs.id, query="active volcano in Sicily").data
        assert hits[0].file_id == note.id
        row = second.vector_stores.files.poll(paper.id, vector_store_id=vs.id)
        assert row.status == "completed"
        store = second.vector_stores.retrieve(vs.id)
        assert store.file_counts.completed == 2
        found = second.vector_stores.search(vs.id, query="multi-head attention").data
        assert found[0].file_id == paper.id


def test_deleting_a_store_while_its_file_is_ingested_leaves_no_index(client: Any) -> None:
    paper = client.files.create(file=PDF, purpose="assistants")
    vs = client.vector_stores.create(file_ids=[paper.id])
    client.vector_stores.delete(vs.id)
    client.runtime.ingestion.wait_idle(120)
    assert vs.id not in client.runtime.index.stores()
    assert client.runtime.index.count(vs.id) == 0
    with pytest.raises(NotFoundError):
        client.vector_stores.files.list(vs.id)


def test_a_small_file_is_not_stuck_behind_another_stores_large_one(client: Any) -> None:
    sentences = [
        f"Sentence {i} is about the harbour, the ships and the tide." for i in range(4_000)
    ]
    large = upload(client, "large.txt", " ".join(sentences).encode())  # hundreds of batches
    small = upload(client, "small.md", VOLCANO.encode())
    busy, other = client.vector_stores.create(), client.vector_stores.create()
    client.vector_stores.files.create(vector_store_id=busy.id, file_id=large.id)
    done = client.vector_stores.files.create_and_poll(vector_store_id=other.id, file_id=small.id)
    assert done.status == "completed"
    # The small file went through while the large one was still being embedded.
    assert client.vector_stores.files.retrieve(large.id, vector_store_id=busy.id).status == (
        "in_progress"
    )
    assert client.vector_stores.search(other.id, query="active volcano").data
    final = client.vector_stores.files.poll(large.id, vector_store_id=busy.id)
    assert final.status == "completed"
