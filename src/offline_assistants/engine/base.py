"""The Engine protocol: what the run executor needs from a language model, and nothing more.

An engine turns chat messages into prompt tokens with the model's own chat
template, counts tokens with the model's own tokenizer, and streams generated
text one token at a time so the executor can stop between tokens (cancel,
``max_completion_tokens``). :mod:`.llama` is the real implementation; tests may
implement this protocol with a scripted fake to drive executor edge cases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class JsonObjectFormat:
    """Output must be one JSON object (``response_format={"type": "json_object"}``)."""


@dataclass(frozen=True)
class JsonSchemaFormat:
    """Output must validate against ``schema`` (``response_format`` of type json_schema)."""

    schema: dict[str, Any]


OutputConstraint = JsonObjectFormat | JsonSchemaFormat


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None


@dataclass
class TokenStream:
    """Generated text, one piece per sampled token; ``finish_reason`` is set once exhausted.

    Iterating yields the text each token adds (possibly "" while a multi-byte
    character is incomplete). Stop iterating early to stop generation.
    """

    pieces: Iterator[str]
    finish_reason: FinishReason | None = None
    completion_tokens: int = 0

    def __iter__(self) -> Iterator[str]:
        return self.pieces


class Engine(Protocol):
    """A loaded model, owned by one worker thread at a time."""

    @property
    def model_path(self) -> str: ...

    @property
    def context_length(self) -> int: ...

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The chat template applied to ``messages`` (with the generation prompt), tokenized."""
        ...

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        constraint: OutputConstraint | None = None,
    ) -> TokenStream: ...
