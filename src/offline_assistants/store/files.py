"""Files: metadata in DuckDB (the ``FileObject`` JSON), bytes under ``<data dir>/files/<id>``.

A client's file name is only a label in the metadata; the bytes are stored
under the generated id, so no upload can name a path. Bytes are written to a
temporary name, flushed and renamed before the row is inserted, and the row
is inserted in the caller's transaction: a failed insert removes the bytes
again (``on_rollback``), so metadata and bytes never disagree.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from openai.types.file_object import FileObject

from .database import Database
from .table import Slice, Table


class FileRepository:
    def __init__(self, db: Database, directory: Path) -> None:
        self.db = db
        self.table = Table(db, "files", FileObject)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, file_id: str) -> Path:
        return self.directory / file_id

    def insert(self, file: FileObject, data: bytes) -> None:
        target = self.path(file.id)
        temp = target.with_name(f".{file.id}.partial")
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.rename(target)
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
