"""``client.vector_stores``: the SDK's Vector Stores resource (files, file batches), in process.

The poll helpers (``create_and_poll``, ``upload_and_poll``, ``poll``) wait
like the SDK's: they look again every ``poll_interval_ms`` (default 100 ms
here, as nothing crosses a network) until the file or batch is no longer
``in_progress``, and return it whatever its outcome (check ``status`` and
``last_error``). Ingestion itself runs in the background either way.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from openai.types.vector_store import VectorStore
from openai.types.vector_store_deleted import VectorStoreDeleted
from openai.types.vector_stores.vector_store_file import VectorStoreFile
from openai.types.vector_stores.vector_store_file_batch import VectorStoreFileBatch
from openai.types.vector_stores.vector_store_file_deleted import VectorStoreFileDeleted
from pydantic import BaseModel

from ..service import Runtime
from ..service.vector_stores import SearchPage
from ._common import OMIT, CursorPage, given, paged
from .files import FileInput, Files

POLL_INTERVAL_MS = 100
T = TypeVar("T", bound=BaseModel)


def _poll(fetch: Callable[[], T], poll_interval_ms: int | None) -> T:
    interval = (poll_interval_ms or POLL_INTERVAL_MS) / 1000
    while True:
        current = fetch()
        if getattr(current, "status", None) != "in_progress":
            return current
        time.sleep(interval)


class VectorStoreFiles:
    def __init__(self, runtime: Runtime, files: Files) -> None:
        self._service = runtime.vector_stores.files
        self._files = files

    def create(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        attributes: dict[str, Any] | None = OMIT,
        chunking_strategy: Any = OMIT,
    ) -> VectorStoreFile:
        params = given(file_id=file_id, attributes=attributes, chunking_strategy=chunking_strategy)
        return self._service.create(vector_store_id, params)

    def retrieve(self, file_id: str, *, vector_store_id: str) -> VectorStoreFile:
        return self._service.retrieve(file_id, vector_store_id=vector_store_id)

    def update(
        self, file_id: str, *, vector_store_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFile:
        return self._service.update(
            file_id, vector_store_id=vector_store_id, params={"attributes": attributes}
        )

    def list(
        self,
        vector_store_id: str,
        *,
        filter: str | None = None,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[VectorStoreFile]:
        return paged(
            self._service.list,
            vector_store_id,
            filter=filter,
            limit=limit,
            order=order,
            after=after,
            before=before,
        )

    def delete(self, file_id: str, *, vector_store_id: str) -> VectorStoreFileDeleted:
        return self._service.delete(file_id, vector_store_id=vector_store_id)

    def content(self, file_id: str, *, vector_store_id: str) -> builtins.list[dict[str, str]]:
        return self._service.content(file_id, vector_store_id=vector_store_id)

    def poll(
        self, file_id: str, *, vector_store_id: str, poll_interval_ms: int | None = None
    ) -> VectorStoreFile:
        return _poll(
            lambda: self.retrieve(file_id, vector_store_id=vector_store_id), poll_interval_ms
        )

    def create_and_poll(
        self,
        file_id: str,
        *,
        vector_store_id: str,
        attributes: dict[str, Any] | None = OMIT,
        chunking_strategy: Any = OMIT,
        poll_interval_ms: int | None = None,
    ) -> VectorStoreFile:
        self.create(
            file_id,
            vector_store_id=vector_store_id,
            attributes=attributes,
            chunking_strategy=chunking_strategy,
        )
        return self.poll(
            file_id, vector_store_id=vector_store_id, poll_interval_ms=poll_interval_ms
        )

    def upload(
        self, *, vector_store_id: str, file: FileInput, chunking_strategy: Any = OMIT
    ) -> VectorStoreFile:
        uploaded = self._files.create(file=file, purpose="assistants")
        return self.create(
            uploaded.id, vector_store_id=vector_store_id, chunking_strategy=chunking_strategy
        )

    def upload_and_poll(
        self,
        *,
        vector_store_id: str,
        file: FileInput,
        attributes: dict[str, Any] | None = OMIT,
        chunking_strategy: Any = OMIT,
        poll_interval_ms: int | None = None,
    ) -> VectorStoreFile:
        uploaded = self._files.create(file=file, purpose="assistants")
        return self.create_and_poll(
            uploaded.id,
            vector_store_id=vector_store_id,
            attributes=attributes,
            chunking_strategy=chunking_strategy,
            poll_interval_ms=poll_interval_ms,
        )


class FileBatches:
    def __init__(self, runtime: Runtime, files: Files) -> None:
        self._service = runtime.vector_stores.files
        self._files = files

    def create(
        self,
        vector_store_id: str,
        *,
        file_ids: builtins.list[str] = OMIT,
        files: builtins.list[dict[str, Any]] = OMIT,
        attributes: dict[str, Any] | None = OMIT,
        chunking_strategy: Any = OMIT,
    ) -> VectorStoreFileBatch:
        params = given(
            file_ids=file_ids,
            files=files,
            attributes=attributes,
            chunking_strategy=chunking_strategy,
        )
        return self._service.create_batch(vector_store_id, params)

    def retrieve(self, batch_id: str, *, vector_store_id: str) -> VectorStoreFileBatch:
        return self._service.retrieve_batch(batch_id, vector_store_id=vector_store_id)

    def cancel(self, batch_id: str, *, vector_store_id: str) -> VectorStoreFileBatch:
        return self._service.cancel_batch(batch_id, vector_store_id=vector_store_id)

    def list_files(
        self,
        batch_id: str,
        *,
        vector_store_id: str,
        filter: str | None = None,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[VectorStoreFile]:
        return paged(
            self._service.list_batch_files,
            batch_id,
            vector_store_id=vector_store_id,
            filter=filter,
            limit=limit,
            order=order,
            after=after,
            before=before,
        )

    def poll(
        self, batch_id: str, *, vector_store_id: str, poll_interval_ms: int | None = None
    ) -> VectorStoreFileBatch:
        return _poll(
            lambda: self.retrieve(batch_id, vector_store_id=vector_store_id), poll_interval_ms
        )

    def create_and_poll(
        self,
        vector_store_id: str,
        *,
        file_ids: builtins.list[str] = OMIT,
        files: builtins.list[dict[str, Any]] = OMIT,
        attributes: dict[str, Any] | None = OMIT,
        chunking_strategy: Any = OMIT,
        poll_interval_ms: int | None = None,
    ) -> VectorStoreFileBatch:
        batch = self.create(
            vector_store_id,
            file_ids=file_ids,
            files=files,
            attributes=attributes,
            chunking_strategy=chunking_strategy,
        )
        return self.poll(
            batch.id, vector_store_id=vector_store_id, poll_interval_ms=poll_interval_ms
        )

    def upload_and_poll(
        self,
        vector_store_id: str,
        *,
        files: Iterable[FileInput],
        file_ids: builtins.list[str] = [],  # noqa: B006 - the SDK's signature
        chunking_strategy: Any = OMIT,
        poll_interval_ms: int | None = None,
        max_concurrency: int = 5,
    ) -> VectorStoreFileBatch:
        uploaded = [self._files.create(file=f, purpose="assistants").id for f in files]
        return self.create_and_poll(
            vector_store_id,
            file_ids=[*file_ids, *uploaded],
            chunking_strategy=chunking_strategy,
            poll_interval_ms=poll_interval_ms,
        )


class VectorStores:
    def __init__(self, runtime: Runtime, files: Files) -> None:
        self._service = runtime.vector_stores
        self.files = VectorStoreFiles(runtime, files)
        self.file_batches = FileBatches(runtime, files)

    def create(
        self,
        *,
        name: str = OMIT,
        description: str = OMIT,
        file_ids: builtins.list[str] = OMIT,
        chunking_strategy: Any = OMIT,
        expires_after: Any = OMIT,
        metadata: dict[str, str] | None = OMIT,
    ) -> VectorStore:
        return self._service.create(
            given(
                name=name,
                description=description,
                file_ids=file_ids,
                chunking_strategy=chunking_strategy,
                expires_after=expires_after,
                metadata=metadata,
            )
        )

    def retrieve(self, vector_store_id: str) -> VectorStore:
        return self._service.retrieve(vector_store_id)

    def update(
        self,
        vector_store_id: str,
        *,
        name: str | None = OMIT,
        expires_after: Any = OMIT,
        metadata: dict[str, str] | None = OMIT,
    ) -> VectorStore:
        params = given(name=name, expires_after=expires_after, metadata=metadata)
        return self._service.update(vector_store_id, params)

    def delete(self, vector_store_id: str) -> VectorStoreDeleted:
        return self._service.delete(vector_store_id)

    def list(
        self,
        *,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[VectorStore]:
        return paged(self._service.list, limit=limit, order=order, after=after, before=before)

    def search(
        self,
        vector_store_id: str,
        *,
        query: str | builtins.list[str],
        filters: Any = OMIT,
        max_num_results: int = OMIT,
        ranking_options: Any = OMIT,
        rewrite_query: bool = OMIT,
    ) -> SearchPage:
        return self._service.search(
            vector_store_id,
            given(
                query=query,
                filters=filters,
                max_num_results=max_num_results,
                ranking_options=ranking_options,
                rewrite_query=rewrite_query,
            ),
        )
