"""A typed table of wire objects: the shared mechanics behind each repository module.

A row is ``id``, ``seq`` (a global sequence giving a stable creation order even
within one second), a few filter columns, and ``body``: the object's exact JSON.
Lists follow the API's cursor rules (``limit``, ``order``, ``after``,
``before``) and report whether more objects lie beyond the page.

Nothing unreadable is ever written: every body is parsed back into its type
before the row is written (``NaN`` would become ``null`` and fail; a lone
surrogate cannot be encoded), and a body that does not round-trip is an
``InternalError`` with nothing stored. Rows written by older versions that no
longer parse are logged and skipped by lists, so one bad row never makes a
whole list (or start-up) fail; reading such a row by id says what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from ..errors import InternalError, InvalidRequestError
from .database import Database
from .recent_bodies import RecentBodies

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One page of a list: the objects in the requested order, and whether more lie beyond."""

    data: list[T]
    has_more: bool


def list_envelope(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A page as the API sends it: ``object``, ``data``, ``first_id``, ``last_id``,
    ``has_more`` (``data`` already JSON, each item with an ``id``)."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


class Table(Generic[T]):
    """Rows of one object kind, stored as wire JSON, filtered by simple equality columns.

    With ``remember``, the bodies of that many recently used rows are also kept in memory
    for reads by id (:mod:`.recent_bodies`): only for a table whose rows are written
    through this class alone (no other statement changes or deletes them)."""

    def __init__(
        self,
        db: Database,
        name: str,
        model: type[T],
        columns: tuple[str, ...] = (),
        remember: int = 0,
    ):
        self.db = db
        self.name = name
        self.model = model
        self.columns = columns
        self._recent = RecentBodies(db, remember) if remember else None

    def insert(self, obj: T, **columns: Any) -> None:
        names = ["id", "seq", "body", *columns]
        marks = ["?", "nextval('object_seq')", "?", *("?" for _ in columns)]
        body = self.dump(obj)
        object_id: str = obj.id  # type: ignore[attr-defined]
        self.db.execute(
            f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({', '.join(marks)})",
            [object_id, body, *columns.values()],
        )
        if self._recent is not None:
            self._recent.put(object_id, body)

    def update(self, obj: T, *, scope: Mapping[str, Any] | None = None, **columns: Any) -> None:
        """Rewrite the row of ``obj`` (within ``scope`` when the id alone is not the key)."""
        sets = ", ".join(["body = ?", *(f"{name} = ?" for name in columns)])
        object_id: str = obj.id  # type: ignore[attr-defined]
        clause, params = _where({"id": object_id, **(scope or {})})
        body = self.dump(obj)
        self.db.execute(
            f"UPDATE {self.name} SET {sets} WHERE {clause}", [body, *columns.values(), *params]
        )
        if self._recent is not None:
            self._recent.put(object_id, body)

    def dump(self, obj: T) -> str:
        """The JSON to store for ``obj``, proven to parse back into its type."""
        try:
            body = obj.model_dump_json(by_alias=True)
            self.model.model_validate_json(body)
        except (ValidationError, PydanticSerializationError, ValueError) as exc:
            raise InternalError(
                f"Refusing to store {self.name} {getattr(obj, 'id', '?')}: it would not read "
                f"back ({str(exc).splitlines()[0][:300]})."
            ) from None
        return body

    def load(self, body: str, object_id: str) -> T | None:
        """The stored object, or None (logged) when its row no longer parses."""
        try:
            return self.model.model_validate_json(body)
        except ValidationError as exc:
            log.error("%s %s is stored unreadably and is skipped: %s", self.name, object_id, exc)
            return None

    def get(self, object_id: str, **where: Any) -> T | None:
        body = self._recent.get(object_id) if self._recent is not None and not where else None
        if body is None:
            clause, params = _where({"id": object_id, **where})
            row = self.db.fetchone(f"SELECT body FROM {self.name} WHERE {clause}", params)
            if row is None:
                return None
            body = row[0]
            if self._recent is not None:
                self._recent.put(object_id, body)
        found = self.load(body, object_id)
        if found is None:
            raise InternalError(
                f"The stored {self.name} row {object_id} cannot be read (see the server log); "
                "delete it and create it again.",
                code="unreadable_object",
            )
        return found

    def exists(self, object_id: str, **where: Any) -> bool:
        """Whether the row is there (without reading its body)."""
        if self._recent is not None and not where and self._recent.get(object_id) is not None:
            return True
        clause, params = _where({"id": object_id, **where})
        return self.db.fetchone(f"SELECT 1 FROM {self.name} WHERE {clause}", params) is not None

    def get_column(self, object_id: str, column: str) -> Any:
        row = self.db.fetchone(f"SELECT {column} FROM {self.name} WHERE id = ?", [object_id])
        return None if row is None else row[0]

    def delete(self, **where: Any) -> int:
        clause, params = _where(where)
        rows = self.db.fetchall(f"DELETE FROM {self.name} WHERE {clause} RETURNING id", params)
        if self._recent is not None:
            for (object_id,) in rows:
                self._recent.forget(object_id)
        return len(rows)

    def select(self, where: Mapping[str, Any], order: Order = "asc") -> list[T]:
        clause, params = _where(where)
        direction = "ASC" if order == "asc" else "DESC"
        rows = self.db.fetchall(
            f"SELECT id, body FROM {self.name} WHERE {clause} ORDER BY seq {direction}", params
        )
        return self._loaded(rows)

    def select_in(self, column: str, values: Sequence[Any]) -> list[T]:
        """Rows whose ``column`` is one of ``values``, oldest first."""
        marks = ", ".join("?" for _ in values)
        rows = self.db.fetchall(
            f"SELECT id, body FROM {self.name} WHERE {column} IN ({marks}) ORDER BY seq",
            list(values),
        )
        return self._loaded(rows)

    def select_with_seq(self, where: Mapping[str, Any]) -> list[tuple[int, T]]:
        """Rows with their global sequence number, oldest first (to merge across tables)."""
        clause, params = _where(where)
        rows = self.db.fetchall(
            f"SELECT seq, id, body FROM {self.name} WHERE {clause} ORDER BY seq", params
        )
        loaded = [(int(seq), self.load(body, object_id)) for seq, object_id, body in rows]
        return [(seq, obj) for seq, obj in loaded if obj is not None]

    def _loaded(self, rows: Iterable[tuple[Any, ...]]) -> list[T]:
        return [obj for object_id, body in rows if (obj := self.load(body, object_id)) is not None]

    def page(
        self,
        where: Mapping[str, Any],
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> Slice[T]:
        """The API's cursor pagination: ``after``/``before`` are ids in the listed order."""
        clause, params = _where(where)
        ascending = order == "asc"
        for name, cursor, beyond in (
            ("after", after, ascending),
            ("before", before, not ascending),
        ):
            if cursor is None:
                continue
            seq = self._cursor_seq(cursor, name, clause, params)
            clause += f" AND seq {'>' if beyond else '<'} ?"
            params.append(seq)
        # With only `before`, read backwards from the cursor so the page touches it.
        backwards = before is not None and after is None
        read_ascending = ascending != backwards
        rows = self.db.fetchall(
            f"SELECT id, body FROM {self.name} WHERE {clause}"
            f" ORDER BY seq {'ASC' if read_ascending else 'DESC'} LIMIT ?",
            [*params, limit + 1],
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        return Slice(self._loaded(rows), has_more)

    def _cursor_seq(self, cursor: str, name: str, clause: str, params: list[Any]) -> int:
        row = self.db.fetchone(
            f"SELECT seq FROM {self.name} WHERE {clause} AND id = ?", [*params, cursor]
        )
        if row is None:
            raise InvalidRequestError(
                f"Invalid '{name}': no object with id '{cursor}' in this list.", param=name
            )
        return int(row[0])


def _where(conditions: Mapping[str, Any]) -> tuple[str, list[Any]]:
    if not conditions:
        return "TRUE", []
    return " AND ".join(f"{name} = ?" for name in conditions), list(conditions.values())
