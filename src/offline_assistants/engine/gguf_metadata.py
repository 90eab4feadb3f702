"""A GGUF file's header metadata, read without llama.cpp and without reading the weights.

``offline-assistants models list`` (:mod:`.model_catalog`) describes every model file it
finds with this: the family (``general.architecture``), the trained context, the chat
template. Only the header (key-value pairs and the tensor directory) is read; arrays (the tokenizer's vocabulary) are
skipped over, so a multi-gigabyte file costs milliseconds. A file that is not GGUF or
ends inside its header raises :class:`GGUFError` saying which.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
# value type -> struct format of a scalar (GGUF v2/v3)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_LENGTH = struct.Struct("<Q")
_CUT = "the file ends inside its header (truncated: an unfinished download?)"
# a header bigger than this is not one we will read (real ones are a few megabytes)
MAX_STRING = 64 << 20


class GGUFError(ValueError):
    """The file is not a GGUF file we can read; the message says why."""


def read_metadata(path: Path) -> dict[str, Any]:
    """The header's key-value pairs; arrays come back as their length (``int``).

    The tensor directory is read too: a file whose last tensor would start past its end
    is refused as truncated. The header is read through a memory map (the default model's
    49,152-string vocabulary is skipped in ~7 ms, not ~19 ms of reads and seeks): this runs on a
    cold start's path to the first answer (the memory budget asks the model's size)."""
    with path.open("rb") as handle:
        if handle.read(4) != MAGIC:
            raise GGUFError("not a GGUF file (it does not start with the GGUF magic bytes)")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _Header(mapped).read()


class _Header:
    """A cursor over the mapped file, from just after the magic bytes."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 4

    def read(self) -> dict[str, Any]:
        version = self.scalar("<I")
        if version not in (2, 3):
            raise GGUFError(f"GGUF version {version} is not supported (2 and 3 are)")
        tensors = self.scalar("<Q")
        count = self.scalar("<Q")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = self.string()
            metadata[key] = self.value(self.scalar("<I"))
        last = 0
        for _ in range(tensors):  # name, dimensions, type, offset into the data section
            self.skip(self.scalar("<Q"))
            self.skip(8 * self.scalar("<I") + 4)
            last = max(last, self.scalar("<Q"))
        alignment = int(metadata.get("general.alignment") or 32)
        data_start = -(-self.at // alignment) * alignment
        if data_start + last >= len(self.data) and tensors:
            raise GGUFError(
                "the file ends before its last tensor (truncated: an unfinished download?)"
            )
        return metadata

    def skip(self, size: int) -> None:
        self.at += size
        if self.at > len(self.data):
            raise GGUFError(_CUT)

    def scalar(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise GGUFError(_CUT)
        value = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += size
        return value

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > MAX_STRING:
            raise GGUFError(f"a header string of {length} bytes: the file is damaged")
        start = self.at
        self.skip(length)
        return self.data[start : self.at].decode("utf-8", errors="replace")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, length = self.scalar("<I"), self.scalar("<Q")
            if item in _SCALARS:
                self.skip(struct.calcsize(_SCALARS[item]) * length)
            elif item == _STRING:
                unpack, data, at = _LENGTH.unpack_from, self.data, self.at
                try:  # each string's length, then past it (no bounds check per string)
                    for _ in range(length):
                        at += 8 + unpack(data, at)[0]
                except struct.error:  # a length read past the end of the file
                    raise GGUFError(_CUT) from None
                self.skip(at - self.at)
            else:
                for _ in range(length):
                    self.value(item)
            return length
        raise GGUFError(f"unknown metadata value type {kind}: the file is damaged")
