"""Saved prefix states: what a thread's last run evaluated, kept for its next run.

A ``Snapshot`` is llama.cpp's state of one sequence (the KV cache of the
prompt's first ``len(tokens)`` tokens) plus those tokens and the identity of
the model file that made it. ``PrefixCache`` keeps snapshots by key (a
thread id) in memory, least recently used first out, within ``budget_bytes``;
what does not fit is spilled to files under ``directory`` (capped at
``disk_budget_bytes``, oldest files deleted first) and read back when its
thread runs again, also after a restart. A snapshot from another model is
never returned. Whether a snapshot still fits the thread (edited messages,
deleted ones, moved truncation) is not this module's business: the engine
compares its tokens with the new prompt and uses only the common prefix.

Snapshots are also found by content (:meth:`PrefixCache.longest`): each one is
indexed by a digest of its model and every prefix of its tokens that ends on a
cut (``Snapshot.ends``, where its prompt's chunks end), so a prompt that starts
like a kept state, another thread's, finds the longest one in a walk over its
own cuts: a prefix tree over the kept states, stored flat as one digest per
node. The index covers the states in memory and those spilled to disk by this
process; a state leaves it when it leaves the cache (taken, replaced, deleted
with its thread, or trimmed off the disk).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings

MAGIC = b"OAKV1\n"


@dataclass(frozen=True)
class Snapshot:
    model: str
    tokens: list[int]
    state: bytes | bytearray  # llama.cpp's sequence state, as written (not changed after)
    # where the chunks of ``tokens`` end (ascending, the last is len(tokens)): the prefixes
    # another prompt can share whole; none, and the snapshot is found by its key only
    ends: tuple[int, ...] = ()
    # the logits after the last token, where ``tokens`` are a whole prompt as evaluated
    # (float32 bytes): the very same prompt again needs no evaluation at all
    logits: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.state) + 4 * len(self.tokens) + len(self.logits or b"")


@dataclass
class CacheStats:
    stored: int = 0
    restored_from_memory: int = 0
    restored_from_disk: int = 0
    spilled: int = 0
    misses: int = 0
    foreign: int = 0  # snapshots dropped because another model made them
    shared: int = 0  # snapshots lent by content to another key's prompt (longest)


@dataclass
class PrefixCache:
    directory: Path
    budget_bytes: int = 1 << 30
    disk_budget_bytes: int = 8 << 30
    stats: CacheStats = field(default_factory=CacheStats)

    @classmethod
    def for_settings(cls, settings: Settings) -> PrefixCache | None:
        """The cache ``settings`` ask for: None when prefix reuse is off."""
        if not settings.kv_reuse:
            return None
        return cls(settings.kv_cache_dir, settings.kv_cache_bytes)

    def __post_init__(self) -> None:
        self._memory: OrderedDict[str, Snapshot] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        # the content index: digest of a prefix -> the keys whose snapshot starts with it,
        # and each indexed key's digests (to take them out again)
        self._index: dict[bytes, set[str]] = {}
        self._digests: dict[str, list[bytes]] = {}
        self._wholes: dict[str, int] = {}  # keys kept with logits -> their token count

    def put(self, key: str, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as ``key``'s (replacing an older one), spilling the least
        recently used snapshots to disk while memory is over budget."""
        with self._lock:
            self._drop(key)
            self._memory[key] = snapshot
            self._used += snapshot.size
            self.stats.stored += 1
            digests = [d for _, d in prefix_digests(snapshot.model, snapshot.tokens, snapshot.ends)]
            self._digests[key] = digests
            if snapshot.logits is not None:
                self._wholes[key] = len(snapshot.tokens)
            for digest in digests:
                self._index.setdefault(digest, set()).add(key)
            while self._used > self.budget_bytes and self._memory:
                old_key, old = self._memory.popitem(last=False)
                self._used -= old.size
                self._write(old_key, old)
                self.stats.spilled += 1

    def longest(
        self, model: str, prompt: list[int], ends: list[int]
    ) -> tuple[int, Snapshot] | None:
        """The kept snapshot (any key's, ``model``'s) that covers the most of ``prompt``
        and how many of its leading tokens it covers: one of ``ends``, the positions where
        ``prompt``'s chunks end (ascending). An end at ``len(prompt)`` counts only for a
        snapshot of that very prompt with its logits. The snapshot stays in the cache (it
        is lent, counted as used now); None when no kept state starts like ``prompt``."""
        with self._lock:
            walked: list[tuple[int, set[str]]] = []
            for end, digest in prefix_digests(model, prompt, ends):
                holders = self._index.get(digest)
                if not holders:
                    break  # a state holding a longer prefix holds this one too
                walked.append((end, holders))
            for best, keys in reversed(walked):
                whole = best == len(prompt)
                if whole:  # only a state of that very prompt with its logits, none read to see
                    keys = {k for k in keys if self._wholes.get(k) == len(prompt)}
                # the most recently used first, those on disk last
                order = [k for k in reversed(self._memory) if k in keys]
                for key in [*order, *sorted(keys - set(order))]:
                    snapshot = self._lend(key)
                    if (
                        snapshot is not None
                        and snapshot.model == model
                        and snapshot.tokens[:best] == prompt[:best]
                        and (not whole or (snapshot.logits and snapshot.tokens == prompt))
                    ):
                        self.stats.shared += 1
                        return best, snapshot
            return None

    def _lend(self, key: str) -> Snapshot | None:
        snapshot = self._memory.get(key)
        if snapshot is not None:
            self._memory.move_to_end(key)
            return snapshot
        return self._read(key, keep=True)

    def take(self, key: str, model: str) -> Snapshot | None:
        """``key``'s snapshot made by ``model``, removed from the cache (the caller now holds
        it); None when there is none."""
        with self._lock:
            self._unindex(key)
            snapshot = self._memory.pop(key, None)
            if snapshot is not None:
                self._used -= snapshot.size
                self.stats.restored_from_memory += 1
            else:
                snapshot = self._read(key)
                if snapshot is not None:
                    self.stats.restored_from_disk += 1
            if snapshot is not None and snapshot.model != model:
                self.stats.foreign += 1
                snapshot = None
            if snapshot is None:
                self.stats.misses += 1
            return snapshot

    def forget(self, key: str) -> None:
        """Drop whatever is kept for ``key`` (its thread was deleted)."""
        with self._lock:
            self._drop(key)

    def _unindex(self, key: str) -> None:
        self._wholes.pop(key, None)
        for digest in self._digests.pop(key, ()):
            holders = self._index.get(digest)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._index[digest]

    def _drop(self, key: str) -> None:
        self._unindex(key)
        old = self._memory.pop(key, None)
        if old is not None:
            self._used -= old.size
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".kv")

    def _write(self, key: str, snapshot: Snapshot) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {
                "key": key,
                "model": snapshot.model,
                "n": len(snapshot.tokens),
                "ends": list(snapshot.ends),
                "logits": len(snapshot.logits or b""),
            }
        )
        target = self._path(key)
        temp = target.with_suffix(".partial")
        with open(temp, "wb") as out:
            out.write(MAGIC + header.encode() + b"\n")
            out.write(array("i", snapshot.tokens).tobytes())
            out.write(snapshot.logits or b"")
            out.write(snapshot.state)
        temp.replace(target)
        self._trim_disk()

    def _read(self, key: str, keep: bool = False) -> Snapshot | None:
        """``key``'s snapshot from disk, the file deleted unless ``keep``."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if not keep:
            path.unlink(missing_ok=True)
        try:
            if not data.startswith(MAGIC):
                return None
            end = data.index(b"\n", len(MAGIC))
            header = json.loads(data[len(MAGIC) : end])
            if header["key"] != key:
                return None
            start = end + 1
            tokens = array("i")
            tokens.frombytes(data[start : start + 4 * int(header["n"])])
            start += 4 * int(header["n"])
            logits = data[start : start + int(header.get("logits", 0))] or None
            state = data[start + int(header.get("logits", 0)) :]
            ends = tuple(int(end) for end in header.get("ends", ()))
            return Snapshot(str(header["model"]), tokens.tolist(), state, ends, logits)
        except (ValueError, KeyError):
            return None  # a damaged file: full evaluation instead

    def _trim_disk(self) -> None:
        files = sorted(self.directory.glob("*.kv"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        trimmed = set()
        for path in files:
            if total <= self.disk_budget_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
            trimmed.add(path.name)
        for key in [k for k in self._digests if k not in self._memory]:
            if self._path(key).name in trimmed:
                self._unindex(key)


def prefix_digests(
    model: str, tokens: list[int], ends: Iterable[int]
) -> Iterator[tuple[int, bytes]]:
    """Each of ``ends`` (ascending, at most ``len(tokens)``) with the digest of ``model``
    and ``tokens`` up to it: the content index's key for that prefix."""
    digest = hashlib.sha256(model.encode())
    start = 0
    for end in ends:
        if end > len(tokens):
            break
        digest.update(array("i", tokens[start:end]).tobytes())
        start = end
        yield end, digest.copy().digest()


def model_identity(path: Path) -> str:
    """Names a model file's exact contents cheaply: path, size and modification time."""
    stat = os.stat(path)
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
