"""What a run has streamed of its message, kept on disk the moment it is streamed.

The growing assistant message is written to DuckDB about once a second (every
write costs more than a token), but a stream shows each token as it comes. So
that a ``kill -9`` never leaves the stored message shorter than what a client
already saw, each piece is appended to a small file per message
(``<data>/drafts/<message id>``) *before* its delta is published: one
unbuffered ``write`` (the page cache survives the process). Start-up recovery
takes the longer of the stored text and the draft; a finished message's draft
is removed.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


class DraftLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, int] = {}
        self._lock = threading.Lock()

    def append(self, message_id: str, piece: str) -> None:
        data = piece.encode("utf-8")
        with self._lock:
            fd = self._files.get(message_id)
            if fd is None:
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
                fd = os.open(self._path(message_id), flags, 0o600)
                self._files[message_id] = fd
            os.write(fd, data)

    def read(self, message_id: str) -> str | None:
        """The text streamed for the message, or None when nothing was kept."""
        try:
            return self._path(message_id).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def discard(self, message_id: str) -> None:
        with self._lock:
            fd = self._files.pop(message_id, None)
            if fd is not None:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self._path(message_id).unlink()

    def clear(self) -> None:
        """Remove every draft not being written (start-up, after recovery took what it needed)."""
        with self._lock:
            open_now = set(self._files)
        for path in self.directory.iterdir():
            if path.name not in open_now:
                path.unlink(missing_ok=True)

    def _path(self, message_id: str) -> Path:
        return self.directory / message_id
