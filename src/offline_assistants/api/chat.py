"""``client.chat.completions``: the SDK's Chat Completions resource, in process.

``create(stream=True)`` returns a :class:`ChunkStream` of the SDK's own
``ChatCompletionChunk`` objects, iterable and closable like the SDK's ``Stream``;
closing it stops the generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.chat.chat_completion import ChatCompletion
from openai.types.chat.chat_completion_chunk import ChatCompletionChunk

from ..service import Runtime
from ._common import OMIT, given


class ChunkStream:
    def __init__(self, chunks: Iterator[ChatCompletionChunk]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self._chunks

    def __next__(self) -> ChatCompletionChunk:
        return next(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Completions:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.chat_completions

    def create(
        self,
        *,
        messages: Any,
        model: str,
        stream: bool | None = OMIT,
        **params: Any,
    ) -> ChatCompletion | ChunkStream:
        """The SDK's parameters (``tools``, ``tool_choice``, ``response_format``, ``stop``,
        ``max_completion_tokens``, ``temperature``, ...); ``stream=True`` for chunks."""
        body = {"messages": messages, "model": model, **given(**params)}
        if stream:
            return ChunkStream(self._service.stream(body))
        return self._service.create(body)


class Chat:
    def __init__(self, runtime: Runtime) -> None:
        self.completions = Completions(runtime)
