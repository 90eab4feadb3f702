"""Containers and container files: the Code Interpreter's sessions and their ``/mnt/data``.

Every thread (and so every conversation and response chain) whose code has
run has a container (``runs/code_calls.py`` records it); ``create`` makes a
free-standing one that a response names (``tools: [{"type":
"code_interpreter", "container": "cntr_..."}]``). A container's files are
Files: the ones given to it (``source: "user"``, placed in ``/mnt/data`` before
its next code runs) and the ones its code wrote (``"assistant"``), so
``containers.files.content`` serves the same bytes as ``files.content``.
Deleting a container stops its kernel; its Files stay.

Offline means no network: ``network_policy`` may only be ``disabled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai.types.container_create_params import ContainerCreateParams
from openai.types.container_retrieve_response import ContainerRetrieveResponse
from openai.types.containers.file_create_params import FileCreateParams
from openai.types.containers.file_retrieve_response import FileRetrieveResponse

from ..errors import InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now
from ..store import Slice, Store
from ..tools.code_interpreter import KernelSessions
from ..tools.code_interpreter.workdir import safe_name
from .checks.params import check_params
from .checks.validation import check_list_params, check_text

MAX_NAME = 256

# The hosted sizes a sandbox here can give (it caps memory at 2 GiB).
HONOURED_MEMORY = ("1g",)


class ContainerService:
    def __init__(self, store: Store, kernels: KernelSessions) -> None:
        self.store = store
        self.kernels = kernels

    def create(self, params: Mapping[str, Any]) -> ContainerRetrieveResponse:
        p = check_params(ContainerCreateParams, params)
        name = check_text(p.get("name"), "name", MAX_NAME, required=True)
        policy = p.get("network_policy")
        if policy is not None and policy.get("type") != "disabled":
            raise InvalidRequestError(
                "Invalid 'network_policy': containers never reach the network here; only "
                "{'type': 'disabled'} is accepted.",
                param="network_policy",
            )
        if p.get("skills"):
            raise InvalidRequestError(
                "Unsupported parameter 'skills': not available offline.", param="skills"
            )
        limit = p.get("memory_limit")
        if limit is not None and limit not in HONOURED_MEMORY:
            raise InvalidRequestError(
                f"Invalid 'memory_limit': {limit!r}; a container's sandbox has at most 2 GiB "
                "here, so only '1g' (the default) can be honoured.",
                param="memory_limit",
            )
        file_ids = list(p.get("file_ids") or [])
        for index, file_id in enumerate(file_ids):
            if not self.store.files.exists(file_id):
                raise NotFoundError(
                    f"No file found with id '{file_id}'.", param=f"file_ids[{index}]"
                )
        moment = now()
        container = ContainerRetrieveResponse.model_validate(
            {
                "id": new_id("cntr"),
                "object": "container",
                "name": name,
                "created_at": moment,
                "last_active_at": moment,
                "status": "running",
                "expires_after": p.get("expires_after"),
                "memory_limit": p.get("memory_limit"),
            }
        )
        with self.store.db.transaction():
            self.store.containers.insert(container, session=container.id)
            for file_id in file_ids:
                self._add(container.id, file_id)
        return container

    def _add(self, container_id: str, file_id: str) -> FileRetrieveResponse:
        file = self.store.files.get(file_id)
        if file is None:
            raise NotFoundError(f"No file found with id '{file_id}'.", param="file_id")
        row = FileRetrieveResponse(
            id=file.id,
            bytes=file.bytes,
            container_id=container_id,
            created_at=now(),
            object="container.file",
            path=f"/mnt/data/{safe_name(file.filename)}",
            source="user",
        )
        self.store.containers.add_file(row)
        return row

    def retrieve(self, container_id: str) -> ContainerRetrieveResponse:
        container = self.store.containers.get(container_id)
        if container is None:
            raise NotFoundError(
                f"Container with id '{container_id}' not found.", param="container_id"
            )
        return container

    def list(
        self, *, limit: Any = None, order: Any = None, after: Any = None
    ) -> Slice[ContainerRetrieveResponse]:
        params = check_list_params(limit, order, after, None)
        return self.store.containers.page(
            limit=params.limit, order=params.order, after=params.after, before=None
        )

    def delete(self, container_id: str) -> dict[str, Any]:
        self.retrieve(container_id)
        session = self.store.containers.session(container_id)
        self.store.containers.delete(container_id)
        if session is not None:
            self.kernels.release(session)
        return {"id": container_id, "object": "container.deleted", "deleted": True}

    # -- files ------------------------------------------------------------------------------

    def create_file(self, container_id: str, params: Mapping[str, Any]) -> FileRetrieveResponse:
        p = check_params(FileCreateParams, params, path=("container_id",))
        if p.get("file_id") is None:
            raise InvalidRequestError(
                "Missing 'file_id': upload the file with files.create first, then add it by id.",
                param="file_id",
            )
        self.retrieve(container_id)
        with self.store.db.transaction():
            return self._add(container_id, p["file_id"])

    def retrieve_file(self, container_id: str, file_id: str) -> FileRetrieveResponse:
        self.retrieve(container_id)
        found = self.store.containers.get_file(container_id, file_id)
        if found is None:
            raise NotFoundError(
                f"File '{file_id}' not found in container '{container_id}'.", param="file_id"
            )
        return found

    def list_files(
        self, container_id: str, *, limit: Any = None, order: Any = None, after: Any = None
    ) -> Slice[FileRetrieveResponse]:
        self.retrieve(container_id)
        params = check_list_params(limit, order, after, None)
        return self.store.containers.file_page(
            container_id, limit=params.limit, order=params.order, after=params.after
        )

    def file_content(self, container_id: str, file_id: str) -> bytes:
        self.retrieve_file(container_id, file_id)
        return self.store.files.read(file_id)

    def delete_file(self, container_id: str, file_id: str) -> None:
        self.retrieve_file(container_id, file_id)
        self.store.containers.delete_file(container_id, file_id)
