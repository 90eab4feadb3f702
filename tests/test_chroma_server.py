"""The vector index in a Chroma server (``chroma run``, started here on 127.0.0.1).

The same documents go into a runtime with the embedded index and into one with
``chroma_url``: ingestion, the search API and a run's file_search step give the
same results, the collections live in the server (nothing under the data
dir), and deleting a store drops its collection there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.errors import VectorIndexError

from .documents import PDF
from .servers import ChromaServer, free_port

NOTES = {
    "volcano.md": "Mount Etna, on the east coast of Sicily, is one of the most active "
    "volcanoes in the world. Its eruptions are frequent; lava flows reach the villages.",
    "baking.txt": "Bread rises because yeast ferments sugars into carbon dioxide. Knead the "
    "dough for ten minutes, let it prove for an hour, then bake at 220 degrees.",
}
QUERIES = ["Which volcano erupts in Sicily?", "How long should bread dough prove?", "BLEU score"]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    root = tmp_path_factory.mktemp("chroma")
    with ChromaServer(root / "db", root / "chroma.log") as server:
        yield server  # type: ignore[misc]


def fill(client: Client) -> str:
    """The notes and the paper in one vector store; its id once every file is in."""
    ids = [
        client.files.create(file=(name, text.encode()), purpose="assistants").id
        for name, text in NOTES.items()
    ]
    ids.append(client.files.create(file=PDF.open("rb"), purpose="assistants").id)
    store = client.vector_stores.create(name="notes")
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=ids
    )
    assert batch.file_counts.completed == 3, batch.file_counts
    return store.id


def searched(client: Client, store_id: str) -> list[list[tuple[str, float, str]]]:
    return [
        [
            (hit.filename, round(hit.score, 5), hit.content[0].text)
            for hit in client.vector_stores.search(store_id, query=query, max_num_results=5).data
        ]
        for query in QUERIES
    ]


def file_search_step(client: Client, store_id: str) -> list[tuple[str, float, str]]:
    assistant = client.beta.assistants.create(
        model="default",
        temperature=0,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What BLEU score did the Transformer reach?"}]
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=16
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    steps = client.beta.threads.runs.steps.list(
        thread_id=thread.id,
        run_id=run.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ).data
    calls = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]
    results = calls[0].file_search.results
    assert results
    return [(r.file_name, round(r.score, 5), r.content[0].text) for r in results]


def test_file_search_through_a_chroma_server_matches_the_embedded_index(
    chroma: ChromaServer, tmp_path: Path, real_engine: LlamaEngine
) -> None:
    found = []
    for name, url in (("embedded", None), ("server", chroma.origin)):
        settings = Settings.from_env(data_dir=tmp_path / name, chroma_url=url)
        with Client(settings=settings, engine_factory=lambda path: real_engine) as client:
            store_id = fill(client)
            found.append((searched(client, store_id), file_search_step(client, store_id)))
            if url is not None:
                server = chromadb.HttpClient(
                    host="127.0.0.1",
                    port=chroma.port,
                    settings=ChromaSettings(anonymized_telemetry=False),
                )
                assert server.get_collection(store_id).count() > 0
                assert not (settings.data_dir / "vector_index").exists()
                client.vector_stores.delete(store_id)
                names = {getattr(c, "name", c) for c in server.list_collections()}
                assert store_id not in names
    (embedded_search, embedded_step), (server_search, server_step) = found
    assert embedded_search[0][0][0] == "volcano.md" and "Etna" in embedded_search[0][0][2]
    assert embedded_search[1][0][0] == "baking.txt"
    assert embedded_search[2][0][0] == PDF.name
    for server_hits, embedded_hits in zip(server_search, embedded_search, strict=True):
        assert_same_hits(server_hits, embedded_hits)
    assert_same_hits(server_step, embedded_step)


def assert_same_hits(
    server: list[tuple[str, float, str]], embedded: list[tuple[str, float, str]]
) -> None:
    """The same chunks in the same order; scores equal but for float noise (the server and
    the embedded index compute distances apart: 0.33652 against 0.33653, say)."""
    assert [(name, text) for name, _, text in server] == [(n, t) for n, _, t in embedded]
    for (_, ours, _), (_, theirs, _) in zip(server, embedded, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-4)


def test_an_unreachable_chroma_server_is_named_in_every_failure(
    tmp_path: Path, real_engine: LlamaEngine
) -> None:
    """Ingestion fails with the server's address, a search is a 502 naming it (never an
    empty result), and a run that searches ends failed saying so."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings.from_env(data_dir=tmp_path / "data", chroma_url=url)
    with Client(settings=settings, engine_factory=lambda path: real_engine) as client:
        uploaded = client.files.create(file=("a.txt", b"Some text."), purpose="assistants")
        store = client.vector_stores.create(name="x")
        added = client.vector_stores.files.create_and_poll(
            vector_store_id=store.id, file_id=uploaded.id
        )
        assert added.status == "failed"
        assert added.last_error is not None
        assert added.last_error.message.startswith(f"The Chroma server at {url} failed")
        with pytest.raises(VectorIndexError) as refused:
            client.vector_stores.search(store.id, query="text")
        assert refused.value.status_code == 502 and url in refused.value.message
        assistant = client.beta.assistants.create(
            model="default",
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Any text?"}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "failed"
        assert run.last_error is not None
        assert run.last_error.message.startswith(f"The Chroma server at {url} failed")
