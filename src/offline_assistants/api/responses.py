"""``client.responses``: the SDK's Responses resource, in process (``service/responses/service.py``).

``create(stream=True)`` returns a :class:`ResponseEventStream` of the SDK's own
``ResponseStreamEvent`` objects; leaving it early stops listening (the response
carries on, as over HTTP).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from typing import Any

from openai.types.responses.compacted_response import CompactedResponse
from openai.types.responses.input_token_count_response import InputTokenCountResponse
from openai.types.responses.response import Response
from openai.types.responses.response_item import ResponseItem
from openai.types.responses.response_stream_event import ResponseStreamEvent
from pydantic import TypeAdapter

from ..service import Runtime
from ..store import Slice
from ._common import OMIT, CursorPage, Omit, given

_ITEM: TypeAdapter[ResponseItem] = TypeAdapter(ResponseItem)
_EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)


class ResponseEventStream:
    """The events as the SDK's types; ``get_final_response()`` reads to the end (as the
    SDK's ``responses.stream`` helper does) and returns the response the last event holds."""

    def __init__(self, events: Iterator[ResponseStreamEvent | str | None]) -> None:
        self._events = events
        self._final: Response | None = None

    def __iter__(self) -> Iterator[ResponseStreamEvent]:
        for given_event in self._events:
            if given_event is None:
                continue
            # A replayed event comes as it was recorded: wire JSON.
            event = (
                _EVENT.validate_json(given_event) if isinstance(given_event, str) else given_event
            )
            if event.type in ("response.completed", "response.incomplete", "response.failed"):
                self._final = event.response
            yield event

    def until_done(self) -> ResponseEventStream:
        for _ in self:
            pass
        return self

    def get_final_response(self) -> Response:
        self.until_done()
        if self._final is None:
            raise RuntimeError("the stream ended without a final response event")
        return self._final

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> ResponseEventStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def item_page(
    fetch: Callable[..., tuple[list[dict[str, Any]], bool]],
    adapter: TypeAdapter[Any],
    **params: Any,
) -> CursorPage[Any]:
    """A cursor page of items from an in-memory listing, with its next pages wired."""
    data, more = fetch(**params)

    def next_page(after: str) -> CursorPage[Any]:
        return item_page(fetch, adapter, **{**params, "after": after})

    items = [adapter.validate_python(item) for item in data]
    return CursorPage[Any].from_slice(Slice(items, more), next_page)


class InputItems:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.responses

    def list(
        self,
        response_id: str,
        *,
        after: str | None = OMIT,
        include: list[str] | None = OMIT,
        limit: int | None = OMIT,
        order: str | None = OMIT,
    ) -> CursorPage[ResponseItem]:
        def fetch(**params: Any) -> tuple[builtins.list[dict[str, Any]], bool]:
            return self._service.input_items(response_id, **params)

        return item_page(
            fetch, _ITEM, **given(after=after, include=include, limit=limit, order=order)
        )


class InputTokens:
    def __init__(self, runtime: Runtime) -> None:
        self._counter = runtime.response_tokens

    def count(self, **params: Any) -> InputTokenCountResponse:
        """The SDK's ``responses.input_tokens.count``: the prompt's length in tokens."""
        return self._counter.count(given(**params))


class Responses:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.responses
        self._compactor = runtime.response_compaction
        self.input_items = InputItems(runtime)
        self.input_tokens = InputTokens(runtime)

    def create(self, *, stream: bool | None = OMIT, **params: Any) -> Any:
        """The SDK's parameters (``model``, ``input``, ``instructions``, ``tools``,
        ``previous_response_id``, ``conversation``, ``store``, ``background``, ...);
        ``stream=True`` for the events."""
        body = given(**params)
        if stream:
            return ResponseEventStream(self._service.stream(body))
        return self._service.create(body)

    def stream(self, **params: Any) -> ResponseEventStream:
        """Like the SDK's ``responses.stream``: ``with client.responses.stream(...) as s:``."""
        return ResponseEventStream(self._service.stream(given(**params)))

    def compact(self, **params: Any) -> CompactedResponse:
        """The SDK's ``responses.compact``: user messages, then one sealed compaction item."""
        body = self._compactor.compact(given(**params))
        return CompactedResponse.construct(**body)  # user messages: not an output type

    def retrieve(
        self,
        response_id: str,
        *,
        stream: bool | None = OMIT,
        starting_after: int | None = OMIT,
        include: list[str] | None = OMIT,
    ) -> Any:
        """The response; with ``stream=True`` its events past ``starting_after``, replayed
        as they were sent and followed to the end (as the SDK's ``retrieve(stream=True)``)."""
        if stream:
            after = (
                -1 if isinstance(starting_after, Omit) or starting_after is None else starting_after
            )
            return ResponseEventStream(self._service.replay(response_id, starting_after=after))
        return self._service.retrieve(response_id)

    def delete(self, response_id: str) -> None:
        self._service.delete(response_id)

    def cancel(self, response_id: str) -> Response:
        return self._service.cancel(response_id)
