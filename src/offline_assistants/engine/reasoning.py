"""Reasoning kept apart from the answer: the think-tag convention, read from a model's template.

Reasoning models of the DeepSeek-R1 and Qwen3 kind write their thinking
between ``<think>`` and ``</think>`` before the answer; some templates open
the tag in the generation prompt (the distills), others leave the model to
write it (Qwen3, which may also skip thinking). :func:`think_tags` finds the
convention in a chat template (one that mentions both tags) and whether it has
an on/off switch (``enable_thinking``). gpt-oss's Harmony is the same
:class:`ThinkTags` with the fields after ``switch`` (:mod:`.harmony`): its analysis
channel is the reasoning, which the runtime opens, and the answer's channel headers
are dropped.

:class:`ReasoningSplitter` splits output as it streams: text while the output
may still open the tag is held back, then each piece goes to the reasoning or
to the answer (leading whitespace after the closing tag dropped). The model's
sequence (:mod:`.sequence`) keeps one over its own tokens to know when the
reasoning ends, which is when a tool-call or JSON grammar takes hold and a
reasoning budget stops counting; the consumers (``runs/turn.py``,
``service/chat_completions.py``) keep one over the pieces they read, before
the calls are told from the text (:mod:`.reply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .reply import overlap

START = "<think>"
END = "</think>"
SWITCH = "enable_thinking"


class Reasoned(Protocol):
    """What a generation says of its reasoning (``base.TokenStream`` has these)."""

    reasoning: ThinkTags | None
    reasoning_opened: bool


@dataclass(frozen=True)
class ThinkTags:
    """A template's reasoning convention: think tags, maybe with an on/off switch, or
    Harmony's analysis channel (:mod:`.harmony`, with the fields after ``switch``)."""

    start: str = START
    end: str = END
    switch: str | None = None  # the template variable that turns thinking off
    after: tuple[str, ...] = ()  # headers dropped (each if written) between end and answer
    effort: str | None = None  # the template variable that takes the reasoning effort
    opens: bool = False  # the runtime writes ``start`` for the model (the template does not)
    answer: str = ""  # written after ``end`` where no grammar holds (the answer's header)
    ends_answer: bool = False  # ``end`` ends the answer too (as a Harmony message's end does)

    def describe(self) -> str:
        if self.effort is not None:
            return (
                "Harmony channels (analysis, then the final answer or a call on commentary; "
                f"the effort reaches the template as {self.effort}: low, medium or high)"
            )
        switch = f"; {self.switch}=false turns it off" if self.switch else ""
        return f"think tags ({self.start}...{self.end} before the answer{switch})"

    def opened_by(self, prompt_text_end: str) -> bool:
        """Whether a prompt ending with ``prompt_text_end`` has the reasoning open already."""
        tail = prompt_text_end.rstrip()
        return tail.endswith(self.start)


def think_tags(template: str) -> ThinkTags | None:
    """The think-tag convention of ``template``, or None for a model that does not reason
    (Harmony is told apart by :func:`.harmony.reasoning_convention`)."""
    if START not in template or END not in template:
        return None
    return ThinkTags(switch=SWITCH if SWITCH in template else None)


class ReasoningSplitter:
    """Feeds pieces of output; ``feed`` returns (reasoning, answer) text for each.

    ``opened``: the prompt already opened the reasoning (the model starts inside it).
    """

    def __init__(self, tags: ThinkTags, *, opened: bool) -> None:
        self._tags = tags
        self.phase = "reasoning" if opened else "undecided"
        self.reasoned = opened  # the output had reasoning (not only an answer)
        self._held = ""
        self._headers = list(tags.after)  # headers that may still come before the answer
        self.reasoning: list[str] = []

    @classmethod
    def for_stream(cls, stream: Reasoned) -> ReasoningSplitter | None:
        """The splitter for a generation's ``TokenStream`` (its ``reasoning`` tags and
        whether the prompt opened them); None for a model that does not reason."""
        tags = stream.reasoning
        return None if tags is None else cls(tags, opened=stream.reasoning_opened)

    @property
    def over(self) -> bool:
        """The reasoning is over (or there was none): what follows is the answer."""
        return self.phase in ("after", "answer")

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    def feed(self, piece: str) -> tuple[str, str]:
        if self.phase == "answer":
            return "", piece
        if self.phase == "after":
            return "", self._after(piece)
        self._held += piece
        if self.phase == "undecided":
            stripped = self._held.lstrip()
            if stripped.startswith(self._tags.start):
                self.phase = "reasoning"
                self.reasoned = True
                self._held = stripped[len(self._tags.start) :]
            elif self._tags.start.startswith(stripped):
                return "", ""
            elif self._headers:
                self.phase = "after"  # an answer at once, whose headers are dropped too
                out, self._held = self._held, ""
                return "", self._after(out)
            else:
                self.phase = "answer"
                out, self._held = self._held, ""
                return "", out
        return self._reasoning()

    def _reasoning(self) -> tuple[str, str]:
        end = self._tags.end
        cut = self._held.find(end)
        if cut >= 0:
            thought, rest = self._held[:cut], self._held[cut + len(end) :]
            self._held = ""
            self.phase = "after"
            self.reasoning.append(thought)
            return thought, self._after(rest)
        keep = overlap(self._held, end)
        thought = self._held[: len(self._held) - keep]
        self._held = self._held[len(thought) :]
        if thought:
            self.reasoning.append(thought)
        return thought, ""

    def _after(self, rest: str) -> str:
        """Whitespace between the closing tag and the answer is not the answer's, nor are
        the convention's headers (each dropped if it comes; held while it may be coming)."""
        rest = (self._held + rest).lstrip()
        self._held = ""
        while self._headers and rest:
            header = self._headers[0]
            if rest.startswith(header):
                rest = rest[len(header) :].lstrip()
                self._headers.pop(0)
            elif header.startswith(rest):
                self._held = rest
                return ""
            else:
                self._headers.pop(0)  # not written: the next one may be
        if rest:
            self.phase = "answer"
        return rest

    def flush(self) -> str:
        """Reasoning held back (a piece that might have begun the closing tag) at the end."""
        if self.phase != "reasoning" or not self._held:
            return ""
        out, self._held = self._held, ""
        self.reasoning.append(out)
        return out


@dataclass(frozen=True)
class ReasoningPlan:
    """How one generation reasons: its engine's tags, whether the prompt opened them, and
    the budget after which the closing tag (``end_tokens``) is written for the model."""

    tags: ThinkTags
    opened: bool
    budget: int | None = None  # reasoning tokens; None: as many as the model wants
    end_tokens: tuple[int, ...] = ()
    start_tokens: tuple[int, ...] = ()  # written first, where the runtime opens the reasoning
    answer_tokens: tuple[int, ...] = ()  # written after the end where no grammar holds
    answer_end: tuple[int, ...] = ()  # tokens that end the generation once the answer began
