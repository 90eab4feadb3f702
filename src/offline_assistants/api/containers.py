"""``client.containers`` (and ``.files``, ``.files.content``): the SDK's Containers resource,
in process (``service/containers.py``)."""

from __future__ import annotations

import builtins
from typing import Any

from openai.types.container_retrieve_response import ContainerRetrieveResponse
from openai.types.containers.file_retrieve_response import FileRetrieveResponse

from ..service import Runtime
from ._common import OMIT, CursorPage, given, paged
from .files import FileContent


class Content:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.containers

    def retrieve(self, file_id: str, *, container_id: str) -> FileContent:
        return FileContent(self._service.file_content(container_id, file_id))


class ContainerFiles:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.containers
        self.content = Content(runtime)

    def create(self, container_id: str, *, file_id: str) -> FileRetrieveResponse:
        return self._service.create_file(container_id, {"file_id": file_id})

    def retrieve(self, file_id: str, *, container_id: str) -> FileRetrieveResponse:
        return self._service.retrieve_file(container_id, file_id)

    def list(
        self,
        container_id: str,
        *,
        after: str | None = OMIT,
        limit: int | None = OMIT,
        order: str | None = OMIT,
    ) -> CursorPage[FileRetrieveResponse]:
        return paged(
            self._service.list_files,
            container_id,
            **given(after=after, limit=limit, order=order),
        )

    def delete(self, file_id: str, *, container_id: str) -> None:
        self._service.delete_file(container_id, file_id)


class Containers:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.containers
        self.files = ContainerFiles(runtime)

    def create(
        self,
        *,
        name: str,
        file_ids: builtins.list[str] | None = OMIT,
        expires_after: Any = OMIT,
        memory_limit: str | None = OMIT,
        network_policy: Any = OMIT,
    ) -> ContainerRetrieveResponse:
        return self._service.create(
            given(
                name=name,
                file_ids=file_ids,
                expires_after=expires_after,
                memory_limit=memory_limit,
                network_policy=network_policy,
            )
        )

    def retrieve(self, container_id: str) -> ContainerRetrieveResponse:
        return self._service.retrieve(container_id)

    def list(
        self, *, after: str | None = OMIT, limit: int | None = OMIT, order: str | None = OMIT
    ) -> CursorPage[ContainerRetrieveResponse]:
        return paged(self._service.list, **given(after=after, limit=limit, order=order))

    def delete(self, container_id: str) -> None:
        self._service.delete(container_id)
