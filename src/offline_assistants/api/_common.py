"""Small pieces every resource uses: the OMIT sentinel and cursor pages like the SDK's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, PrivateAttr

from ..store import Slice

T = TypeVar("T", bound=BaseModel)


class Omit:
    """Marks a parameter the caller did not pass (``None`` may be a real value)."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = Omit()


def given(**params: Any) -> dict[str, Any]:
    """The parameters the caller actually passed."""
    return {key: value for key, value in params.items() if not isinstance(value, Omit)}


class CursorPage(BaseModel, Generic[T]):
    """A page of a list, shaped like the API's (``data``, ``first_id``, ``last_id``, ``has_more``).

    Iterating it yields every object across all pages, as the SDK's pages do;
    ``.data`` is this page only.
    """

    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
    _next: Callable[[str], CursorPage[T]] | None = PrivateAttr(default=None)

    @classmethod
    def from_slice(
        cls, page: Slice[T], next_page: Callable[[str], CursorPage[T]] | None = None
    ) -> CursorPage[T]:
        """``page`` as the API's page; ``next_page`` fetches the one after an id (None:
        there is never one)."""
        result = cls(
            data=page.data,
            first_id=page.data[0].id if page.data else None,  # type: ignore[attr-defined]
            last_id=page.data[-1].id if page.data else None,  # type: ignore[attr-defined]
            has_more=page.has_more,
        )
        result._next = next_page
        return result

    def has_next_page(self) -> bool:
        return self.has_more and bool(self.data)

    def get_next_page(self) -> CursorPage[T]:
        if not self.has_next_page() or self._next is None or self.last_id is None:
            raise RuntimeError("No next page; check has_next_page() first.")
        return self._next(self.last_id)

    def iter_pages(self) -> Iterator[CursorPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        for page in self.iter_pages():
            yield from page.data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> T:
        return self.data[index]


def paged(fetch: Callable[..., Slice[T]], *args: Any, **params: Any) -> CursorPage[T]:
    """Run a list query and wire its next pages (``after`` = the last id of each page)."""

    def next_page(after: str) -> CursorPage[T]:
        return paged(fetch, *args, **{**params, "after": after, "before": None})

    return CursorPage[Any].from_slice(fetch(*args, **params), next_page)
