"""Ingestion: background workers that turn vector-store files into indexed chunks.

``submit(vector_store_id, file_id)`` queues a file whose row is
``in_progress`` and returns at once, so attaching a large PDF never blocks
an API call. Each store with files waiting gets a worker thread of its own
(up to ``MAX_WORKERS`` at once; a store's files go one after another), and
the workers' embedding batches take turns on the shared embedder, so a small
file is not stuck behind another store's large one. A worker reads the File's bytes, extracts pages, chunks them
with the row's ``chunking_strategy``, embeds the windows (a progress bar on
a terminal) and adds them to the store's Chroma collection; then the row
becomes ``completed`` with its ``usage_bytes``, or ``failed`` with a
``last_error`` that says why (``invalid_file``/``unsupported_file`` for
documents that yield no text or are too large, ``server_error`` otherwise).

The row is the truth. Between embedding batches the worker checks it is
still ``in_progress``: a file removed, cancelled or deleted meanwhile stops
its ingestion, and chunks already added are deleted again, also when the
removal raced the final write. Rows found ``in_progress`` at start-up (the
process died mid-file) are queued again. Workers run at the lowest CPU priority
(:func:`yield_to_generation`): a run beside an ingesting document keeps the cores.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import threading
import time
from typing import Any

from tqdm import tqdm

from ..errors import UpstreamError
from ..runs.journal import updated
from ..store import Store
from ..tools.file_search import DocumentError, Embedder, VectorIndex, chunk_pages, extract

log = logging.getLogger(__name__)

# OpenAI's limit per vector-store file; text is checked by characters first (≥ 1 per token).
MAX_FILE_TOKENS = 5_000_000
MAX_FILE_CHARS = 4 * MAX_FILE_TOKENS
FLOAT_BYTES = 4

# Stores ingested at once: their embedding batches take turns on the one embedder, so a
# small file in one store is not stuck behind a large one in another.
MAX_WORKERS = 3
# The CPU priority of ingestion (the lowest): a run's generation wins the cores.
BACKGROUND_NICE = 19


def yield_to_generation() -> None:
    """Run this thread, and the torch threads it starts, at the lowest CPU priority.

    The embedder and the model share the cores: at equal priority a run beside an
    ingesting document took 2.8x its time alone on two quiet cores, 4.5x on a busy
    machine (llama.cpp's threads wait at a barrier for any one that loses its core).
    At nice 19 the run keeps the cores and ingestion takes what is left; alone, ingestion
    is as fast as before. Linux only (elsewhere ``setpriority`` would renice the whole
    process); a refusal changes nothing.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


class _Stopped(Exception):
    """The row left ``in_progress`` while its file was being ingested."""


class _Interrupted(Exception):
    """The runtime is closing: the row stays ``in_progress`` and is ingested at next start."""


class Ingestion:
    def __init__(
        self, store: Store, index: VectorIndex, embedder: Embedder, workers: int = MAX_WORKERS
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.workers = workers
        self._waiting: dict[str, collections.deque[str]] = {}  # files by store, in order
        self._busy: dict[str, threading.Thread] = {}  # the store each worker serves
        self._idle = threading.Condition()
        self._pending = 0
        self._closing = threading.Event()
        self._started = False

    def start(self) -> None:
        """Start working, re-queueing files a killed process left ``in_progress``."""
        with self._idle:
            self._started = True
        for row in self.store.vector_stores.files_in_progress():
            self.submit(row.vector_store_id, row.id)
        with self._idle:
            self._dispatch()

    def submit(self, vector_store_id: str, file_id: str) -> None:
        with self._idle:
            self._pending += 1
            self._waiting.setdefault(vector_store_id, collections.deque()).append(file_id)
            self._dispatch()

    def _dispatch(self) -> None:
        """Give each store with waiting files a worker, up to ``workers`` at once (under
        ``_idle``): stores take turns, a store's files go one after another."""
        if not self._started or self._closing.is_set():
            return
        for store_id in list(self._waiting):
            if len(self._busy) >= self.workers:
                return
            if store_id in self._busy:
                continue
            worker = threading.Thread(
                target=self._serve, args=(store_id,), name=f"ingestion-{store_id}", daemon=True
            )
            self._busy[store_id] = worker
            worker.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted file is done (True) or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the current embedding batches; unfinished files resume at next start."""
        self._closing.set()
        deadline = time.monotonic() + timeout
        with self._idle:
            workers = list(self._busy.values())
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _serve(self, vector_store_id: str) -> None:
        """One store's files, in order, until none is waiting (or the runtime closes)."""
        yield_to_generation()
        while True:
            with self._idle:
                waiting = self._waiting.get(vector_store_id)
                if self._closing.is_set() or not waiting:
                    if not waiting:
                        self._waiting.pop(vector_store_id, None)
                    del self._busy[vector_store_id]
                    self._dispatch()  # another store may be waiting for a worker
                    self._idle.notify_all()
                    return
                file_id = waiting.popleft()
            try:
                self._ingest(vector_store_id, file_id)
            except Exception:  # noqa: BLE001 - the worker must outlive any one file
                log.exception("ingestion of %s into %s escaped", file_id, vector_store_id)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _ingest(self, vector_store_id: str, file_id: str) -> None:
        if not self._active(vector_store_id, file_id):
            return
        started = time.monotonic()
        try:
            chunks, windows = self._index(vector_store_id, file_id)
        except (_Stopped, _Interrupted):
            self._discard(vector_store_id, file_id)
            return
        except DocumentError as exc:
            self._finish(vector_store_id, file_id, "failed", code=exc.code, message=str(exc))
            return
        except UpstreamError as exc:  # the Chroma server: what it holds of the file stays there
            log.warning("ingestion of %s failed: %s", file_id, exc.message)
            self._finish(
                vector_store_id, file_id, "failed", code="server_error", message=exc.message
            )
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the row for the user
            log.exception("ingestion of %s failed", file_id)
            self._discard(vector_store_id, file_id)
            message = f"Processing failed ({type(exc).__name__}: {exc})."
            self._finish(vector_store_id, file_id, "failed", code="server_error", message=message)
            return
        usage = sum(len(c.text.encode()) for c in chunks) + windows * self._vector_bytes()
        self._finish(vector_store_id, file_id, "completed", usage_bytes=usage)
        log.info(
            "indexed %s into %s: %d chunks in %.1f s",
            file_id,
            vector_store_id,
            len(chunks),
            time.monotonic() - started,
        )

    def _index(self, vector_store_id: str, file_id: str) -> tuple[list[Any], int]:
        file = self.store.files.get(file_id)
        row = self.store.vector_stores.get_file(vector_store_id, file_id)
        if file is None or row is None:
            raise _Stopped
        pages = extract(self.store.files.read(file_id), file.filename, MAX_FILE_CHARS)
        static = row.chunking_strategy.static  # type: ignore[union-attr]
        chunks = chunk_pages(
            pages,
            self.embedder.token_spans,
            static.max_chunk_size_tokens,
            static.chunk_overlap_tokens,
            window_tokens=self.embedder.window_tokens,
        )
        windows = self.embedder.windows_of(chunks)
        with tqdm(
            total=windows, desc=f"Indexing {file.filename}", unit="window", disable=None
        ) as bar:

            def progress(done: int) -> None:
                bar.update(done)
                if self._closing.is_set():
                    raise _Interrupted
                if not self._active(vector_store_id, file_id):
                    raise _Stopped

            vectors = self.embedder.embed_chunks(chunks, progress)
        self.index.add(vector_store_id, file_id, chunks, vectors)
        return chunks, windows

    def _vector_bytes(self) -> int:
        return self.embedder.dimensions * FLOAT_BYTES

    def _active(self, vector_store_id: str, file_id: str) -> bool:
        row = self.store.vector_stores.get_file(vector_store_id, file_id)
        return row is not None and row.status == "in_progress"

    def _finish(
        self,
        vector_store_id: str,
        file_id: str,
        status: str,
        *,
        usage_bytes: int = 0,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Record the outcome, unless the row left ``in_progress`` meanwhile (then undo)."""
        repository = self.store.vector_stores
        with self.store.db.transaction():
            row = repository.get_file(vector_store_id, file_id)
            if row is None or row.status != "in_progress":
                gone = True
            else:
                gone = False
                error = None if code is None else {"code": code, "message": message}
                repository.update_file(
                    updated(row, status=status, usage_bytes=usage_bytes, last_error=error)
                )
        if gone:
            self._discard(vector_store_id, file_id)

    def _discard(self, vector_store_id: str, file_id: str) -> None:
        """Remove what this file left in the index (the whole collection if the store went)."""
        if self.store.vector_stores.exists(vector_store_id):
            self.index.delete_file(vector_store_id, file_id)
        else:
            self.index.drop(vector_store_id)
