"""The model's thread: several generations advanced together, one ``llama_decode`` at a time.

Generations (:class:`~.sequence.Sequence`) arrive from any thread and wait,
first come first served, for a free slot of the context (:mod:`.slots`; as
many as ``parallel``). Each turn of the loop:

1. admits waiting sequences into free slots (restoring their thread's saved
   prompt state where there is one) and drops those whose consumer stopped
   reading or whose ``stop`` says so (a cancelled run, a stopping runtime);
2. evaluates one token of every sequence that is generating, all in one
   decode, and samples each sequence's next token from its own row;
3. evaluates one prompt chunk (``n_batch`` tokens) of the oldest sequence
   still reading its prompt, in a decode of its own, so a newcomer's long
   prompt delays the others by one chunk per token, not by the whole prompt.

A sequence whose whole prompt a kept state holds, with the logits its evaluation
ended with (the same question asked again, a regenerated answer), evaluates
nothing: those logits are written into the row the last decode left and its first
token is sampled from there, the same token a fresh evaluation would sample.

Between runs, with nothing to generate, the thread saves the prompt states
that finished runs left in their slots into the prefix cache, one slot per
turn of the loop, so a slot handed to another thread later needs no snapshot
on that thread's way to its first token.

Prompt chunks are never mixed with other sequences' tokens, and each sequence
has its own KV stream: a chunk's KV is what a solo evaluation makes, which is
what prefix reuse relies on (see :mod:`.llama`). A failure inside one
sequence (its grammar refusing a token, say) ends that sequence with the
error; a failed decode ends the sequences in it. Only this thread touches the
context, the slots and the samplers.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..errors import InternalError
from .decode_batch import DecodeBatch
from .sequence import Sequence
from .slots import Slots

log = logging.getLogger(__name__)
# A generation is moved into a lower free slot only with this many tokens still to go,
# and only while its state is short (copied twice: ~23 KB a token for the 135M model).
MOVE_MIN_STEPS = 4
MOVE_MAX_TOKENS = 2048


class Batcher:
    def __init__(
        self,
        lib: ModuleType,
        context: Any,
        slots: Slots,
        before_decode: Callable[[], None] = lambda: None,
        n_vocab: int = 0,
        when_idle: Callable[[], None] = lambda: None,
    ) -> None:
        """``context`` is the ``LlamaContext`` (samplers read its logits); prompt chunks
        are cut as ``slots.cuts`` says; ``before_decode`` runs before every decode and
        ``when_idle`` each time the work runs out; ``n_vocab`` logits a row (0: a
        prompt's logits are never kept)."""
        self._lib = lib
        self._n_vocab = n_vocab
        self._context = context
        self._slots = slots
        self._before_decode = before_decode
        self._when_idle = when_idle
        self._working = False  # there was work at the last turn of the loop
        self._tokens = DecodeBatch(lib, len(slots.slots))
        self._prompt = DecodeBatch(lib, slots.cuts.size)
        self._waiting: collections.deque[Sequence] = collections.deque()
        self._active: list[Sequence] = []
        self._wakeup = threading.Condition()
        self._closed = False
        self._row_left = False  # the last decode left a row of logits (to sample kept ones)
        self.decodes = 0  # decode calls made, and the tokens they evaluated (for benchmarks)
        self.decoded_tokens = 0
        self._thread = threading.Thread(target=self._loop, name="offline-assistants-model")
        self._thread.daemon = True
        self._thread.start()

    def submit(self, sequence: Sequence) -> None:
        with self._wakeup:
            if self._closed:
                sequence.fail(InternalError("the model was unloaded"))
                return
            self._waiting.append(sequence)
            self._wakeup.notify()

    def wake(self) -> None:
        with self._wakeup:
            self._wakeup.notify()

    def close(self, timeout: float = 30.0) -> bool:
        """End the loop; sequences still running or waiting end with an error. False when
        the thread was still inside a decode after ``timeout`` seconds."""
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        for sequence in [*self._waiting, *self._active]:
            sequence.fail(InternalError("the model was unloaded"))
        self._waiting.clear()
        self._active.clear()
        self._tokens.close()
        self._prompt.close()
        return True

    def _loop(self) -> None:
        while True:
            with self._wakeup:
                while not self._closed and not self._waiting and not self._active:
                    if self._working or self._slots.idle_work():
                        break
                    self._wakeup.wait()
                if self._closed:
                    return
                working = bool(self._waiting or self._active)
            try:
                if working:
                    self._working = True
                    self._admit()
                    self._generate()
                    self._read_prompt()
                elif self._working:  # the work just ran out
                    self._working = False
                    self._when_idle()
                else:  # nothing to generate: save a finished thread's state meanwhile
                    self._slots.save_idle()
            except Exception:  # noqa: BLE001 - the model's thread must outlive any one turn
                log.exception("batcher: a turn failed")

    def _admit(self) -> None:
        with self._wakeup:
            stopped = [s for s in self._waiting if s.wants_stop()]
            for sequence in stopped:
                self._waiting.remove(sequence)
            admitted: list[Sequence] = []
            while self._waiting and len(admitted) < self._slots.free_count():
                admitted.append(self._waiting.popleft())
        for sequence in stopped:
            sequence.finish("stop")
        for sequence in list(self._active):
            if sequence.wants_stop():
                sequence.finish("stop")
                self._retire(sequence)
        for sequence in admitted:
            if sequence.max_tokens <= 0:
                sequence.finish("length")
                continue
            whole = self._row_left and self._n_vocab > 0
            slot, covered, logits = self._slots.acquire(sequence.cache_key, sequence.prompt, whole)
            self._active.append(sequence)
            try:
                sequence.start(slot, covered)
            except Exception as exc:  # noqa: BLE001 - e.g. a grammar llama.cpp rejects
                self._fail(sequence, exc)
                continue
            if logits is not None:  # the whole prompt was kept: sample after it at once
                sequence.prompt_logits = logits
                row = self._lib.llama_get_logits_ith(self._context.ctx, -1)
                ctypes.memmove(row, logits, len(logits))
                self._sample(sequence, -1)

    def _generate(self) -> None:
        generating = [s for s in self._active if s.next_token is not None]
        if not generating:
            return
        self._close_gap(generating)
        # In sequence-id order: with a KV stream per sequence llama.cpp splits a batch into
        # one forward pass per run of consecutive ids, in the order given (split_equal).
        generating.sort(key=lambda s: s.slot.seq if s.slot is not None else -1)
        batch = self._tokens
        batch.clear()
        rows = []
        for sequence in generating:
            assert sequence.slot is not None and sequence.next_token is not None
            rows.append(batch.add(sequence.next_token, sequence.position, sequence.slot.seq, True))
            sequence.position += 1
            sequence.next_token = None
        if not self._decode(batch, generating):
            return
        for sequence, row in zip(generating, rows, strict=True):
            self._sample(sequence, row)

    def _close_gap(self, generating: list[Sequence]) -> None:
        """Where a free slot lies below the highest generating one (a run in the middle
        ended), move that generation down into it, one per step: the generating slots
        stay one run of consecutive ids, one forward pass a step instead of two (eight
        sequences 39 ms a step, seven with a gap 50: DEVELOPERS.md). Not for a generation
        about to end or with a long state to copy, where the move costs more than it saves."""
        ids = {s.slot.seq for s in generating if s.slot is not None}
        top = max(generating, key=lambda s: s.slot.seq if s.slot is not None else -1)
        slot = top.slot
        if slot is None or top.max_tokens - len(top.generated) < MOVE_MIN_STEPS:
            return
        if top.position > MOVE_MAX_TOKENS:
            return
        rest = ids - {slot.seq}
        holes = [s for s in self._slots.slots if not s.busy and s.seq < slot.seq]
        best = min(holes, key=lambda hole: _runs(rest | {hole.seq}), default=None)
        if best is None or _runs(rest | {best.seq}) >= _runs(ids):
            return  # no free slot below, or none that joins the runs
        if self._slots.move(slot, best):
            top.slot = best

    def _read_prompt(self) -> None:
        sequence = next((s for s in self._active if s.pending), None)
        if sequence is None:
            return
        assert sequence.slot is not None
        chunk = sequence.chunk(self._slots.cuts)
        last = not sequence.pending
        batch = self._prompt
        batch.clear()
        row = 0
        for index, token in enumerate(chunk):
            final = last and index == len(chunk) - 1
            row = batch.add(token, sequence.position + index, sequence.slot.seq, final)
        sequence.position += len(chunk)
        if self._decode(batch, [sequence]) and last:
            if self._n_vocab and self._slots.keeps_prompts:  # for the same prompt again
                logits = self._lib.llama_get_logits_ith(self._context.ctx, row)
                sequence.prompt_logits = ctypes.string_at(logits, 4 * self._n_vocab)
            self._sample(sequence, row)

    def _decode(self, batch: DecodeBatch, sequences: list[Sequence]) -> bool:
        self._before_decode()
        try:
            batch.decode(self._context.ctx)
        except Exception as exc:  # noqa: BLE001
            self._row_left = False
            for sequence in sequences:
                self._fail(sequence, exc)
            return False
        self.decodes += 1
        self.decoded_tokens += batch.size
        self._row_left = batch.outputs > 0
        return True

    def _sample(self, sequence: Sequence, row: int) -> None:
        try:
            going = sequence.take(sequence.choose(self._context, row))
        except Exception as exc:  # noqa: BLE001 - e.g. the grammar refused a token
            self._fail(sequence, exc)
            return
        if not going:
            self._retire(sequence)

    def _retire(self, sequence: Sequence) -> None:
        self._active.remove(sequence)
        if sequence.slot is not None:  # keep what was evaluated of the prompt
            prompt = sequence.prompt[: sequence.position]
            self._slots.release(sequence.slot, prompt, sequence.prompt_logits)

    def _fail(self, sequence: Sequence, error: Exception) -> None:
        sequence.fail(error)
        if sequence in self._active:
            self._active.remove(sequence)
        if sequence.slot is not None:
            self._slots.clear(sequence.slot)


def _runs(ids: set[int]) -> int:
    """How many runs of consecutive numbers ``ids`` makes (forward passes a step takes)."""
    return sum(1 for i in ids if i - 1 not in ids)
