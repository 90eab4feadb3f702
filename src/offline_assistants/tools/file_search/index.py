"""The vector index: one persistent Chroma collection per vector store, under the data dir.

Each chunk is stored with its embedding, its text and where it came from
(``file_id``, chunk index, pages). ``delete_file`` removes a file's chunks;
``search`` returns the nearest chunks with a similarity score in [0, 1]
(1 - cosine distance, clipped), filtered
by ``score_threshold``. Chroma's telemetry is off and no embedding function
of Chroma's is ever used (it would download one): vectors come from
``Embedder``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chunking import Chunk


@dataclass(frozen=True)
class Hit:
    file_id: str
    chunk_index: int
    text: str
    score: float
    first_page: int
    last_page: int


class VectorIndex:
    def __init__(self, directory: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        directory.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(directory), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )

    def _collection(self, vector_store_id: str) -> Any:
        return self._client.get_or_create_collection(
            vector_store_id, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def add(
        self,
        vector_store_id: str,
        file_id: str,
        chunks: list[Chunk],
        embeddings: list[list[float]],
    ) -> None:
        if not chunks:
            return
        self._collection(vector_store_id).upsert(
            ids=[f"{file_id}:{chunk.index}" for chunk in chunks],
            embeddings=embeddings,
            documents=[chunk.text for chunk in chunks],
            metadatas=[
                {
                    "file_id": file_id,
                    "chunk": chunk.index,
                    "first_page": chunk.first_page,
                    "last_page": chunk.last_page,
                }
                for chunk in chunks
            ],
        )

    def delete_file(self, vector_store_id: str, file_id: str) -> None:
        self._collection(vector_store_id).delete(where={"file_id": file_id})

    def drop(self, vector_store_id: str) -> None:
        try:
            self._client.delete_collection(vector_store_id)
        except Exception:  # noqa: BLE001 - Chroma raises different types for "no such collection"
            return

    def count(self, vector_store_id: str) -> int:
        return int(self._collection(vector_store_id).count())

    def search(
        self,
        vector_store_id: str,
        query: list[float],
        limit: int,
        score_threshold: float = 0.0,
    ) -> list[Hit]:
        collection = self._collection(vector_store_id)
        total = collection.count()
        if total == 0:
            return []
        found = collection.query(
            query_embeddings=[query],
            n_results=min(limit, total),
            include=["documents", "metadatas", "distances"],
        )
        hits = []
        for text, meta, distance in zip(
            found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
        ):
            score = max(0.0, min(1.0, 1.0 - float(distance)))
            if score < score_threshold:
                continue
            hits.append(
                Hit(
                    file_id=str(meta["file_id"]),
                    chunk_index=int(meta["chunk"]),
                    text=str(text),
                    score=score,
                    first_page=int(meta["first_page"]),
                    last_page=int(meta["last_page"]),
                )
            )
        return hits
