"""The DuckDB file under the data directory: opening, locking, transactions, disk trouble.

One :class:`Database` per process owns the file. A lock file next to it
(``fcntl.flock``) makes a second process fail fast with
:class:`~offline_assistants.errors.DataDirLockedError` instead of DuckDB's lock
traceback. All access goes through one connection guarded by a re-entrant lock,
so the runs' threads and API callers never interleave inside a transaction; it runs
every query on the calling thread (:func:`connect`).
Schema changes live in :mod:`.migrations` and are applied on open.

A full disk is a clear :class:`~offline_assistants.errors.InsufficientStorageError`
for the call that met it, never a broken store: a failed commit rolls the
in-memory caches back (``on_rollback``) like any failed transaction, and when
DuckDB invalidates the whole connection (a checkpoint that could not be
written), the next call reopens the file, replaying what was committed, and
tells the repositories to reload what they cache (``on_reopen``). Once space is
back, everything works again without a restart.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb

from ..errors import (
    DataDirLockedError,
    InsufficientStorageError,
    InternalError,
    OfflineAssistantsError,
)
from .migrations import apply_migrations

log = logging.getLogger(__name__)
T = TypeVar("T")
DISK_FULL = ("No space left on device", "Disk quota exceeded")


class Database:
    """A DuckDB connection with a process lock and re-entrant transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = _acquire_process_lock(path.with_suffix(".lock"))
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._reopened: list[Callable[[], None]] = []
        self._invalid = False
        try:
            self._connection = connect(path)
        except BaseException:
            self._lock_file.close()
            raise
        try:
            apply_migrations(self)
        except BaseException:
            self.close()
            raise

    # -- queries ---------------------------------------------------------------------------

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._call(lambda c: c.execute(sql, list(parameters)))

    def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._call(lambda c: c.execute(sql, list(parameters)).fetchall())

    def fetchone(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._call(lambda c: c.execute(sql, list(parameters)).fetchone())

    def _call(self, action: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        with self._lock:
            self._usable()
            try:
                return action(self._connection)
            except duckdb.Error as exc:
                mapped = self._failure(exc)
                if mapped is None:
                    raise
                raise mapped from exc

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All-or-nothing: a failure anywhere inside rolls every write back. Nests."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self.execute("BEGIN TRANSACTION")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._abandon()
                raise
            self._depth -= 1
            if outermost:
                try:
                    self.execute("COMMIT")
                except BaseException:
                    self._abandon()
                    raise
                self._undo = []
                done, self._after_commit = self._after_commit, []
                for action in done:
                    action()

    def _abandon(self) -> None:
        """Roll the outermost transaction back: the database, then the in-memory caches."""
        # A failed COMMIT or an invalidated connection has no transaction left to roll back.
        with suppress(duckdb.Error):
            self._connection.execute("ROLLBACK")
        undo, self._undo = self._undo, []
        self._after_commit = []
        for step in reversed(undo):
            step()

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """The lock every query and transaction holds: take it to read in-memory caches
        that writers change inside transactions."""
        return self._lock

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

    def on_reopen(self, reload: Callable[[], None]) -> None:
        """Run ``reload`` after the connection was reopened (caches may have drifted)."""
        self._reopened.append(reload)

    # -- failures --------------------------------------------------------------------------

    def _failure(self, exc: duckdb.Error) -> OfflineAssistantsError | None:
        """Our error for a DuckDB failure caused by the disk or a dead connection; None for
        anything else (a bug, to be seen as such)."""
        if isinstance(exc, duckdb.FatalException):
            self._invalid = True
        text = str(exc)
        if any(marker in text for marker in DISK_FULL):
            return InsufficientStorageError(
                f"The disk holding the data directory {self.path.parent} is full; nothing was "
                "changed. Free some space and retry: no restart is needed."
            )
        if self._invalid:
            return InternalError(
                f"The database failed ({text.splitlines()[0][:200]}); it is reopened on the "
                "next request."
            )
        return None

    def _usable(self) -> None:
        """Reopen an invalidated connection (outside any transaction) before using it."""
        if not self._invalid:
            return
        if self._depth > 0:
            raise InternalError("The database connection failed during this request; retry it.")
        with suppress(duckdb.Error):
            self._connection.close()
        try:
            self._connection = connect(self.path)
        except duckdb.Error as exc:
            mapped = self._failure(exc)
            raise (mapped or InternalError(f"Could not reopen the database: {exc}")) from exc
        self._invalid = False
        log.warning("reopened %s after a fatal DuckDB error", self.path)
        for reload in self._reopened:
            reload()

    def close(self) -> None:
        with self._lock:
            try:
                self._connection.close()
            except duckdb.Error:
                log.exception("closing %s failed", self.path)
            self._lock_file.close()


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """The connection, running every query on the calling thread (``threads=1``).

    The store only reads and writes single objects and one thread's rows; DuckDB's worker
    threads made each such statement ~20% slower (0.39 → 0.30 ms a point read, 1.10 →
    0.85 ms an insert and its commit), and the statements a run writes while the model
    reads its prompt woke them on the very cores the decode uses (a new thread's first
    token ~3 ms later: DEVELOPERS.md)."""
    return duckdb.connect(str(path), config={"threads": 1})


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
