"""One ``llama_decode`` call's tokens: which token, at which position, of which sequence.

A thin wrapper over llama.cpp's ``llama_batch`` for :mod:`.batcher`; the library
(``llama_cpp``) is handed in, so :mod:`.llama` stays its only importer. Each row
belongs to one sequence; a row asked for ``logits`` can be sampled from after the
decode by its row index.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..errors import InternalError


class DecodeBatch:
    def __init__(self, lib: ModuleType, capacity: int) -> None:
        self._lib = lib
        self.capacity = capacity
        self.outputs = 0  # rows that ask for logits
        self._batch = lib.llama_batch_init(capacity, 0, 1)

    @property
    def size(self) -> int:
        return int(self._batch.n_tokens)

    def clear(self) -> None:
        self._batch.n_tokens = 0
        self.outputs = 0

    def add(self, token: int, position: int, seq: int, logits: bool) -> int:
        """Append one token of sequence ``seq`` at ``position``; its row index."""
        batch = self._batch
        row = int(batch.n_tokens)
        if row >= self.capacity:
            raise InternalError(f"decode batch over its capacity of {self.capacity} tokens")
        batch.token[row] = token
        batch.pos[row] = position
        batch.n_seq_id[row] = 1
        batch.seq_id[row][0] = seq
        batch.logits[row] = logits
        batch.n_tokens = row + 1
        self.outputs += logits
        return row

    def decode(self, ctx: Any) -> None:
        """Evaluate the rows in ``ctx`` (a llama_context pointer)."""
        status = self._lib.llama_decode(ctx, self._batch)
        if status != 0:
            why = "no room left in the KV cache" if status == 1 else f"status {status}"
            raise InternalError(f"llama_decode failed: {why}")

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
