"""Files: metadata in DuckDB (the ``FileObject`` JSON), bytes under ``<data dir>/files/<id>``.

A client's file name is only a label in the metadata; the bytes are stored
under the generated id, so no upload can name a path. Bytes are streamed to a
temporary name (``stage``: in blocks, never whole in memory, stopping at the
size cap), flushed, and renamed into place by ``insert`` in the caller's
transaction: a failed insert removes the bytes again (``on_rollback``), so
metadata and bytes never disagree. A full disk while staging is an
:class:`~offline_assistants.errors.InsufficientStorageError` and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import BinaryIO

from openai.types.file_object import FileObject

from ..errors import InsufficientStorageError, PayloadTooLargeError
from .database import Database
from .table import Slice, Table

BLOCK_BYTES = 1 << 20


class FileRepository:
    def __init__(self, db: Database, directory: Path) -> None:
        self.db = db
        self.table = Table(db, "files", FileObject)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, file_id: str) -> Path:
        return self.directory / file_id

    def _staged(self, file_id: str) -> Path:
        return self.directory / f".{file_id}.partial"

    def stage(self, file_id: str, source: bytes | BinaryIO, limit: int) -> int:
        """Write the bytes for ``file_id`` under a temporary name; returns their size.

        Raises PayloadTooLargeError past ``limit`` bytes (and InsufficientStorageError on a
        full disk), removing what was written.
        """
        temp = self._staged(file_id)
        size = 0
        try:
            with open(temp, "wb") as out:
                if isinstance(source, bytes | bytearray):
                    size = len(source)
                    if size <= limit:
                        out.write(source)
                else:
                    while block := source.read(BLOCK_BYTES):
                        size += len(block)
                        if size > limit:
                            break
                        out.write(block)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"File too large: more than {limit} bytes; the limit is {limit} bytes.",
                        param="file",
                        code="file_too_large",
                    )
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorageError(
                    f"The disk holding {self.directory} is full; the upload was not stored. "
                    "Free some space and try again."
                ) from None
            raise
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return size

    def discard(self, file_id: str) -> None:
        """Remove staged bytes that will not be inserted."""
        self._staged(file_id).unlink(missing_ok=True)

    def insert(self, file: FileObject) -> None:
        """Move the staged bytes into place and insert the row (in the caller's transaction)."""
        target = self.path(file.id)
        self._staged(file.id).rename(target)
        self.db.on_rollback(lambda: target.unlink(missing_ok=True))
        try:
            self.table.insert(file, purpose=file.purpose)
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def get(self, file_id: str) -> FileObject | None:
        return self.table.get(file_id)

    def exists(self, file_id: str) -> bool:
        return self.table.get_column(file_id, "id") is not None

    def read(self, file_id: str) -> bytes:
        return self.path(file_id).read_bytes()

    def delete(self, file_id: str) -> bool:
        deleted = self.table.delete(id=file_id) > 0
        if deleted:  # the bytes go only once the row's deletion is committed
            self.db.after_commit(lambda: self._unlink(file_id))
        return deleted

    def _unlink(self, file_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(file_id).unlink()

    def page(self, purpose: str | None, **cursor: object) -> Slice[FileObject]:
        where = {} if purpose is None else {"purpose": purpose}
        return self.table.page(where, **cursor)  # type: ignore[arg-type]
