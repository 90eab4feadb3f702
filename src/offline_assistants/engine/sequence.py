"""One generation inside the batch: its prompt, sampler, grammar and the pieces it hands out.

:mod:`.batcher` (the model's thread) evaluates a sequence's prompt chunk by
chunk, then feeds back each token it samples; everything a single generation
decides is here: which token (its own sampler chain and grammar, the lazy
grammar's trigger; for a reasoning model, no grammar until its reasoning is
over, and the closing tag written for it once its reasoning budget is spent:
:mod:`.reasoning`), when it ends (an end-of-generation token, the token budget,
a repeating cycle, or its ``stop`` callable saying so), and the text each token
adds. The consumer (a run's thread) reads the pieces from :meth:`pieces`;
stopping to read (``TokenStream.close``) tells the batcher to drop the sequence.
"""

from __future__ import annotations

import codecs
import queue
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .base import FinishReason, Grammar, Sampling, TokenStream
from .prompt_chunks import Cuts
from .reasoning import ReasoningPlan, ReasoningSplitter
from .repetition import looping
from .slots import Slot

_END = object()
_STARTED = object()  # placed in a slot: the consumer calls the stream's on_start


class Sampler(Protocol):
    def sample(self, ctx: Any, row: int) -> int: ...

    def accept(self, token: int) -> None: ...


class Vocabulary(Protocol):
    """What a sequence needs from its engine's model."""

    def compile(self, gbnf: str) -> Any: ...

    def sampler(self, sampling: Sampling, grammar: Any) -> Sampler: ...

    def token_bytes(self, token: int, special: bool) -> bytes: ...

    def ends(self, token: int) -> bool: ...


