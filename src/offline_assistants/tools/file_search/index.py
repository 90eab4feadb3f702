"""The vector index: one Chroma collection per vector store, under the data dir or on a server.

By default Chroma runs embedded, persisting under the data dir; with ``url``
(``--chroma-url``) the same collections live in a Chroma server
(``chromadb.HttpClient``), which other processes and machines can reach too.
Everything below is the same either way.

Each chunk is stored as one entry per window (see ``chunking``): the
window's embedding, and where it came from (``file_id``, chunk index,
pages). The chunk's text is stored once, as the document of its first
window. ``search`` asks Chroma for the nearest windows, scores each chunk by
its best window, and returns the chunks with a similarity score in [0, 1]
(1 - cosine distance, clipped), filtered by ``score_threshold``.
``delete_file`` removes a file's entries. Chroma's telemetry is off and no
embedding function of Chroma's is ever used (it would download one): vectors
come from ``Embedder``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from ...errors import OfflineAssistantsError, VectorIndexError
from .chunking import Chunk

Method = TypeVar("Method", bound=Callable[..., Any])

# Windows asked of Chroma per chunk wanted: a chunk has at most this many windows (auto: 4).
WINDOWS_PER_CHUNK = 4


@dataclass(frozen=True)
class Hit:
    file_id: str
    chunk_index: int
    text: str
    score: float
    first_page: int
    last_page: int


@dataclass(frozen=True)
class _Entry:
    id: str
    vector: list[float]
    meta: dict[str, str | int]
    document: str | None


def _reaching_server(method: Method) -> Method:
    """With a Chroma server, its failures (down, refused, broken off) become a
    :class:`VectorIndexError` naming it; embedded, errors pass as they are."""

    @functools.wraps(method)
    def call(self: VectorIndex, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except OfflineAssistantsError:
            raise
        except Exception as exc:
            if self.url is None:
                raise
            raise VectorIndexError(
                f"The Chroma server at {self.url} failed ({type(exc).__name__}: {exc})"
            ) from exc

    return cast(Method, call)


class VectorIndex:
    def __init__(self, directory: Path, url: str | None = None) -> None:
        """The index under ``directory``, or on the Chroma server at ``url`` (``http(s)://host:port``)."""
        self.directory = directory
        self.url = url
        self._opened: Any = None
        self._lock = threading.Lock()

    @property
    def _client(self) -> Any:
        """The Chroma client, opened on first use (a runtime without file_search never pays)."""
        with self._lock:
            if self._opened is None:
                self._opened = self._open()
            return self._opened

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if self.url is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.directory), settings=settings)
        server = urlsplit(self.url)
        https = server.scheme == "https"
        return chromadb.HttpClient(
            host=server.hostname or "127.0.0.1",
            port=server.port or (443 if https else 8000),
            ssl=https,
            settings=settings,
        )

    def _collection(self, vector_store_id: str) -> Any:
        return self._client.get_or_create_collection(
            vector_store_id, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def _existing(self, vector_store_id: str) -> Any:
        """The store's collection, or None: reading never creates one."""
        from chromadb.errors import NotFoundError

        client = self._client
        try:
            return client.get_collection(vector_store_id, embedding_function=None)
        except (NotFoundError, ValueError):  # ValueError: "does not exist" before Chroma 1.0
            return None

    @_reaching_server
    def stores(self) -> set[str]:
        """The vector stores that have a collection."""
        return {str(getattr(c, "name", c)) for c in self._client.list_collections()}

    @_reaching_server
    def add(
        self,
        vector_store_id: str,
        file_id: str,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[list[float]]],
    ) -> None:
        """Store ``chunks``; ``vectors[i]`` are the embeddings of ``chunks[i].windows``."""
        entries = [
            _Entry(
                f"{file_id}:{chunk.index}:{w}",
                vector,
                {
                    "file_id": file_id,
                    "chunk": chunk.index,
                    "window": w,
                    "first_page": chunk.first_page,
                    "last_page": chunk.last_page,
                },
                chunk.text if w == 0 else None,
            )
            for chunk, chunk_vectors in zip(chunks, vectors, strict=True)
            for w, vector in enumerate(chunk_vectors)
        ]
        collection = self._collection(vector_store_id)
        for batch in _batches(entries, self._client.get_max_batch_size()):
            for with_text in (True, False):
                part = [e for e in batch if (e.document is not None) == with_text]
                if part:
                    collection.upsert(
                        ids=[e.id for e in part],
                        embeddings=[e.vector for e in part],
                        metadatas=[e.meta for e in part],
                        documents=[e.document or "" for e in part] if with_text else None,
                    )

    @_reaching_server
    def delete_file(self, vector_store_id: str, file_id: str) -> None:
        collection = self._existing(vector_store_id)
        if collection is not None:
            collection.delete(where={"file_id": file_id})

    @_reaching_server
    def file_texts(self, vector_store_id: str, file_id: str) -> list[str]:
        """A file's chunk texts in document order."""
        collection = self._existing(vector_store_id)
        if collection is None:
            return []
        got = collection.get(
            where={"$and": [{"file_id": file_id}, {"window": 0}]},
            include=["documents", "metadatas"],
        )
        pairs = sorted(
            zip(got["metadatas"], got["documents"], strict=True), key=lambda p: int(p[0]["chunk"])
        )
        return [str(text or "") for _, text in pairs]

    @_reaching_server
    def pages(self, vector_store_ids: Sequence[str], file_id: str, text: str) -> tuple[int, int]:
        """The first and last page of the chunk of ``file_id`` whose text is ``text``, in
        the first of ``vector_store_ids`` that holds it; (0, 0) where none does."""
        for vector_store_id in vector_store_ids:
            collection = self._existing(vector_store_id)
            if collection is None:
                continue
            got = collection.get(
                where={"$and": [{"file_id": file_id}, {"window": 0}]},
                include=["documents", "metadatas"],
            )
            for meta, document in zip(got["metadatas"], got["documents"], strict=True):
                if document == text:
                    return int(meta["first_page"]), int(meta["last_page"])
        return 0, 0

    @_reaching_server
    def drop(self, vector_store_id: str) -> None:
        try:
            self._client.delete_collection(vector_store_id)
        except Exception:  # noqa: BLE001 - Chroma raises different types for "no such collection"
            return

    @_reaching_server
    def count(self, vector_store_id: str) -> int:
        """How many chunks the store holds."""
        collection = self._existing(vector_store_id)
        if collection is None:
            return 0
        return len(collection.get(where={"window": 0}, include=[])["ids"])

    @_reaching_server
    def search(
        self,
        vector_store_id: str,
        query: list[float],
        limit: int,
        score_threshold: float = 0.0,
        file_ids: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The ``limit`` best chunks, best first; only of ``file_ids`` when given."""
        collection = self._existing(vector_store_id)
        total = 0 if collection is None else collection.count()
        if total == 0 or (file_ids is not None and not file_ids):
            return []
        where = None if file_ids is None else {"file_id": {"$in": list(file_ids)}}
        found = collection.query(
            query_embeddings=[query],
            n_results=min(limit * WINDOWS_PER_CHUNK, total),
            where=where,
            include=["metadatas", "distances"],
        )
        best: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}
        for meta, distance in zip(found["metadatas"][0], found["distances"][0], strict=True):
            score = max(0.0, min(1.0, 1.0 - float(distance)))
            key = (str(meta["file_id"]), int(meta["chunk"]))
            if score >= score_threshold and (key not in best or best[key][0] < score):
                best[key] = (score, meta)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:limit]
        if not ranked:
            return []
        ids = [f"{file_id}:{chunk}:0" for (file_id, chunk), _ in ranked]
        texts = dict(zip(*_get(collection, ids), strict=True))
        return [
            Hit(
                file_id=file_id,
                chunk_index=chunk,
                text=texts.get(entry_id, ""),
                score=score,
                first_page=int(meta["first_page"]),
                last_page=int(meta["last_page"]),
            )
            for entry_id, ((file_id, chunk), (score, meta)) in zip(ids, ranked, strict=True)
        ]

    @_reaching_server
    def search_many(
        self,
        vector_store_ids: Sequence[str],
        query: list[float],
        limit: int,
        score_threshold: float = 0.0,
    ) -> list[Hit]:
        """The best chunks across several stores (a file in two stores counts once)."""
        merged: dict[tuple[str, int], Hit] = {}
        for store_id in vector_store_ids:
            for hit in self.search(store_id, query, limit, score_threshold):
                key = (hit.file_id, hit.chunk_index)
                if key not in merged or merged[key].score < hit.score:
                    merged[key] = hit
        return sorted(merged.values(), key=lambda hit: -hit.score)[:limit]


def _get(collection: Any, ids: list[str]) -> tuple[list[str], list[str]]:
    got = collection.get(ids=ids, include=["documents"])
    return list(got["ids"]), [str(d or "") for d in got["documents"]]


def _batches(entries: list[_Entry], size: int) -> Iterator[list[_Entry]]:
    for start in range(0, len(entries), max(1, size)):
        yield entries[start : start + size]
