"""A turn's reasoning: split from the model's output, streamed as it comes, kept on the step.

For a reasoning model (the engine sets ``TokenStream.reasoning``), a turn
(``turn.py``) passes every piece through :class:`TurnReasoning` first: the
reasoning goes out as ``reasoning.delta`` bus events (the Responses stream
shows them as a ``reasoning`` item; Assistants streams do not subscribe to
them, the API having no such event), and what is left is the answer or the
calls. Once the answer or a call begins, the whole reasoning is stored on that
step as ``step_details.reasoning`` (:meth:`details`), under the id the stream
used, so ``retrieve`` reads the same item the stream showed.
"""

from __future__ import annotations

from typing import Any

from ..engine import TokenStream
from ..engine.reasoning import ReasoningSplitter
from ..ids import new_id
from .journal import RunJournal


class TurnReasoning:
    def __init__(self, journal: RunJournal, run_id: str, stream: TokenStream) -> None:
        self._journal = journal
        self._run_id = run_id
        self._stream = stream
        self._splitter = ReasoningSplitter.for_stream(stream)
        self.id = new_id("rs")

    def answer(self, piece: str) -> str:
        """What of ``piece`` is not reasoning (streaming the reasoning)."""
        if self._splitter is None:
            return piece
        thought, rest = self._splitter.feed(piece)
        if thought:
            self._journal.reasoning_text(self._run_id, self.id, thought)
        return rest

    def finish(self) -> None:
        """The output ended: reasoning held back (the closing tag's start) goes out."""
        if self._splitter is not None and (held := self._splitter.flush()):
            self._journal.reasoning_text(self._run_id, self.id, held)

    @property
    def reasoned(self) -> bool:
        return self._splitter is not None and self._splitter.reasoned

    @property
    def tokens(self) -> int:
        return self._stream.reasoning_tokens

    def details(self) -> dict[str, Any] | None:
        """The reasoning as a step keeps it (None: there was none)."""
        if self._splitter is None or not self._splitter.reasoned:
            return None
        text = self._splitter.reasoning_text
        return {"id": self.id, "content": [{"type": "reasoning_text", "text": text}]}


def kept_reasoning(step: Any) -> dict[str, Any] | None:
    """The reasoning a step keeps (``{"id", "content": [reasoning_text parts]}``, as
    :meth:`TurnReasoning.details` made it); None: it keeps none."""
    kept = (step.step_details.model_extra or {}).get("reasoning")
    return kept if isinstance(kept, dict) else None
