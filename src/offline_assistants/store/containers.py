"""Containers and their files in DuckDB.

A container is a Code Interpreter session (a sandboxed kernel with its
``/mnt/data``) by name. Each thread's session is a container of its own
(``cntr_`` + the thread id's suffix), recorded the first time code runs there;
``containers.create`` makes free-standing ones, whose session is the container
itself. ``session`` is the kernel's key. A container file row records a File
(same id) placed in or written to that ``/mnt/data``.
"""

from __future__ import annotations

from openai.types.container_retrieve_response import ContainerRetrieveResponse
from openai.types.containers.file_retrieve_response import FileRetrieveResponse

from .database import Database
from .table import Order, Slice, Table


class ContainerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "containers", ContainerRetrieveResponse)
        self.files = Table(db, "container_files", FileRetrieveResponse)

    def insert(self, container: ContainerRetrieveResponse, session: str) -> None:
        self.table.insert(container, session=session)

    def update(self, container: ContainerRetrieveResponse) -> None:
        self.table.update(container)

    def get(self, container_id: str) -> ContainerRetrieveResponse | None:
        return self.table.get(container_id)

    def exists(self, container_id: str) -> bool:
        return self.table.exists(container_id)

    def session(self, container_id: str) -> str | None:
        value = self.table.get_column(container_id, "session")
        return None if value is None else str(value)

    def page(
        self, *, limit: int, order: Order, after: str | None, before: str | None
    ) -> Slice[ContainerRetrieveResponse]:
        return self.table.page({}, limit=limit, order=order, after=after, before=before)

    def delete(self, container_id: str) -> bool:
        with self.db.transaction():
            self.files.delete(container_id=container_id)
            return self.table.delete(id=container_id) > 0

    # -- files ------------------------------------------------------------------------------

    def add_file(self, file: FileRetrieveResponse) -> None:
        if not self.files.exists(file.id, container_id=file.container_id):
            self.files.insert(file, container_id=file.container_id)

    def get_file(self, container_id: str, file_id: str) -> FileRetrieveResponse | None:
        return self.files.get(file_id, container_id=container_id)

    def files_in(self, container_id: str) -> list[FileRetrieveResponse]:
        return self.files.select({"container_id": container_id})

    def file_page(
        self, container_id: str, *, limit: int, order: Order, after: str | None
    ) -> Slice[FileRetrieveResponse]:
        return self.files.page(
            {"container_id": container_id}, limit=limit, order=order, after=after, before=None
        )

    def delete_file(self, container_id: str, file_id: str) -> bool:
        return self.files.delete(id=file_id, container_id=container_id) > 0
