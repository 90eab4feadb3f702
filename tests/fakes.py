"""A scripted engine implementing the Engine protocol, for executor edge cases only.

It never stands in for the real model in an end-to-end test: it exists to make
timing-dependent behaviour (cancel between tokens, failures mid-stream, a busy
worker) deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

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
        self.conversations: list[list[ChatMessage]] = []  # what each prompt was made of

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
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec] = (),
        effort: str | None = None,
    ) -> list[int]:
        self.conversations.append(list(messages))
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
        cache_key: str | None = None,
        stop: Callable[[], bool] | None = None,
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


class ScriptedEngine(GatedEngine):
    """Answers each turn of a run with the next scripted text (a call or a message), at once.

    It stands in for the model's *choice* of code in executor tests of the Code Interpreter
    (which image, which file); the kernel, the store and the API around it are real.
    """

    def __init__(self, turns: Sequence[str] = (), chunk: int | None = None) -> None:
        super().__init__([])
        self.chunk = chunk  # pieces of this many characters, as tokens would come
        self.script(turns)

    def script(self, turns: Sequence[str]) -> None:
        """What the next run's turns answer, in order (the last one repeats)."""
        self.turns = list(turns) or [""]
        self.prompts = 0

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
        cache_key: str | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> TokenStream:
        text = self.turns[min(self.prompts, len(self.turns) - 1)]
        self.prompts += 1
        size = self.chunk or max(len(text), 1)
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        stream = TokenStream(pieces=iter(()))
        stream.finish_reason = "stop" if len(pieces) <= max_tokens else "length"
        stream.completion_tokens = min(len(pieces), max_tokens)
        stream.pieces = iter(pieces[:max_tokens])
        return stream


def code_call(*codes: str) -> str:
    """The generic format's calls of the code_interpreter tool, one per ``code``."""
    import json

    return "\n".join(
        f"<tool_call>\n{json.dumps({'name': 'code_interpreter', 'arguments': {'code': code}})}"
        "\n</tool_call>"
        for code in codes
    )
