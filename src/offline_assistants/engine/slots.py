"""Sequence slots of one llama.cpp context, and the threads' prompt states they hold.

The context holds ``parallel`` sequences (each its own KV stream, ``n_ctx`` tokens
long). A slot is one of them: while a generation runs it belongs to that
generation; between runs it keeps the KV of its last thread's prompt (the
*resident* key and tokens), so that thread's next run evaluates only what is
new. A generation for key K takes, in this order: the free slot where K is
resident, an empty free slot, or the free slot used longest ago. A slot changing
hands saves its resident state into the :class:`PrefixCache` (unless the batcher saved
it already, between runs: :meth:`Slots.save_idle`) and keeps what K's prompt
shares with it, unless K's saved state covers more (then that is restored). Then,
where another slot, running or not, or a state the cache keeps for any key holds a
longer prefix of the prompt (by content: another thread of the same assistant, a
client's fixed system prompt; :meth:`PrefixCache.longest`), its KV is copied over,
leaving that slot or state as it was. Only
whole chunks of a prompt (cut by :mod:`.prompt_chunks`) are kept resident (see :mod:`.llama` on
why outputs stay identical), so a shared prefix gives the tokens a fresh evaluation
would. A prompt's last token is evaluated again, except where a kept state holds the
very same prompt together with the logits its evaluation ended with (``Slot.logits``:
a regenerated answer, a request sent again): then nothing is evaluated and the first
token is sampled from those logits, as a fresh evaluation would sample it.

The library (``llama_cpp``) is handed in; :mod:`.llama` stays its only importer.
Slots are used from the batcher's thread only.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .prefix_cache import PrefixCache, Snapshot
from .prompt_chunks import Cuts


@dataclass
class Slot:
    seq: int
    key: str | None = None
    resident: list[int] = field(default_factory=list)  # prompt tokens whose KV is canonical
    busy: bool = False
    used_at: float = 0.0
    saved: bool = False  # the prefix cache holds exactly this resident state, as key's
    # the logits after the last resident token, where the resident tokens are a whole
    # prompt as evaluated (its last chunk ended there): float32 bytes, one per token
    logits: bytes | None = None


class Slots:
    def __init__(
        self,
        lib: ModuleType,
        ctx: Any,
        count: int,
        cuts: Cuts,
        cache: PrefixCache | None,
        model_id: str,
    ) -> None:
        self._lib = lib
        self._ctx = ctx  # the llama_context pointer
        self._memory = lib.llama_get_memory(ctx)
        self._cuts = cuts  # where this model's prompts are cut into chunks
        self._cache = cache
        self._model_id = model_id
        self.slots = [Slot(seq) for seq in range(count)]
        self.evaluated_tokens = 0  # prompt tokens evaluated (not covered by a kept state)
        self.copied_prefixes = 0  # prefixes copied from another slot
        self.shared_states = 0  # prefixes copied from another key's kept state (by content)
        self.whole_prompts = 0  # prompts kept whole, with their logits: nothing evaluated
        self.moves = 0  # generating sequences moved down into a free slot (move)

    @property
    def cuts(self) -> Cuts:
        return self._cuts

    @property
    def keeps_prompts(self) -> bool:
        """Whether prompt states are kept for later runs (prefix reuse is on)."""
        return self._cache is not None

    def free_count(self) -> int:
        return sum(1 for slot in self.slots if not slot.busy)

    def acquire(
        self, key: str | None, prompt: list[int], whole: bool = False
    ) -> tuple[Slot, int, bytes | None]:
        """A free slot for ``key``, holding the longest kept prefix of ``prompt``, how many
        leading ``prompt`` tokens it covers (up to a cut: :mod:`.prompt_chunks`; the rest
        is to be evaluated), and, with ``whole`` (the caller can sample from given
        logits), where that is all of ``prompt``, the logits to sample its first token
        from (else None). Call only while :meth:`free_count` is above 0.

        Prefixes are shared by content, not only within a thread: a new thread of an
        assistant starts from whichever slot already holds the same instructions and
        tools (its own, once another thread's state in it is saved; or a copy of another
        slot's, read from its state without disturbing it)."""
        idle = [slot for slot in self.slots if not slot.busy]
        slot = next((s for s in idle if key is not None and s.key == key), None)
        if slot is None or self._cache is None:
            slot = slot or self._empty_or_oldest(idle)
            self._switch(slot, key, prompt if self._cache is not None else [], whole)
        slot.busy = True
        if self._cache is not None:
            self._copy_longer_prefix(slot, prompt, whole)
        start = self._reach(slot.resident, slot.logits if whole else None, prompt)
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, start, -1)
        logits = slot.logits if start == len(prompt) else None
        slot.resident, slot.logits = prompt[:start], logits
        slot.saved = False
        self.evaluated_tokens += len(prompt) - start
        self.whole_prompts += logits is not None
        return slot, start, logits

    def _reach(self, tokens: list[int], logits: bytes | None, prompt: list[int]) -> int:
        """What a state of ``tokens`` covers of ``prompt``: all of it where it is that very
        prompt with the logits after it, else up to a cut before its last token."""
        if logits is not None and tokens == prompt:
            return len(prompt)
        return self._kept(tokens, prompt)

    def _empty_or_oldest(self, idle: list[Slot]) -> Slot:
        empty = [s for s in idle if s.key is None and not s.resident]
        return empty[0] if empty else min(idle, key=lambda s: s.used_at)

    def _kept(self, resident: list[int], prompt: list[int]) -> int:
        """The tokens of ``prompt`` that ``resident`` covers, up to a cut of both.

        ``resident`` is a prompt as evaluated, up to a cut of it or whole; a cut at or
        before the end of the tokens both share depends on those tokens only, so it is
        a cut of both (and where ``prompt`` cuts at the end of a whole ``resident``,
        that end was a cut of ``resident`` too)."""
        return self._cuts.covered(prompt, _common(resident, prompt))

    def _copy_longer_prefix(self, slot: Slot, prompt: list[int], whole: bool) -> None:
        """Where another slot (running or not) or a kept state of any key holds more of
        ``prompt`` than ``slot`` does, copy that KV into ``slot``: its canonical part is
        exactly what evaluating those tokens here would give."""

        def reach(other: Slot) -> int:
            return self._reach(other.resident, other.logits if whole else None, prompt)

        have = reach(slot)
        offers = [(reach(s), s) for s in self.slots if s is not slot]
        best, donor = max(offers, key=lambda offer: offer[0], default=(0, slot))
        assert self._cache is not None
        ends = self._ends(prompt, len(prompt) - 1) + ([len(prompt)] if whole else [])
        kept = self._cache.longest(self._model_id, prompt, ends)
        if kept is not None and kept[0] >= best and kept[0] > have:
            # a kept state is copied once (a donor slot's is read out first: ~5 ms for a
            # 350-token state, where restoring a kept one takes ~1)
            if self._restore(slot, kept[1]):
                self.shared_states += 1
            return
        if best <= have:
            return
        # Through the donor's state, not llama_memory_seq_cp: between sequences of separate
        # streams that copies the whole stream, every cell of the window (~190 MB for the
        # 135M model's 8k tokens), where the state holds only the cells in use. acquire
        # then cuts the copy back to the shared prefix.
        if self._restore(slot, self._snapshot(donor)):
            self.copied_prefixes += 1

    def _ends(self, tokens: list[int], limit: int) -> list[int]:
        """Where the chunks of ``tokens`` end, up to ``limit`` tokens (a prompt's last
        token is evaluated again unless a state holds that whole prompt with its logits)."""
        ends = self._cuts.starts(tokens[:limit])[1:]
        if limit > 0 and self._cuts.covered(tokens, limit) == limit:
            ends.append(limit)
        return ends

    def move(self, slot: Slot, to: Slot) -> bool:
        """Move the generation in ``slot`` (its whole state, the tokens it generated too)
        into the free slot ``to``, which holds it from now on; ``to``'s resident state is
        saved first. False where the state would not load (``slot`` goes on as it was,
        ``to`` is left empty). The batcher
        moves a generation down into a gap, so the generating slots stay consecutive:
        llama.cpp makes one forward pass per run of consecutive sequence ids."""
        assert slot.busy and not to.busy
        if self._unsaved(to):
            self._save(to)
        if not self._restore(to, self._snapshot(slot)):
            return False
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        to.key, to.busy, to.saved = slot.key, True, False
        slot.key, slot.resident, slot.busy, slot.saved = None, [], False, False
        slot.logits = None
        slot.used_at = time.monotonic()
        self.moves += 1
        return True

    def release(self, slot: Slot, prompt: list[int], logits: bytes | None = None) -> None:
        """The generation in ``slot`` ended: keep its prompt, all of it with the
        ``logits`` its evaluation ended with (for that very prompt again; a longer one
        shares only its whole chunks, :meth:`_kept`), else only its whole chunks."""
        kept = len(prompt) if logits is not None else self._cuts.covered(prompt, len(prompt))
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, kept, -1)
        slot.resident, slot.logits = prompt[:kept], logits
        slot.busy = False
        slot.saved = False
        slot.used_at = time.monotonic()

    def clear(self, slot: Slot) -> None:
        """Free ``slot`` and forget what it holds (its generation failed part-way)."""
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        slot.key, slot.resident, slot.logits = None, [], None
        slot.busy = slot.saved = False
        slot.used_at = time.monotonic()

    def _switch(self, slot: Slot, key: str | None, prompt: list[int], whole: bool) -> None:
        """Give ``slot`` to ``key``: save the resident state of the key it held, then keep
        what of it ``prompt`` shares, unless ``key``'s own saved state covers more."""
        if self._unsaved(slot):
            self._save(slot)

        def reach(tokens: list[int], logits: bytes | None) -> int:
            return self._reach(tokens, logits if whole else None, prompt)

        kept = reach(slot.resident, slot.logits)
        slot.key = key
        if self._cache is not None and key is not None:
            saved = self._cache.take(key, self._model_id)
            if saved is not None and saved.tokens and reach(saved.tokens, saved.logits) > kept:
                if self._restore(slot, saved):
                    return
            elif saved is not None:
                self._cache.put(key, saved)  # not used now: still the thread's to come back to
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, kept, -1)
        if kept < len(slot.resident):
            slot.resident, slot.logits = slot.resident[:kept], None

    def save_idle(self) -> bool:
        """Save one idle slot's state that the cache does not hold yet (the batcher calls
        this between runs, so a slot changing hands later costs no snapshot then); False
        when there was none to save."""
        slot = self._idle_unsaved()
        if slot is not None:
            self._save(slot)
        return slot is not None

    def idle_work(self) -> bool:
        """Whether :meth:`save_idle` has a state to save."""
        return self._idle_unsaved() is not None

    def _idle_unsaved(self) -> Slot | None:
        return next((s for s in self.slots if not s.busy and self._unsaved(s)), None)

    def _save(self, slot: Slot) -> None:
        assert self._cache is not None and slot.key is not None
        self._cache.put(slot.key, self._snapshot(slot))
        slot.saved = True

    def _unsaved(self, slot: Slot) -> bool:
        return (
            self._cache is not None
            and slot.key is not None
            and bool(slot.resident)
            and not slot.saved
        )

    def _restore(self, slot: Slot, saved: Snapshot) -> bool:
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        state = saved.state
        kind = ctypes.c_uint8 * len(state)
        # read in place where the state is a buffer of ours (saved in this process)
        buffer = (
            kind.from_buffer(state)
            if isinstance(state, bytearray)
            else kind.from_buffer_copy(state)
        )
        size = self._lib.llama_state_seq_set_data(self._ctx, buffer, len(state), slot.seq)
        del buffer
        if size != len(state):  # not loadable after all: evaluate in full
            self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
            slot.resident, slot.logits = [], None
            return False
        slot.resident, slot.logits = list(saved.tokens), saved.logits
        return True

    def _snapshot(self, slot: Slot) -> Snapshot:
        lib = self._lib
        size = lib.llama_state_seq_get_size(self._ctx, slot.seq)
        state = bytearray(size)  # written in place: a state is megabytes, copied once only
        view = (ctypes.c_uint8 * size).from_buffer(state)
        written = lib.llama_state_seq_get_data(self._ctx, view, size, slot.seq)
        del view
        del state[written:]
        resident = list(slot.resident)
        ends = self._ends(resident, len(resident))
        if slot.logits is not None and ends[-1:] != [len(resident)]:
            ends.append(len(resident))  # a whole prompt: found by that very prompt too
        return Snapshot(self._model_id, resident, state, tuple(ends), slot.logits)


def _common(resident: list[int], prompt: list[int]) -> int:
    """Leading tokens shared (the prompt's last token is always evaluated: never counted)."""
    limit = min(len(resident), len(prompt) - 1)
    common = 0
    while common < limit and resident[common] == prompt[common]:
        common += 1
    return common
