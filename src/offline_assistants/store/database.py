"""The DuckDB file under the data directory: opening, locking, transactions.

One :class:`Database` per process owns the file. A lock file next to it
(``fcntl.flock``) makes a second process fail fast with
:class:`~offline_assistants.errors.DataDirLockedError` instead of DuckDB's lock
traceback. All access goes through one connection guarded by a re-entrant lock,
so the worker thread and API callers never interleave inside a transaction.
Schema changes live in :mod:`.migrations` and are applied on open.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import duckdb

from ..errors import DataDirLockedError
from .migrations import apply_migrations


class Database:
    """A DuckDB connection with a process lock and re-entrant transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_process_lock(path.with_suffix(".lock"))
        try:
            self._connection = duckdb.connect(str(path))
        except BaseException:
            self._lock_file.close()
            raise
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        apply_migrations(self)

    # -- queries ---------------------------------------------------------------------------

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        with self._lock:
            self._connection.execute(sql, list(parameters))

    def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection.execute(sql, list(parameters)).fetchall()

    def fetchone(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._connection.execute(sql, list(parameters)).fetchone()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All-or-nothing: a failure anywhere inside rolls every write back. Nests."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._connection.execute("BEGIN TRANSACTION")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._connection.execute("ROLLBACK")
                    undo, self._undo = self._undo, []
                    self._after_commit = []
                    for step in reversed(undo):
                        step()
                raise
            self._depth -= 1
            if outermost:
                self._connection.execute("COMMIT")
                self._undo = []
                done, self._after_commit = self._after_commit, []
                for action in done:
                    action()

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` if the current transaction rolls back (for in-memory caches)."""
        with self._lock:
            if self._depth > 0:
                self._undo.append(undo)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the current transaction commits (at once outside one)."""
        with self._lock:
            if self._depth > 0:
                self._after_commit.append(action)
                return
        action()

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._lock_file.close()


def _acquire_process_lock(lock_path: Path) -> IO[str]:
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirLockedError(
            f"The data directory {lock_path.parent} is in use by another offline-assistants "
            f"process (PID {owner}). Stop that process, or point this one at another data "
            "directory with Client(data_dir=...) or OFFLINE_ASSISTANTS_DATA_DIR.",
            code="data_dir_locked",
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
