"""Where a prompt is cut into the chunks it is evaluated in: the same cuts every time.

A chunk's KV entries depend on the chunk that evaluated it, so a kept prefix gives the
tokens a fresh evaluation would only if it ends where a fresh evaluation cuts (see
DEVELOPERS.md on prefix reuse). Cuts fall every ``size`` tokens (``n_batch``) and also
right after a *separator* once the chunk holds ``MIN_CHUNK`` tokens. A separator is
what the model's chat template writes between one message's text and the next one's
(``<|im_end|>\\n<|im_start|>user\\n``, ``<end_of_turn>\\n<start_of_turn>model\\n``...),
learnt from the template at load (:meth:`~.chat_prompt.ChatPrompt.separators`). So a
chunk ends where a message's text begins: a prefix shared by many prompts (an
assistant's instructions, a client's system prompt) is reused whole, up to the next
message's own words.

One separator ends a chunk however short it is: the *answer opener*, what the template
writes between a user's text and the assistant's answer
(``<|im_end|>\n<|im_start|>assistant\n``), which a prompt asking for an answer ends
with (:meth:`~.chat_prompt.ChatPrompt.answer_opener`). A thread's next turn holds that
prompt followed by the answer, and is cut at the same place, so it reuses all of it and
evaluates only the answer and the new question. Under ``MIN_CHUNK`` alone, a short
question (13 tokens with the generation prompt) made no cut, and every other turn
evaluated the last question again.

A cut depends only on the tokens before it, so two prompts that share a prefix are cut
alike inside it, up to and including its end. :mod:`.slots` keeps and shares prefixes up
to a cut, :class:`~.sequence.Sequence` evaluates from cut to cut.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# A separator ends a chunk only once the chunk is this long: a short message does not
# make a tiny chunk of its own (each chunk is one pass over the weights).
MIN_CHUNK = 32


@dataclass(frozen=True)
class Cuts:
    """The cutting rule of one model's prompts: ``size`` tokens at most per chunk, a cut
    after any of ``separators`` (token runs) once the chunk holds ``MIN_CHUNK``, and
    after ``opener`` (empty: none) always."""

    size: int
    separators: frozenset[tuple[int, ...]] = frozenset()
    opener: tuple[int, ...] = ()
    _by_last: dict[int, list[tuple[int, ...]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    # The last prompt cut and where its chunks start: a slot's acquire asks about one
    # prompt (and its prefixes) some ten times, each a pass over it in Python (~0.1 ms).
    _last: list[tuple[list[int], list[int]]] = field(
        init=False, repr=False, compare=False, default_factory=list
    )

    def __post_init__(self) -> None:
        for separator in self.separators | {self.opener}:
            if separator:
                self._by_last.setdefault(separator[-1], []).append(separator)

    @property
    def identity(self) -> str:
        """A short name of this rule: a state saved under other cuts is not restored."""
        rule = (self.size, sorted(self.separators), self.opener)
        digest = hashlib.sha256(repr(rule).encode()).hexdigest()
        return f"cuts-{digest[:12]}"

    @classmethod
    def of(
        cls, size: int, separators: Iterable[Sequence[int]] = (), opener: Sequence[int] = ()
    ) -> Cuts:
        return cls(size, frozenset(tuple(s) for s in separators if s), tuple(opener))

    def starts(self, prompt: Sequence[int]) -> list[int]:
        """The positions where ``prompt``'s chunks start (0 first), every one below its length."""
        return self._starts(prompt, len(prompt))

    def covered(self, prompt: Sequence[int], common: int) -> int:
        """The longest prefix of at most ``common`` tokens of ``prompt`` that ends on a cut."""
        if common <= 0:
            return 0
        starts = self._starts(prompt, common)
        return common if self._cuts_at(prompt, common, starts[-1]) else starts[-1]

    def _starts(self, prompt: Sequence[int], end: int) -> list[int]:
        starts = self._chain(prompt)
        return starts[: max(1, bisect_left(starts, end))]

    def _chain(self, prompt: Sequence[int]) -> list[int]:
        """Where every chunk of ``prompt`` starts; those of a prefix of the last prompt
        asked about are read from it (a cut depends only on the tokens before it)."""
        last = self._last[0] if self._last else None
        if last is not None and len(prompt) <= len(last[0]) and last[0][: len(prompt)] == prompt:
            return last[1]
        starts = [0]
        for position in range(1, len(prompt)):
            if self._cuts_at(prompt, position, starts[-1]):
                starts.append(position)
        self._last[:] = [(list(prompt), starts)]
        return starts

    def _cuts_at(self, prompt: Sequence[int], position: int, start: int) -> bool:
        """Whether a chunk that began at ``start`` ends at ``position`` (read from the
        tokens before ``position`` only)."""
        run = position - start
        if run == self.size:
            return True
        for separator in self._by_last.get(prompt[position - 1], ()):
            if (run >= MIN_CHUNK or separator == self.opener) and _ends_with(
                prompt, position, separator
            ):
                return True
        return False


def _ends_with(prompt: Sequence[int], position: int, separator: tuple[int, ...]) -> bool:
    """Whether ``prompt``'s tokens before ``position`` end with ``separator``."""
    return position >= len(separator) and all(
        prompt[position - len(separator) + i] == token for i, token in enumerate(separator)
    )
