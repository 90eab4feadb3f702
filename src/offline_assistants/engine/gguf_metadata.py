"""A GGUF file's header metadata, read without llama.cpp and without reading the weights.

``offline-assistants models list`` (:mod:`.model_catalog`) describes every model file it
finds with this: the family (``general.architecture``), the trained context, the chat
template. Only the header (key-value pairs and the tensor directory) is read; arrays (the tokenizer's vocabulary) are
skipped over, so a multi-gigabyte file costs milliseconds. A file that is not GGUF or
ends inside its header raises :class:`GGUFError` saying which.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Any

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
# a header bigger than this is not one we will read (real ones are a few megabytes)
MAX_STRING = 64 << 20


class GGUFError(ValueError):
    """The file is not a GGUF file we can read; the message says why."""


def read_metadata(path: Path) -> dict[str, Any]:
    """The header's key-value pairs; arrays come back as their length (``int``).

    The tensor directory is read too: a file whose last tensor would start past its end
    is refused as truncated."""
    with path.open("rb") as handle:
        if handle.read(4) != MAGIC:
            raise GGUFError("not a GGUF file (it does not start with the GGUF magic bytes)")
        version = _read(handle, "<I")
        if version not in (2, 3):
            raise GGUFError(f"GGUF version {version} is not supported (2 and 3 are)")
        tensors = _read(handle, "<Q")
        count = _read(handle, "<Q")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = _string(handle)
            metadata[key] = _value(handle, _read(handle, "<I"))
        last = 0
        for _ in range(tensors):  # name, dimensions, type, offset into the data section
            _string(handle)
            handle.seek(8 * _read(handle, "<I") + 4, 1)
            last = max(last, _read(handle, "<Q"))
        alignment = int(metadata.get("general.alignment") or 32)
        data_start = -(-handle.tell() // alignment) * alignment
        if data_start + last >= path.stat().st_size and tensors:
            raise GGUFError(
                "the file ends before its last tensor (truncated: an unfinished download?)"
            )
        return metadata


def _read(handle: IO[bytes], fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise GGUFError("the file ends inside its header (truncated: an unfinished download?)")
    return struct.unpack(fmt, data)[0]


def _string(handle: IO[bytes]) -> str:
    length = _read(handle, "<Q")
    if length > MAX_STRING:
        raise GGUFError(f"a header string of {length} bytes: the file is damaged")
    data = handle.read(length)
    if len(data) != length:
        raise GGUFError("the file ends inside its header (truncated: an unfinished download?)")
    return data.decode("utf-8", errors="replace")


def _value(handle: IO[bytes], kind: int) -> Any:
    if kind in _SCALARS:
        return _read(handle, _SCALARS[kind])
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        item, length = _read(handle, "<I"), _read(handle, "<Q")
        if item in _SCALARS:
            handle.seek(struct.calcsize(_SCALARS[item]) * length, 1)
        elif item == _STRING:
            for _ in range(length):
                handle.seek(_read(handle, "<Q"), 1)
        else:
            for _ in range(length):
                _value(handle, item)
        return length
    raise GGUFError(f"unknown metadata value type {kind}: the file is damaged")
