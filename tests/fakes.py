"""A scripted engine implementing the Engine protocol, for executor edge cases only.

It never stands in for the real model in an end-to-end test: it exists to make
timing-dependent behaviour (cancel between tokens, failures mid-stream, a busy
worker) deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from offline_assistants.engine import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from offline_assistants.engine.tool_format import HermesFormat


class GatedEngine:
    """Emits ``pieces`` one at a time, each only after ``release()`` (or all if ``open``)."""

    def __init__(self, pieces: Sequence[str], *, fail_at: int | None = None) -> None:
        self.pieces = list(pieces)
        self.fail_at = fail_at
        self.gate = threading.Semaphore(0)
        self.started = threading.Event()
        self.emitted = 0

    @property
    def model_path(self) -> str:
        return "scripted"

    @property
    def context_length(self) -> int:
        return 2048

    @property
    def tool_format(self) -> HermesFormat:
        return HermesFormat(native=False)

    def prompt_tokens(
        self, messages: Sequence[ChatMessage], functions: Sequence[FunctionSpec] = ()
    ) -> list[int]:
        return [len(m.content) for m in messages]

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self.gate.release()

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
    ) -> TokenStream:
        stream = TokenStream(pieces=iter(()))

        def pieces() -> Iterator[str]:
            self.started.set()
            stream.finish_reason = "stop"
            for index, piece in enumerate(self.pieces):
                if index >= max_tokens:
                    stream.finish_reason = "length"
                    return
                self.gate.acquire(timeout=30)
                if self.fail_at == index:
                    raise RuntimeError("scripted engine failure")
                self.emitted += 1
                stream.completion_tokens += 1
                yield piece

        stream.pieces = pieces()
        return stream
