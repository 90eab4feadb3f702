"""Files: upload, retrieve, list, delete, content — the Files API, no HTTP.

Uploads are streamed to disk and capped (``MAX_FILE_BYTES``), their names cleaned into labels;
the Code Interpreter creates ``assistants_output`` files through
``create_output`` for images and files the model's code wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from openai.types.file_deleted import FileDeleted
from openai.types.file_object import FileObject

from ..errors import InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now
from ..store import Slice, Store
from .checks.validation import check_list_params

MAX_FILE_BYTES = 512 << 20
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
ALL_PURPOSES = (*UPLOAD_PURPOSES, "assistants_output", "batch_output", "fine-tune-results")


def clean_filename(name: Any) -> str:
    """A label for display: the last path component, printable, at most 255 characters."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:255] or "upload"


class FileService:
    def __init__(self, store: Store, deleting: Callable[[str], None] = lambda _: None) -> None:
        self.store = store
        self.deleting = deleting  # called inside the deletion (vector stores drop the file)

    def create(
        self,
        *,
        data: bytes | BinaryIO,
        filename: Any,
        purpose: Any,
        expires_after: Any = None,
    ) -> FileObject:
        """Store an upload: ``data`` is its bytes or a binary file object read in blocks."""
        if purpose not in UPLOAD_PURPOSES:
            raise InvalidRequestError(
                f"Invalid 'purpose': {purpose!r}; expected one of {', '.join(UPLOAD_PURPOSES)}.",
                param="purpose",
            )
        if expires_after is not None:
            raise InvalidRequestError(
                "Invalid 'expires_after': files are kept until deleted here; omit it.",
                param="expires_after",
            )
        if not isinstance(data, bytes | bytearray) and not hasattr(data, "read"):
            raise InvalidRequestError("Missing required parameter: 'file'.", param="file")
        return self._store(data, clean_filename(filename), purpose)

    def create_output(self, data: bytes, filename: str) -> FileObject:
        """A file the runtime made (an image, a file written by code) for the user to download."""
        return self._store(data, clean_filename(filename), "assistants_output")

    def _store(self, data: bytes | BinaryIO, filename: str, purpose: str) -> FileObject:
        file_id = new_id("file")
        size = self.store.files.stage(file_id, data, MAX_FILE_BYTES)
        file = FileObject(
            id=file_id,
            bytes=size,
            created_at=now(),
            filename=filename,
            object="file",
            purpose=purpose,  # type: ignore[arg-type]
            status="processed",
        )
        try:
            with self.store.db.transaction():
                self.store.files.insert(file)
        finally:
            self.store.files.discard(file_id)  # gone already unless the insert failed
        return file

    def retrieve(self, file_id: str) -> FileObject:
        file = self.store.files.get(file_id)
        if file is None:
            raise NotFoundError(f"No such File object: {file_id}", param="file_id")
        return file

    def content(self, file_id: str) -> bytes:
        self.retrieve(file_id)
        return self.store.files.read(file_id)

    def delete(self, file_id: str) -> FileDeleted:
        with self.store.db.transaction():
            if not self.store.files.delete(file_id):
                raise NotFoundError(f"No such File object: {file_id}", param="file_id")
            self.deleting(file_id)
        return FileDeleted(id=file_id, deleted=True, object="file")

    def list(
        self,
        *,
        purpose: Any = None,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
    ) -> Slice[FileObject]:
        if purpose is not None and purpose not in ALL_PURPOSES:
            raise InvalidRequestError(
                f"Invalid 'purpose': {purpose!r}; expected one of {', '.join(ALL_PURPOSES)}.",
                param="purpose",
            )
        params = check_list_params(limit, order, after, before, max_limit=10_000)
        return self.store.files.page(
            purpose,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )
