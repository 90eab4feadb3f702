"""The stored JSON of the objects of one table read or written last, kept in memory.

Every run reads its assistant and its thread by id before the model can start, and each
DuckDB point read costs ~0.3-1 ms on a laptop. A :class:`~.table.Table` built with
``remember=N`` keeps the bodies of its ``N`` most recently used rows here and reads them
back without a query. Bodies are immutable strings, parsed again on every read, so no
caller can change what the cache holds. The table keeps it true: a write puts the new
body (put back as it was if the transaction rolls back), a delete drops what it removed,
and a reopened connection empties it (``Database.on_reopen``). Only by-id reads use it.
"""

from __future__ import annotations

from collections import OrderedDict

from .database import Database

RECENT = 256  # bodies a table keeps for reads by id (every run reads its assistant and thread)


class RecentBodies:
    """Up to ``size`` bodies by object id, least recently used dropped first."""

    def __init__(self, db: Database, size: int) -> None:
        self._db = db
        self._size = size
        self._bodies: OrderedDict[str, str] = OrderedDict()
        db.on_reopen(self.clear)

    def get(self, object_id: str) -> str | None:
        with self._db.lock:
            body = self._bodies.get(object_id)
            if body is not None:
                self._bodies.move_to_end(object_id)
            return body

    def put(self, object_id: str, body: str) -> None:
        """Remember ``body`` (inside a transaction: forgotten again if it rolls back)."""
        with self._db.lock:
            previous = self._bodies.get(object_id)
            self._store(object_id, body)
            self._db.on_rollback(lambda: self._restore(object_id, previous))

    def forget(self, object_id: str) -> None:
        with self._db.lock:
            previous = self._bodies.pop(object_id, None)
            self._db.on_rollback(lambda: self._restore(object_id, previous))

    def clear(self) -> None:
        with self._db.lock:
            self._bodies.clear()

    def _store(self, object_id: str, body: str) -> None:
        self._bodies[object_id] = body
        self._bodies.move_to_end(object_id)
        while len(self._bodies) > self._size:
            self._bodies.popitem(last=False)

    def _restore(self, object_id: str, body: str | None) -> None:
        if body is None:
            self._bodies.pop(object_id, None)
        else:
            self._store(object_id, body)
