"""Telling a reply's text from its tool calls while it streams, and cutting it at stop strings.

A model's output is either an answer or calls, in the tool format's syntax
(``<tool_call>...``). Which one is known only once the output (leading
whitespace aside) stops being a prefix of the format's call marker, or
completes it. :class:`ReplySplitter` holds text back until then and from then
on passes each piece to the right side. Runs (``runs/turn.py``) and chat
completions (``service/chat_completions.py``) read generation through it.

:class:`StopStrings` does the same for the Chat Completions ``stop``
parameter: text that may be the start of a stop string is held back, and the
reply ends before the first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    """What one piece of output adds: answer text, call text, or (while undecided) nothing."""

    text: str = ""
    call: str = ""


class ReplySplitter:
    """Feeds pieces of output; with ``calls_possible`` False everything is text at once."""

    def __init__(self, opener: str, calls_possible: bool) -> None:
        self._opener = opener
        self._calls_possible = calls_possible
        self.held = ""  # everything read while undecided, then every call piece
        self._fed = 0  # how much of ``held`` went out as call text
        self.decided: bool = not calls_possible
        self.is_text: bool = not calls_possible

    def feed(self, piece: str) -> Split:
        if self.is_text:
            return Split(text=piece)
        self.held += piece
        stripped = self.held.lstrip()
        if stripped.startswith(self._opener):
            self.decided = True
            out, self._fed = self.held[self._fed :], len(self.held)
            return Split(call=out)
        if self._opener.startswith(stripped):
            return Split()
        self.decided = self.is_text = True
        out, self.held = self.held, ""
        return Split(text=out)

    @property
    def calling(self) -> bool:
        """The output opened a call."""
        return self.decided and not self.is_text


class StopStrings:
    """Cuts text at the first of ``stops``; ``feed`` returns what may be shown so far."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if not self._stops:
            return text
        if self.stopped:
            return ""
        self._pending += text
        cut = min((i for i in (self._pending.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        keep = max((overlap(self._pending, stop) for stop in self._stops), default=0)
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(out) :]
        return out

    def flush(self) -> str:
        """The text held back when the reply ended without meeting a stop string."""
        out, self._pending = self._pending, ""
        return "" if self.stopped else out


def overlap(text: str, stop: str) -> int:
    """The length of the longest end of ``text`` that begins ``stop``."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-size:]):
            return size
    return 0
