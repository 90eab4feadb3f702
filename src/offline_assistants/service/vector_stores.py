"""Vector stores: create, retrieve, update, delete, list and search — no HTTP.

A store read back always carries true ``file_counts``, ``usage_bytes`` and
``status`` (counted from its files' rows; ``expired`` once ``expires_at``
has passed). ``search`` embeds the query with the bundled MiniLM model and
asks the store's Chroma collection. Assistants and threads name at most one
store each in ``tool_resources.file_search``; ``resolve_resources`` turns
the ``vector_stores`` helper there into a new store, and ``attach_files``
gives a thread the store its messages' file_search attachments go to, as
the API does.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, TypeVar

from openai.types.beta.assistant import Assistant
from openai.types.beta.thread import Thread
from openai.types.beta.threads.message import Message
from openai.types.vector_store import VectorStore
from openai.types.vector_store_create_params import VectorStoreCreateParams
from openai.types.vector_store_deleted import VectorStoreDeleted
from openai.types.vector_store_search_params import VectorStoreSearchParams
from openai.types.vector_store_search_response import VectorStoreSearchResponse
from openai.types.vector_store_update_params import VectorStoreUpdateParams
from pydantic import BaseModel

from ..errors import InternalError, InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now, updated
from ..store import FileTally, Slice, Store
from ..store.vector_stores import is_expired
from ..tools.file_search import Embedder, Hit, VectorIndex
from ..tools.file_search.filters import FilterError, check, matches
from .checks.params import check_params
from .checks.validation import check_list_params, check_metadata, check_text
from .vector_store_files import VectorStoreFileService, check_chunking_strategy

Owner = TypeVar("Owner", Assistant, Thread)
DAY = 86_400
# A store made for a thread's attachments expires a week after its last use, as the API's do.
THREAD_STORE_EXPIRY_DAYS = 7


class SearchPage(BaseModel):
    """``vector_stores.search``: the results of one query, best first."""

    object: str = "vector_store.search_results.page"
    search_query: list[str]
    data: list[VectorStoreSearchResponse]
    has_more: bool = False
    next_page: str | None = None

    def __iter__(self) -> Any:
        return iter(self.data)


class VectorStoreService:
    def __init__(
        self,
        store: Store,
        index: VectorIndex,
        embedder: Embedder,
        files: VectorStoreFileService,
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.files = files

    def create(self, params: Mapping[str, Any]) -> VectorStore:
        p = check_params(VectorStoreCreateParams, params)
        name, description, file_ids = p.get("name"), p.get("description"), p.get("file_ids")
        chunking_strategy, expires_after = p.get("chunking_strategy"), p.get("expires_after")
        metadata = p.get("metadata")
        strategy = check_chunking_strategy(chunking_strategy)
        ids = self.files.check_files(file_ids) if file_ids else []
        label = check_text(name, "name", 256) or ""
        check_text(description, "description", 512)
        with self.store.db.transaction():
            created = self._new_store(ids, strategy, label, metadata, expires_after)
        return self.retrieve(created)

    def retrieve(self, vector_store_id: str) -> VectorStore:
        found = self.store.vector_stores.get(vector_store_id)
        if found is None:
            raise NotFoundError(
                f"No vector store found with id '{vector_store_id}'.", param="vector_store_id"
            )
        return self._view(found)

    def _view(self, vector_store: VectorStore) -> VectorStore:
        tally = self.store.vector_stores.tally(vector_store.id)
        if is_expired(vector_store, now()):
            status = "expired"
        else:
            status = "in_progress" if tally.in_progress else "completed"
        return updated(
            vector_store, status=status, usage_bytes=tally.usage_bytes, file_counts=tally.counts()
        )

    def update(self, vector_store_id: str, params: Mapping[str, Any]) -> VectorStore:
        p = check_params(VectorStoreUpdateParams, params)
        name, expires_after, metadata = p.get("name"), p.get("expires_after"), p.get("metadata")
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = check_text(name, "name", 256)
        if metadata is not None:
            fields["metadata"] = check_metadata(metadata)
        with self.store.db.transaction():
            current = self.retrieve(vector_store_id)
            if expires_after is not None:
                fields.update(_expiry(expires_after, current.last_active_at or now()))
            self.store.vector_stores.update(updated(current, **fields))
        return self.retrieve(vector_store_id)

    def delete(self, vector_store_id: str) -> VectorStoreDeleted:
        with self.store.db.transaction():
            if not self.store.vector_stores.delete(vector_store_id):
                raise NotFoundError(
                    f"No vector store found with id '{vector_store_id}'.", param="vector_store_id"
                )
            self.store.db.after_commit(lambda: self.index.drop(vector_store_id))
        return VectorStoreDeleted(id=vector_store_id, deleted=True, object="vector_store.deleted")

    def list(
        self, *, limit: Any = None, order: Any = None, after: Any = None, before: Any = None
    ) -> Slice[VectorStore]:
        params = check_list_params(limit, order, after, before)
        page = self.store.vector_stores.page(
            limit=params.limit, order=params.order, after=params.after, before=params.before
        )
        return Slice([self._view(item) for item in page.data], page.has_more)

    # -- search ----------------------------------------------------------------------------

    def search(self, vector_store_id: str, params: Mapping[str, Any]) -> SearchPage:
        p = check_params(VectorStoreSearchParams, params)
        query, filters, max_num_results = p["query"], p.get("filters"), p.get("max_num_results")
        ranking_options = p.get("ranking_options")
        queries = [query] if isinstance(query, str) else query
        if (
            not isinstance(queries, list)
            or not queries
            or not all(isinstance(q, str) and q.strip() for q in queries)
        ):
            raise InvalidRequestError(
                "Invalid 'query': a non-empty string or list of strings.", param="query"
            )
        limit = 10 if max_num_results is None else max_num_results
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            raise InvalidRequestError(
                "Invalid 'max_num_results': an integer from 1 to 50.", param="max_num_results"
            )
        threshold = _threshold(ranking_options)
        vector_store = self.retrieve(vector_store_id)
        if vector_store.status == "expired":
            raise InvalidRequestError(
                f"Vector store {vector_store_id} has expired; create a new one.",
                param="vector_store_id",
            )
        allowed = None if filters is None else self._filtered(vector_store_id, filters)
        vector = self.embedder.embed([" ".join(queries)])[0]
        hits = self.index.search(vector_store_id, vector, limit, threshold, allowed)
        self.touch([vector_store_id])
        results = [self._result(vector_store_id, hit) for hit in hits]
        return SearchPage(search_query=queries, data=[r for r in results if r is not None])

    def _filtered(self, vector_store_id: str, filters: Any) -> builtins.list[str]:
        try:
            check(filters)
        except FilterError as exc:
            raise InvalidRequestError(str(exc), param="filters") from None
        return [
            row.id
            for row in self.store.vector_stores.files_in(vector_store_id, "completed")
            if matches(filters, row.attributes)
        ]

    def _result(self, vector_store_id: str, hit: Hit) -> VectorStoreSearchResponse | None:
        """The hit as a search result; None when its file is no longer a completed one."""
        file = self.store.files.get(hit.file_id)
        try:
            row = self.store.vector_stores.get_file(vector_store_id, hit.file_id)
        except InternalError:  # a row that no longer parses: its chunks are not served
            return None
        if row is not None and row.status != "completed":
            return None
        return VectorStoreSearchResponse(
            file_id=hit.file_id,
            filename=file.filename if file is not None else hit.file_id,
            score=hit.score,
            attributes=row.attributes if row is not None else None,
            content=[{"type": "text", "text": hit.text}],  # type: ignore[list-item]
        )

    def touch(self, vector_store_ids: builtins.list[str]) -> None:
        """Mark stores used now (``last_active_at``, which their expiry counts from)."""
        moment = now()
        with self.store.db.transaction():
            for vector_store_id in vector_store_ids:
                found = self.store.vector_stores.get(vector_store_id)
                if found is None:
                    continue
                fields: dict[str, Any] = {"last_active_at": moment}
                if found.expires_after is not None:
                    fields["expires_at"] = moment + found.expires_after.days * DAY
                self.store.vector_stores.update(updated(found, **fields))

    # -- tool resources --------------------------------------------------------------------

    def with_stores(self, owner: Owner) -> Owner:
        """An assistant or thread whose ``file_search.vector_stores`` helper (if any) has
        become a new store, named in ``vector_store_ids``. Inside a transaction."""
        if owner.tool_resources is None:
            return owner
        resources = owner.tool_resources.model_dump(exclude_none=True)
        resolved = self.resolve_resources(resources)
        return owner if resolved is resources else updated(owner, tool_resources=resolved)

    def resolve_resources(self, resources: dict[str, Any]) -> dict[str, Any]:
        """``file_search.vector_stores`` (already checked) → a new store's id, in the caller's
        transaction."""
        search = resources.get("file_search")
        if not search or not search.get("vector_stores"):
            return resources
        helper = search["vector_stores"][0]
        created = self._new_store(
            helper["file_ids"],
            check_chunking_strategy(helper.get("chunking_strategy")),
            metadata=helper.get("metadata"),
        )
        return {**resources, "file_search": {"vector_store_ids": [created]}}

    def _new_store(
        self,
        file_ids: builtins.list[str],
        strategy: dict[str, Any],
        name: str = "",
        metadata: Any = None,
        expires_after: Any = None,
    ) -> str:
        """Store a new vector store with ``file_ids`` attached (inside a transaction)."""
        moment = now()
        vector_store = VectorStore.model_validate(
            {
                "id": new_id("vs"),
                "object": "vector_store",
                "created_at": moment,
                "last_active_at": moment,
                "name": name,
                "metadata": check_metadata(metadata),
                "status": "completed",
                "usage_bytes": 0,
                "file_counts": FileTally().counts(),
                **_expiry(expires_after, moment),
            }
        )
        self.store.vector_stores.insert(vector_store)
        self.files.attach(vector_store.id, file_ids, strategy)
        return vector_store.id

    def attach_files(self, thread: Thread, messages: builtins.list[Message]) -> Thread:
        """Put the messages' file_search attachments into the thread's store (made if the
        thread has none); returns the thread as it must be stored. Inside a transaction."""
        file_ids = [
            attachment.file_id
            for message in messages
            for attachment in message.attachments or []
            if attachment.file_id
            and any(getattr(t, "type", None) == "file_search" for t in attachment.tools or [])
        ]
        if not file_ids:
            return thread
        resources = thread.tool_resources
        search = resources.file_search if resources is not None else None
        existing = [
            vs
            for vs in (search.vector_store_ids or [] if search else [])
            if self.store.vector_stores.exists(vs)
        ]
        strategy = check_chunking_strategy(None)
        if existing:
            self.files.attach(existing[0], list(dict.fromkeys(file_ids)), strategy)
            return thread
        expiry = {"anchor": "last_active_at", "days": THREAD_STORE_EXPIRY_DAYS}
        created = self._new_store(list(dict.fromkeys(file_ids)), strategy, expires_after=expiry)
        current = resources.model_dump(exclude_none=True) if resources is not None else {}
        return updated(
            thread,
            tool_resources={**current, "file_search": {"vector_store_ids": [created]}},
        )


def _expiry(value: Any, anchor_time: int) -> dict[str, Any]:
    if value is None:
        return {}
    if (
        not isinstance(value, dict)
        or value.get("anchor") != "last_active_at"
        or not isinstance(value.get("days"), int)
        or isinstance(value.get("days"), bool)
        or not 1 <= value["days"] <= 365
    ):
        raise InvalidRequestError(
            'Invalid \'expires_after\': expected {"anchor": "last_active_at", "days": 1..365}.',
            param="expires_after",
        )
    return {"expires_after": value, "expires_at": anchor_time + value["days"] * DAY}


def _threshold(ranking_options: Any) -> float:
    if ranking_options is None:
        return 0.0
    threshold = (
        ranking_options.get("score_threshold", 0.0) if isinstance(ranking_options, dict) else None
    )
    if (
        not isinstance(threshold, int | float)
        or isinstance(threshold, bool)
        or not 0 <= threshold <= 1
    ):
        raise InvalidRequestError(
            "Invalid 'ranking_options.score_threshold': a number from 0 to 1.",
            param="ranking_options",
        )
    return float(threshold)
