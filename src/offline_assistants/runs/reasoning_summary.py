"""A reasoning summary: the model's own few sentences on what it reasoned (Responses'
``reasoning.summary``).

The hosted API summarizes reasoning it keeps hidden; here the reasoning is shown whole,
and where a request asks for a summary (``auto`` and ``concise``: a sentence or two,
``detailed``: the steps) the same model writes one in a second, short generation: the
instruction as the system text, the reasoning as the user's, its own reasoning turned
off (a budget of 0) and at temperature 0. :class:`~.reasoning.TurnReasoning` asks for it
once the reasoning is over, before the answer or the calls go out; its tokens are not
the run's (usage counts the run's generation only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..engine import ChatMessage, Engine
from ..engine.reasoning import ReasoningSplitter
from .generation import sampling

STYLES = ("auto", "concise", "detailed")
CONCISE = (
    "Summarize the reasoning the user gives in one or two short sentences, stating what "
    "it concluded. Write only the summary.",
    64,
)
DETAILED = (
    "Summarize the reasoning the user gives: its main steps and what it concluded, in a "
    "short paragraph. Write only the summary.",
    192,
)
KEPT = 6_000  # characters of the reasoning summarized (its end, where it is longer)


class ReasoningSummarizer:
    """Writes the summary of a reasoning on ``engine``, piece by piece; ``stop`` ends it
    early (the run is cancelled or the runtime stops)."""

    def __init__(self, engine: Engine, style: str, stop: Callable[[], bool]) -> None:
        self._engine = engine
        self._instruction, self._tokens = DETAILED if style == "detailed" else CONCISE
        self._stop = stop

    def __call__(self, reasoning: str) -> Iterator[str]:
        asked = [ChatMessage("system", self._instruction), ChatMessage("user", reasoning[-KEPT:])]
        prompt = self._engine.prompt_tokens(asked, [], "none")
        room = self._engine.context_length - len(prompt)
        if room <= 0:
            return
        stream = self._engine.generate(
            prompt,
            max_tokens=min(self._tokens, room),
            sampling=sampling(0.0, None, tools=False, reasoning_budget=0),
            stop=self._stop,
        )
        splitter = ReasoningSplitter.for_stream(stream)
        started = False
        try:
            for piece in stream:
                text = piece if splitter is None else splitter.feed(piece)[1]
                if not started:
                    text = text.lstrip()
                started = started or bool(text)
                if text:
                    yield text
        finally:
            stream.close()
