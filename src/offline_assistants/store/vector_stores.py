"""Vector stores, their files and file batches in DuckDB.

A vector store's row holds its wire JSON; ``file_counts``, ``usage_bytes``
and ``status`` are not trusted from it but counted from its files' rows when
read (``FileTally``), so they are true by construction. A vector-store file
is keyed by (store, file id): one File may sit in several stores. Its
``status`` and ``usage_bytes`` are columns too, for the counts and the
``filter`` of the files list; ``batch_id`` names the batch that added it
last. The chunks themselves live in the Chroma index, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from openai.types.vector_store import VectorStore
from openai.types.vector_stores.vector_store_file import VectorStoreFile
from openai.types.vector_stores.vector_store_file_batch import VectorStoreFileBatch

from .database import Database
from .table import Order, Slice, Table

STATUSES = ("in_progress", "completed", "cancelled", "failed")


@dataclass(frozen=True)
class FileTally:
    """How many files are in each status, and the bytes the completed ones use."""

    in_progress: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    usage_bytes: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.cancelled + self.failed

    def counts(self) -> dict[str, int]:
        return {status: getattr(self, status) for status in STATUSES} | {"total": self.total}


def is_expired(vector_store: VectorStore, moment: float) -> bool:
    """Past its ``expires_at`` (stores without an expiry policy never expire)."""
    return vector_store.expires_at is not None and vector_store.expires_at <= moment


class VectorStoreRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "vector_stores", VectorStore)
        self.files = Table(db, "vector_store_files", VectorStoreFile)
        self.batches = Table(db, "vector_store_file_batches", VectorStoreFileBatch)

    # -- stores ----------------------------------------------------------------------------

    def insert(self, store: VectorStore) -> None:
        self.table.insert(store)

    def update(self, store: VectorStore) -> None:
        self.table.update(store)

    def get(self, vector_store_id: str) -> VectorStore | None:
        return self.table.get(vector_store_id)

    def exists(self, vector_store_id: str) -> bool:
        return self.table.get_column(vector_store_id, "id") is not None

    def page(self, **cursor: object) -> Slice[VectorStore]:
        return self.table.page({}, **cursor)  # type: ignore[arg-type]

    def delete(self, vector_store_id: str) -> bool:
        with self.db.transaction():
            for child in ("vector_store_files", "vector_store_file_batches"):
                self.db.execute(f"DELETE FROM {child} WHERE vector_store_id = ?", [vector_store_id])
            return self.table.delete(id=vector_store_id) > 0

    def tally(self, vector_store_id: str, batch_id: str | None = None) -> FileTally:
        where, params = "vector_store_id = ?", [vector_store_id]
        if batch_id is not None:
            where, params = where + " AND batch_id = ?", [*params, batch_id]
        rows = self.db.fetchall(
            f"SELECT status, count(*), sum(usage_bytes) FROM vector_store_files WHERE {where}"
            " GROUP BY status",
            params,
        )
        counts = {status: int(count) for status, count, _ in rows}
        used = sum(int(size or 0) for status, _, size in rows if status == "completed")
        return FileTally(**counts, usage_bytes=used)

    # -- files -----------------------------------------------------------------------------

    def insert_file(self, file: VectorStoreFile, batch_id: str | None = None) -> None:
        self.files.insert(
            file,
            vector_store_id=file.vector_store_id,
            status=file.status,
            batch_id=batch_id,
            usage_bytes=file.usage_bytes,
        )

    def update_file(self, file: VectorStoreFile, batch_id: str | None = None) -> None:
        columns: dict[str, object] = {"status": file.status, "usage_bytes": file.usage_bytes}
        if batch_id is not None:
            columns["batch_id"] = batch_id
        self.files.update(file, scope={"vector_store_id": file.vector_store_id}, **columns)

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile | None:
        return self.files.get(file_id, vector_store_id=vector_store_id)

    def has_file(self, vector_store_id: str, file_id: str) -> bool:
        return self.files.exists(file_id, vector_store_id=vector_store_id)

    def delete_file(self, vector_store_id: str, file_id: str) -> bool:
        return self.files.delete(id=file_id, vector_store_id=vector_store_id) > 0

    def stores_with_file(self, file_id: str) -> list[str]:
        rows = self.db.fetchall(
            "SELECT vector_store_id FROM vector_store_files WHERE id = ?", [file_id]
        )
        return [str(row[0]) for row in rows]

    def files_in(
        self, vector_store_id: str, status: str | None = None, batch_id: str | None = None
    ) -> list[VectorStoreFile]:
        where = {"vector_store_id": vector_store_id}
        if status is not None:
            where["status"] = status
        if batch_id is not None:
            where["batch_id"] = batch_id
        return self.files.select(where)

    def files_in_progress(self) -> list[VectorStoreFile]:
        return self.files.select({"status": "in_progress"})

    def file_page(
        self,
        vector_store_id: str,
        *,
        status: str | None,
        batch_id: str | None = None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> Slice[VectorStoreFile]:
        where: dict[str, object] = {"vector_store_id": vector_store_id}
        if status is not None:
            where["status"] = status
        if batch_id is not None:
            where["batch_id"] = batch_id
        return self.files.page(where, limit=limit, order=order, after=after, before=before)

    # -- batches ---------------------------------------------------------------------------

    def insert_batch(self, batch: VectorStoreFileBatch) -> None:
        self.batches.insert(batch, vector_store_id=batch.vector_store_id)

    def update_batch(self, batch: VectorStoreFileBatch) -> None:
        self.batches.update(batch)

    def get_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch | None:
        return self.batches.get(batch_id, vector_store_id=vector_store_id)
