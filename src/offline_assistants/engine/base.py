"""The Engine protocol: what the run executor needs from a language model, and nothing more.

An engine turns conversation turns (and the functions on offer) into prompt
tokens with the model's own chat template, counts tokens with the model's own
tokenizer, and streams generated text one token at a time so the executor can
stop between tokens (cancel, ``max_completion_tokens``). Generation may run
under a :class:`Grammar`, which is how tool calls and JSON output are made
valid by construction. :mod:`.llama` is the real implementation; tests may
implement this protocol with a scripted fake to drive executor edge cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .call_scanner import CallEvent
from .reasoning import ThinkTags

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the API carries it


@dataclass(frozen=True)
class ChatMessage:
    """One conversation turn; assistant turns may carry tool calls, tool turns their result."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    # A reasoning model's reasoning before this assistant turn: the template keeps or drops it.
    reasoning: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """A function the model may call (from an assistant's or a run's ``tools``)."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool = False

    def as_tool(self) -> dict[str, Any]:
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters or {"type": "object", "properties": {}}
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["none", "auto", "required", "function"] = "auto"
    function: str | None = None


@dataclass(frozen=True)
class Grammar:
    """Generate under the GBNF grammar ``gbnf``.

    With ``trigger`` set the grammar is lazy: the model writes freely, and only once
    its output (leading whitespace aside) opens with ``trigger`` (a tool format's
    call marker, where ``gbnf`` also begins) does the grammar hold, from the token
    that completed the marker on. Output that stops being a prefix of ``trigger``
    is a message and never meets the grammar, which would slow it (the more so,
    the larger the vocabulary) and could not tell "<b>" from "<tool_call>".
    """

    gbnf: str
    trigger: str | None = None


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    # >1 discourages repeating recent tokens. Used for tool calls, where a small model
    # can loop inside an argument string until the token budget runs out.
    repeat_penalty: float = 1.0
    # OpenAI's frequency and presence penalties (-2 to 2), over the same recent tokens.
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    # Drop tokens less likely than min_p × the likeliest one (when sampling, not greedy):
    # the long tail of a small model's distribution is where it derails into noise.
    min_p: float = 0.0
    # DRY ("don't repeat yourself") penalty on tokens that would extend a sequence seen
    # earlier in the output; applied to free text only (never under a grammar). 0: off.
    dry_multiplier: float = 0.0
    # End free text when it is stuck in a repeating cycle (see ``repetition.looping``).
    stop_loops: bool = False
    # A reasoning model's reasoning, in tokens, before its closing tag is written for it
    # (:mod:`.reasoning`); None: as long as the model wants. 0 skips the reasoning.
    reasoning_budget: int | None = None


@dataclass
class TokenStream:
    """Generated text, one piece per sampled token; ``finish_reason`` is set once exhausted.

    Iterating yields the text each token adds (possibly "" while a multi-byte
    character is incomplete). Stop iterating early to stop generation.
    """

    pieces: Iterator[str]
    finish_reason: FinishReason | None = None
    completion_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens a saved prefix state covered (not evaluated again)
    # A reasoning model's: its tags (None: it does not reason), whether the prompt opened
    # them, and the tokens its reasoning took so far (:mod:`.reasoning`).
    reasoning: ThinkTags | None = None
    reasoning_opened: bool = False
    reasoning_tokens: int = 0
    # Called on the consumer's thread, while it iterates, once the model starts on this
    # generation (it had waited for a slot): a run is ``queued`` until then.
    on_start: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def close(self) -> None:
        """Stop generating now (the consumer will read no more)."""
        close = getattr(self.pieces, "close", None)
        if callable(close):
            close()


class ToolFormat(Protocol):
    """How tools are shown to a model and how its calls are read back."""

    @property
    def opener(self) -> str:
        """How a call begins: output that cannot start this way is a message."""
        ...

    def template_inputs(
        self, messages: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]: ...

    def grammar(
        self, functions: Sequence[FunctionSpec], choice: ToolChoice, parallel: bool
    ) -> Grammar: ...

    def parse(self, text: str) -> list[tuple[str, dict[str, Any]]]: ...

    @property
    def answer_prefix(self) -> str:
        """What an answer held to a grammar (a JSON schema) begins with, before its text."""
        ...

    def scanner(self, code_function: str | None = None) -> CallReader:
        """What reads the calls while they stream (:mod:`.call_scanner`'s events)."""
        ...


class CallReader(Protocol):
    def feed(self, text: str) -> list[CallEvent]: ...


class Engine(Protocol):
    """A loaded model; ``generate`` may be called from several threads at once."""

    @property
    def model_path(self) -> str: ...

    @property
    def context_length(self) -> int: ...

    @property
    def tool_format(self) -> ToolFormat: ...

    def prompt_tokens(
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec] = (),
        effort: str | None = None,
    ) -> list[int]:
        """The chat template applied to ``messages`` (with the generation prompt), tokenized;
        ``effort`` is the API's reasoning effort (a template that takes one is told it)."""
        ...

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
        """Stream the completion of ``prompt``; with ``cache_key`` (a thread id) the engine may
        reuse what it evaluated for that key before, with identical results. The stream
        ends (``finish_reason`` "stop") soon after ``stop`` returns True, also while it
        still waits for the model."""
        ...
