"""``client.files``: the SDK's Files resource, in process.

``create(file=...)`` takes what the SDK takes: bytes, a binary file object, a
path, or a ``(filename, contents[, mime type])`` tuple. ``content()`` returns
a :class:`FileContent` with the SDK's binary-response methods.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from openai.types.file_deleted import FileDeleted
from openai.types.file_object import FileObject

from ..service import Runtime
from ._common import CursorPage, paged

FileInput = bytes | IO[bytes] | os.PathLike[str] | tuple[Any, ...]


class FileContent:
    """A downloaded file: ``.content`` (bytes), ``.text``, ``.json()``, ``.write_to_file(path)``."""

    def __init__(self, data: bytes) -> None:
        self.content = data

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def read(self) -> bytes:
        return self.content

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        size = chunk_size or 65536
        for start in range(0, len(self.content), size):
            yield self.content[start : start + size]

    def write_to_file(self, file: str | os.PathLike[str]) -> None:
        Path(file).write_bytes(self.content)

    def close(self) -> None:
        return None


def read_upload(file: FileInput) -> tuple[str, bytes]:
    """(label, bytes) of an upload given in any of the SDK's forms."""
    if isinstance(file, tuple):
        name, contents = file[0], file[1]
        _, data = read_upload(contents)
        return str(name or "upload"), data
    if isinstance(file, bytes | bytearray):
        return "upload", bytes(file)
    if isinstance(file, os.PathLike):
        path = Path(file)
        return path.name, path.read_bytes()
    data = file.read()
    return os.path.basename(str(getattr(file, "name", "") or "upload")), data


class Files:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.files

    def create(self, *, file: FileInput, purpose: str, expires_after: Any = None) -> FileObject:
        name, data = read_upload(file)
        return self._service.create(
            data=data, filename=name, purpose=purpose, expires_after=expires_after
        )

    def retrieve(self, file_id: str) -> FileObject:
        return self._service.retrieve(file_id)

    def list(
        self,
        *,
        purpose: str | None = None,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
    ) -> CursorPage[FileObject]:
        return paged(self._service.list, purpose=purpose, limit=limit, order=order, after=after)

    def delete(self, file_id: str) -> FileDeleted:
        return self._service.delete(file_id)

    def content(self, file_id: str) -> FileContent:
        return FileContent(self._service.content(file_id))
