"""Sequence slots of one llama.cpp context, and the threads' prompt states they hold.

The context holds ``parallel`` sequences (each its own KV stream, ``n_ctx`` tokens
long). A slot is one of them: while a generation runs it belongs to that
generation; between runs it keeps the KV of its last thread's prompt (the
*resident* key and tokens), so that thread's next run evaluates only what is
new. A generation for key K takes, in this order: the free slot where K is
resident, an empty free slot, or the free slot used longest ago, whose resident
state is first saved into the :class:`PrefixCache`; K's saved state (if any) is
then restored into it. Only whole ``n_batch``-aligned chunks of a prompt are
kept resident (see :mod:`.llama` on why outputs stay identical).

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


@dataclass
class Slot:
    seq: int
    key: str | None = None
    resident: list[int] = field(default_factory=list)  # prompt tokens whose KV is canonical
    busy: bool = False
    used_at: float = 0.0


class Slots:
    def __init__(
        self,
        lib: ModuleType,
        ctx: Any,
        count: int,
        batch: int,
        cache: PrefixCache | None,
        model_id: str,
    ) -> None:
        self._lib = lib
        self._ctx = ctx  # the llama_context pointer
        self._memory = lib.llama_get_memory(ctx)
        self._batch = batch
        self._cache = cache
        self._model_id = model_id
        self.slots = [Slot(seq) for seq in range(count)]
        self.evaluated_tokens = 0  # prompt tokens evaluated (not covered by a kept state)

    def free_count(self) -> int:
        return sum(1 for slot in self.slots if not slot.busy)

    def acquire(self, key: str | None, prompt: list[int]) -> tuple[Slot, int]:
        """A free slot holding ``key``'s state, and how many leading ``prompt`` tokens that
        state covers (a multiple of ``n_batch``; the rest is to be evaluated). Call only
        while :meth:`free_count` is above 0."""
        idle = [slot for slot in self.slots if not slot.busy]
        slot = next((s for s in idle if key is not None and s.key == key), None)
        if slot is None or self._cache is None:
            empty = [s for s in idle if s.key is None and not s.resident]
            slot = slot or (empty[0] if empty else min(idle, key=lambda s: s.used_at))
            self._switch(slot, key)
        slot.busy = True
        common = 0
        limit = min(len(slot.resident), len(prompt) - 1)  # the last token is always evaluated
        while common < limit and slot.resident[common] == prompt[common]:
            common += 1
        start = common // self._batch * self._batch
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, start, -1)
        slot.resident = prompt[:start]
        self.evaluated_tokens += len(prompt) - start
        return slot, start

    def release(self, slot: Slot, prompt: list[int]) -> None:
        """The generation in ``slot`` ended: keep only its prompt's whole aligned chunks."""
        kept = len(prompt) // self._batch * self._batch
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, kept, -1)
        slot.resident = prompt[:kept]
        slot.busy = False
        slot.used_at = time.monotonic()

    def clear(self, slot: Slot) -> None:
        """Free ``slot`` and forget what it holds (its generation failed part-way)."""
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        slot.key, slot.resident = None, []
        slot.busy = False
        slot.used_at = time.monotonic()

    def _switch(self, slot: Slot, key: str | None) -> None:
        """Save ``slot``'s resident state (if any) and restore ``key``'s into it."""
        if self._cache is not None and slot.key is not None and slot.resident:
            self._cache.put(slot.key, self._snapshot(slot))
        self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        slot.key, slot.resident = key, []
        if self._cache is None or key is None:
            return
        saved = self._cache.take(key, self._model_id)
        if saved is None or not saved.tokens:
            return
        buffer = (ctypes.c_uint8 * len(saved.state)).from_buffer_copy(saved.state)
        size = self._lib.llama_state_seq_set_data(self._ctx, buffer, len(saved.state), slot.seq)
        if size != len(saved.state):  # not loadable after all: evaluate in full
            self._lib.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
            return
        slot.resident = list(saved.tokens)

    def _snapshot(self, slot: Slot) -> Snapshot:
        lib = self._lib
        size = lib.llama_state_seq_get_size(self._ctx, slot.seq)
        buffer = (ctypes.c_uint8 * size)()
        written = lib.llama_state_seq_get_data(self._ctx, buffer, size, slot.seq)
        return Snapshot(self._model_id, list(slot.resident), bytes(buffer)[:written])