class Sequence:
    def __init__(
        self,
        vocabulary: Vocabulary,
        stream: TokenStream,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None,
        cache_key: str | None,
        stop: Callable[[], bool] | None,
        wake: Callable[[], None],
        reasoning: ReasoningPlan | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.stream = stream
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.sampling = sampling
        self.grammar = grammar
        self.cache_key = cache_key
        self._stop = stop
        self._wake = wake
        self._out: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.abandoned = False  # the consumer stopped reading
        self.slot: Slot | None = None
        self.position = 0  # where the next evaluated token goes
        self.pending: list[int] = []  # prompt tokens still to evaluate
        self.next_token: int | None = None  # sampled, to be evaluated in the next decode
        self.generated: list[int] = []
        self.prompt_logits: bytes | None = None  # after the whole prompt, to keep with it
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._trigger = grammar.trigger if grammar is not None else None
        self._opened = ""  # the output while it may still be the trigger's start
        self._compiled: Any = None
        self._sampler: Sampler | None = None
        self._cuts: list[int] | None = None  # where the prompt's chunks end
        self.reasoning = reasoning
        self._thinking = (
            None
            if reasoning is None
            else ReasoningSplitter(reasoning.tags, opened=reasoning.opened)
        )
        # Tokens written for the model: the opening where the runtime opens the reasoning,
        # the closing tag at its budget, the answer's header after it (:mod:`.reasoning`).
        self._forced: list[int] = [] if reasoning is None else list(reasoning.start_tokens)
        self._opening = len(self._forced)
        self._answer_from = 0  # the first generated token past the reasoning

    def start(self, slot: Slot, covered: int) -> None:
        """Placed in ``slot``, whose state already covers ``covered`` prompt tokens."""
        self.slot = slot
        self.position = covered
        self.pending = self.prompt[covered:]
        self.stream.reused_tokens = covered
        lazy = self.grammar is not None and self.grammar.trigger is not None
        if self.grammar is not None and not lazy and not self._reasoning():
            self._compiled = self.vocabulary.compile(self.grammar.gbnf)
        self._sampler = self.vocabulary.sampler(self.sampling, self._compiled)
        self._out.put(_STARTED)

    def wants_stop(self) -> bool:
        return self.abandoned or (self._stop is not None and self._stop())

    def chunk(self, cuts: Cuts) -> list[int]:
        """The next prompt chunk to evaluate, taken off ``pending``: cut where a solo
        evaluation of the whole prompt cuts (:mod:`.prompt_chunks`)."""
        if self._cuts is None:
            self._cuts = [*cuts.starts(self.prompt)[1:], len(self.prompt)]
        end = next(c for c in self._cuts if c > self.position)
        chunk, self.pending = (
            self.pending[: end - self.position],
            self.pending[end - self.position :],
        )
        return chunk

    def choose(self, ctx: Any, row: int) -> int:
        """Sample the token after the logits of batch row ``row``."""
        assert self._sampler is not None
        if self._forced and not self._reasoning():
            token = self._forced.pop(0)  # the answer's header, where no grammar holds
            self._sampler.accept(token)
            return token
        if self._reasoning():
            token = self._think(ctx, row)
            if self._reasoning() or self.stream.reasoning_tokens:
                return token  # still reasoning, or this token closed it: the grammar is next
        else:
            token = self._sampler.sample(ctx, row)
        grammar, trigger = self.grammar, self._trigger
        if trigger is None or grammar is None:
            return token
        said = (self._opened + self._text(token)).lstrip()
        if said.startswith(trigger):
            # The model opened a call: from this token on, the grammar holds.
            self._compiled = self.vocabulary.compile(grammar.gbnf)
            self._sampler = self.vocabulary.sampler(self.sampling, self._compiled)
            for earlier in self.generated[self._answer_from :]:
                self._sampler.accept(earlier)
            token = self._sampler.sample(ctx, row)
            self._trigger = None
        elif trigger.startswith(said):
            self._opened = said
        else:
            self._trigger = None  # a message: it never meets the grammar
        return token

    def _reasoning(self) -> bool:
        return self._thinking is not None and not self._thinking.over

    def _think(self, ctx: Any, row: int) -> int:
        """The next token while the model may be reasoning, and what it ends."""
        assert self._sampler is not None and self._thinking is not None
        assert self.reasoning is not None
        budget = self.reasoning.budget
        spent = budget is not None and len(self.generated) - self._opening >= budget
        if spent and not self._forced and self._thinking.phase == "reasoning":
            self._forced = list(self.reasoning.end_tokens)
        if self._forced:
            token = self._forced.pop(0)
            self._sampler.accept(token)
        else:
            token = self._sampler.sample(ctx, row)
        self._thinking.feed(self._text(token))
        if self._thinking.reasoned:  # this token is reasoning (or closes it)
            self.stream.reasoning_tokens = len(self.generated) + 1
        if not self._thinking.over:
            return token
        # From here on the output is the answer: the grammar holds (lazily: once a call opens);
        # with none, the answer's header (Harmony's final channel) is written for the model.
        self._forced = list(self.reasoning.answer_tokens) if self.grammar is None else []
        answered_at_once = not self._thinking.reasoned  # the output so far is the answer
        self._answer_from = 0 if answered_at_once else len(self.generated) + 1
        grammar = self.grammar
        if grammar is not None and grammar.trigger is None:
            self._compiled = self.vocabulary.compile(grammar.gbnf)
            self._sampler = self.vocabulary.sampler(self.sampling, self._compiled)
            if answered_at_once:
                # What was held back while it might open the tag: whitespace (which the
                # grammar need not allow first) and a beginning of the tag, such as "<".
                for earlier in self.generated:
                    if self._text(earlier).strip():
                        self._sampler.accept(earlier)
                token = self._sampler.sample(ctx, row)
        elif answered_at_once and grammar is not None:
            self._opened = self._said()  # the trigger reads the output from its start
        return token

    def _ends_answer(self, token: int) -> bool:
        """Whether ``token`` ends the answer as the reasoning convention has it (Harmony's
        ``<|end|>``: not an end of generation, since it also ends the analysis)."""
        plan, thinking = self.reasoning, self._thinking
        return (
            plan is not None
            and token in plan.answer_end
            and thinking is not None
            and thinking.over
            and len(self.generated) >= self._answer_from
        )

    def _tag(self, token: int) -> bool:
        plan = self.reasoning
        return plan is not None and self._text(token).strip() in (plan.tags.start, plan.tags.end)

    def _said(self) -> str:
        return "".join(self._text(t) for t in self.generated[self._answer_from :])

    def take(self, token: int) -> bool:
        """Hand out ``token``'s text; False when the generation is over (and finished)."""
        if self.vocabulary.ends(token) or self._ends_answer(token):
            self.finish("stop")
            return False
        # Special tokens are spelled out under a grammar (calls), and a family's think tags,
        # which may be control tokens, always: the consumers split the reasoning at them.
        special = self._compiled is not None or self._trigger is not None or self._tag(token)
        piece = self._decoder.decode(self.vocabulary.token_bytes(token, special))
        self.generated.append(token)
        self.stream.completion_tokens = len(self.generated)
        self._out.put(piece)
        if self._compiled is None and self.sampling.stop_loops and looping(self.generated):
            self.finish("stop")  # stuck in a cycle: the answer is over
            return False
        if len(self.generated) >= self.max_tokens:
            self.finish("length")
            return False
        self.next_token = token
        return True

    def finish(self, reason: FinishReason) -> None:
        self.stream.finish_reason = reason
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._out.put(tail)
        self._out.put(_END)

    def fail(self, error: BaseException) -> None:
        self._out.put(error)

    def pieces(self) -> Iterator[str]:
        """What the consumer iterates: the pieces, until the end or the error."""
        try:
            while True:
                item = self._out.get()
                if item is _END:
                    return
                if item is _STARTED:
                    if self.stream.on_start is not None:
                        self.stream.on_start()
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield str(item)
        finally:
            self.abandoned = True
            self._wake()

    def _text(self, token: int) -> str:
        return self.vocabulary.token_bytes(token, True).decode("utf-8", errors="replace")
