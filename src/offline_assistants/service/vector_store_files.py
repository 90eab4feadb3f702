"""Vector-store files and file batches: attach, retrieve, update, list, remove, cancel.

Attaching a File stores an ``in_progress`` row and, once the transaction
commits, hands it to ``Ingestion``; the call returns at once. Removing a file
from a store (or deleting the File itself, or the store) deletes its rows
first and its chunks after the commit, so an index never keeps chunks of a
file the database no longer lists. A batch's ``file_counts`` and status are
counted from the rows it added; cancelling it cancels those still in
progress, which stops their ingestion.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from openai.types.vector_stores.file_batch_create_params import FileBatchCreateParams
from openai.types.vector_stores.file_create_params import FileCreateParams
from openai.types.vector_stores.file_update_params import FileUpdateParams
from openai.types.vector_stores.vector_store_file import VectorStoreFile
from openai.types.vector_stores.vector_store_file_batch import VectorStoreFileBatch
from openai.types.vector_stores.vector_store_file_deleted import VectorStoreFileDeleted

from ..errors import InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now, updated
from ..store import FileTally, Slice, Store
from ..tools.file_search import VectorIndex
from ..tools.file_search.chunking import AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS
from .checks.params import check_params
from .checks.validation import check_list_params

MAX_BATCH_FILES = 500
MAX_ATTRIBUTES = 16
FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")


def check_chunking_strategy(value: Any, param: str = "chunking_strategy") -> dict[str, Any]:
    """``auto`` (800/400) or ``static``, as the static object a vector-store file reports."""
    size: Any
    overlap: Any
    if value is None or value == {"type": "auto"}:
        size, overlap = AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS
    elif (
        isinstance(value, dict)
        and value.get("type") == "static"
        and set(value)
        == {
            "type",
            "static",
        }
    ):
        static = value["static"] if isinstance(value["static"], dict) else {}
        size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
        if not _int_in(size, 100, 4096):
            raise InvalidRequestError(
                f"Invalid '{param}.static.max_chunk_size_tokens': an integer from 100 to 4096.",
                param=param,
            )
        if not _int_in(overlap, 0, size // 2):
            raise InvalidRequestError(
                f"Invalid '{param}.static.chunk_overlap_tokens': an integer from 0 to half of "
                "max_chunk_size_tokens.",
                param=param,
            )
    else:
        raise InvalidRequestError(
            f'Invalid \'{param}\': expected {{"type": "auto"}} or {{"type": "static", "static": '
            '{"max_chunk_size_tokens": ..., "chunk_overlap_tokens": ...}}.',
            param=param,
        )
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


def check_attributes(value: Any, param: str = "attributes") -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_ATTRIBUTES:
        raise InvalidRequestError(
            f"Invalid '{param}': an object of at most {MAX_ATTRIBUTES} keys.", param=param
        )
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > 64:
            raise InvalidRequestError(
                f"Invalid '{param}': keys are at most 64 characters.", param=param
            )
        if not isinstance(item, str | int | float | bool) or (
            isinstance(item, str) and len(item) > 512
        ):
            raise InvalidRequestError(
                f"Invalid '{param}.{key}': a string (≤ 512 characters), number or boolean.",
                param=param,
            )
    return dict(value)


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class VectorStoreFileService:
    def __init__(
        self, store: Store, index: VectorIndex, submit: Callable[[str, str], None]
    ) -> None:
        self.store = store
        self.index = index
        self.submit = submit

    def _store(self, vector_store_id: str) -> None:
        if not self.store.vector_stores.exists(vector_store_id):
            raise NotFoundError(
                f"No vector store found with id '{vector_store_id}'.", param="vector_store_id"
            )

    def attach(
        self,
        vector_store_id: str,
        file_ids: list[str],
        strategy: dict[str, Any],
        attributes: dict[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> list[VectorStoreFile]:
        """Rows for ``file_ids`` (inside the caller's transaction); new ones are ingested after
        the commit. A file already in the store keeps its row unless it failed or was cancelled."""
        repository = self.store.vector_stores
        rows = []
        for file_id in file_ids:
            existing = repository.get_file(vector_store_id, file_id)
            if existing is not None and existing.status in ("in_progress", "completed"):
                if batch_id is not None:
                    repository.update_file(existing, batch_id=batch_id)
                rows.append(existing)
                continue
            if existing is not None:
                repository.delete_file(vector_store_id, file_id)
            row = VectorStoreFile.model_validate(
                {
                    "id": file_id,
                    "object": "vector_store.file",
                    "created_at": now(),
                    "vector_store_id": vector_store_id,
                    "status": "in_progress",
                    "usage_bytes": 0,
                    "last_error": None,
                    "chunking_strategy": strategy,
                    "attributes": attributes,
                }
            )
            repository.insert_file(row, batch_id)
            self.store.db.after_commit(
                lambda fid=file_id: self.submit(vector_store_id, fid)  # type: ignore[misc]
            )
            rows.append(row)
        return rows

    def check_files(self, file_ids: Any, param: str = "file_ids") -> list[str]:
        if not isinstance(file_ids, list) or not 1 <= len(file_ids) <= MAX_BATCH_FILES:
            raise InvalidRequestError(
                f"Invalid '{param}': a list of 1 to {MAX_BATCH_FILES} file ids.", param=param
            )
        for file_id in file_ids:
            if not isinstance(file_id, str) or not self.store.files.exists(file_id):
                raise InvalidRequestError(
                    f"Invalid '{param}': no file with id {file_id!r}.", param=param
                )
        return list(dict.fromkeys(file_ids))

    # -- files -----------------------------------------------------------------------------

    def create(self, vector_store_id: str, params: Mapping[str, Any]) -> VectorStoreFile:
        p = check_params(FileCreateParams, params)
        file_id, attributes = p["file_id"], p.get("attributes")
        chunking_strategy = p.get("chunking_strategy")
        if not isinstance(file_id, str) or not self.store.files.exists(file_id):
            raise InvalidRequestError(f"No file found with id {file_id!r}.", param="file_id")
        strategy = check_chunking_strategy(chunking_strategy)
        checked = check_attributes(attributes)
        with self.store.db.transaction():
            self._store(vector_store_id)
            return self.attach(vector_store_id, [file_id], strategy, checked)[0]

    def retrieve(self, file_id: str, *, vector_store_id: str) -> VectorStoreFile:
        self._store(vector_store_id)
        row = self.store.vector_stores.get_file(vector_store_id, file_id)
        if row is None:
            raise NotFoundError(
                f"No file with id '{file_id}' in vector store '{vector_store_id}'.",
                param="file_id",
            )
        return row

    def update(
        self, file_id: str, *, vector_store_id: str, params: Mapping[str, Any]
    ) -> VectorStoreFile:
        p = check_params(FileUpdateParams, params, path=("vector_store_id",))
        if "attributes" not in p:  # the SDK always sends it; omitted, nothing changes
            return self.retrieve(file_id, vector_store_id=vector_store_id)
        checked = check_attributes(p["attributes"])
        with self.store.db.transaction():
            row = updated(
                self.retrieve(file_id, vector_store_id=vector_store_id), attributes=checked
            )
            self.store.vector_stores.update_file(row)
        return row

    def list(
        self,
        vector_store_id: str,
        *,
        filter: Any = None,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
        batch_id: str | None = None,
    ) -> Slice[VectorStoreFile]:
        if filter is not None and filter not in FILE_STATUSES:
            raise InvalidRequestError(
                f"Invalid 'filter': {filter!r}; expected one of {', '.join(FILE_STATUSES)}.",
                param="filter",
            )
        params = check_list_params(limit, order, after, before)
        self._store(vector_store_id)
        return self.store.vector_stores.file_page(
            vector_store_id,
            status=filter,
            batch_id=batch_id,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )

    def delete(self, file_id: str, *, vector_store_id: str) -> VectorStoreFileDeleted:
        """Remove the file from the store (its chunks go; the File stays)."""
        with self.store.db.transaction():
            self._store(vector_store_id)
            if not self.store.vector_stores.has_file(vector_store_id, file_id):  # body unread:
                raise NotFoundError(  # even a row that no longer parses can be removed
                    f"No file with id '{file_id}' in vector store '{vector_store_id}'.",
                    param="file_id",
                )
            self._remove(vector_store_id, file_id)
        return VectorStoreFileDeleted(id=file_id, deleted=True, object="vector_store.file.deleted")

    def _remove(self, vector_store_id: str, file_id: str) -> None:
        self.store.vector_stores.delete_file(vector_store_id, file_id)
        self.store.db.after_commit(lambda: self.index.delete_file(vector_store_id, file_id))

    def file_deleted(self, file_id: str) -> None:
        """A File is being deleted: take it out of every store (inside that transaction)."""
        for vector_store_id in self.store.vector_stores.stores_with_file(file_id):
            self._remove(vector_store_id, file_id)

    def content(self, file_id: str, *, vector_store_id: str) -> builtins.list[dict[str, str]]:
        """The file's parsed text, chunk by chunk, as the API's content pages."""
        row = self.retrieve(file_id, vector_store_id=vector_store_id)
        if row.status != "completed":
            return []
        return [
            {"type": "text", "text": text}
            for text in self.index.file_texts(vector_store_id, file_id)
        ]

    # -- batches ---------------------------------------------------------------------------

    def create_batch(self, vector_store_id: str, params: Mapping[str, Any]) -> VectorStoreFileBatch:
        """Attach many files at once; ``files`` entries may carry their own attributes and
        chunking strategy, ``file_ids`` use the batch's."""
        p = check_params(FileBatchCreateParams, params)
        file_ids, files, attributes = p.get("file_ids"), p.get("files"), p.get("attributes")
        chunking_strategy = p.get("chunking_strategy")
        if (file_ids is None) == (files is None):
            raise InvalidRequestError(
                "Give exactly one of 'file_ids' and 'files'.", param="file_ids"
            )
        strategy = check_chunking_strategy(chunking_strategy)
        shared = check_attributes(attributes)
        entries: builtins.list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        if file_ids is not None:
            entries = [(fid, strategy, shared) for fid in self.check_files(file_ids)]
        else:
            if not isinstance(files, list):
                raise InvalidRequestError("Invalid 'files': expected a list.", param="files")
            ids = self.check_files(
                [f.get("file_id") if isinstance(f, dict) else None for f in files], "files"
            )
            for fid, item in zip(ids, files, strict=False):
                entries.append(
                    (
                        fid,
                        check_chunking_strategy(
                            item.get("chunking_strategy"), "files.chunking_strategy"
                        )
                        if item.get("chunking_strategy") is not None
                        else strategy,
                        check_attributes(item.get("attributes"), "files.attributes") or shared,
                    )
                )
        batch = VectorStoreFileBatch.model_validate(
            {
                "id": new_id("vsfb"),
                "object": "vector_store.files_batch",
                "created_at": now(),
                "vector_store_id": vector_store_id,
                "status": "in_progress",
                "file_counts": FileTally().counts(),
            }
        )
        with self.store.db.transaction():
            self._store(vector_store_id)
            self.store.vector_stores.insert_batch(batch)
            for fid, file_strategy, file_attributes in entries:
                self.attach(vector_store_id, [fid], file_strategy, file_attributes, batch.id)
        return self.retrieve_batch(batch.id, vector_store_id=vector_store_id)

    def retrieve_batch(self, batch_id: str, *, vector_store_id: str) -> VectorStoreFileBatch:
        self._store(vector_store_id)
        batch = self.store.vector_stores.get_batch(vector_store_id, batch_id)
        if batch is None:
            raise NotFoundError(f"No file batch found with id '{batch_id}'.", param="batch_id")
        tally = self.store.vector_stores.tally(vector_store_id, batch_id)
        status = batch.status
        if status != "cancelled":
            status = "in_progress" if tally.in_progress else "completed"
        return updated(batch, status=status, file_counts=tally.counts())

    def cancel_batch(self, batch_id: str, *, vector_store_id: str) -> VectorStoreFileBatch:
        """Cancel the batch: its files still in progress end ``cancelled`` (their ingestion stops)."""
        repository = self.store.vector_stores
        with self.store.db.transaction():
            batch = self.retrieve_batch(batch_id, vector_store_id=vector_store_id)
            if batch.status == "in_progress":
                for row in repository.files_in(vector_store_id, "in_progress", batch_id):
                    repository.update_file(updated(row, status="cancelled"))
                repository.update_batch(updated(batch, status="cancelled"))
        return self.retrieve_batch(batch_id, vector_store_id=vector_store_id)

    def list_batch_files(
        self, batch_id: str, *, vector_store_id: str, **params: Any
    ) -> Slice[VectorStoreFile]:
        self.retrieve_batch(batch_id, vector_store_id=vector_store_id)
        return self.list(vector_store_id, batch_id=batch_id, **params)
