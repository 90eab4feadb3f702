"""Moving files across the sandbox boundary without trusting what the sandbox left there.

The work directory (``/mnt/data`` inside) is writable by model code, so
everything in it is hostile: a name may be a symlink to ``/etc/shadow``, a
FIFO that blocks a reader forever, a directory swapped in between two calls.
Every access here goes through directory file descriptors with
``O_NOFOLLOW`` (never a path walked twice), reads only regular files (checked
with ``fstat`` on the opened descriptor), caps sizes and counts, and writes
into the directory by creating a fresh temporary name and renaming it over
whatever was there (so a planted symlink is replaced, never followed).
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from .execution import CollectedFile

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@-]")


@dataclass(frozen=True)
class CollectLimits:
    max_files: int = 20
    max_file_bytes: int = 50 << 20
    max_depth: int = 3


Snapshot = dict[str, tuple[int, int, int]]  # relative name → (inode, size, mtime_ns)


def safe_name(name: str) -> str:
    """A file name fit to show and to store as a label: one component, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .") or "file"
    return cleaned[:200]


def snapshot(workdir: Path, limits: CollectLimits) -> Snapshot:
    """The regular files under ``workdir`` (not following links), with what identifies a version."""
    found: Snapshot = {}
    try:
        fd = os.open(workdir, _DIR_FLAGS)
    except OSError:
        return found
    try:
        _walk(fd, "", limits.max_depth, found, limit=1000)
    finally:
        os.close(fd)
    return found


def _walk(dir_fd: int, prefix: str, depth: int, found: Snapshot, limit: int) -> None:
    try:
        entries = os.listdir(dir_fd)
    except OSError:
        return
    for entry in sorted(entries):
        if len(found) >= limit:
            return
        try:
            info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            found[prefix + entry] = (info.st_ino, info.st_size, info.st_mtime_ns)
        elif stat.S_ISDIR(info.st_mode) and depth > 1:
            try:
                child = os.open(entry, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                _walk(child, f"{prefix}{entry}/", depth - 1, found, limit)
            finally:
                os.close(child)


def changed_files(
    workdir: Path, before: Snapshot, limits: CollectLimits
) -> tuple[list[CollectedFile], list[str]]:
    """Files that are new or modified since ``before``; and notes on what was skipped."""
    after = snapshot(workdir, limits)
    names = [name for name, key in after.items() if before.get(name) != key]
    files: list[CollectedFile] = []
    skipped: list[str] = []
    for name in names:
        if len(files) >= limits.max_files:
            skipped.append(f"{name}: more than {limits.max_files} files")
            continue
        data = read_regular(workdir, name, limits.max_file_bytes)
        if isinstance(data, str):
            skipped.append(f"{name}: {data}")
        else:
            files.append(CollectedFile(name, data))
    return files, skipped


def read_regular(workdir: Path, name: str, max_bytes: int) -> bytes | str:
    """The bytes of regular file ``name`` under ``workdir``, or why it was not read."""
    parts = name.split("/")
    fds = [os.open(workdir, _DIR_FLAGS)]
    try:
        for part in parts[:-1]:
            fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
        fd = os.open(
            parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fds[-1]
        )
    except OSError as exc:
        for opened in fds:
            os.close(opened)
        return f"not readable ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > max_bytes:
            return f"larger than {max_bytes} bytes"
        chunks = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > max_bytes:
                return f"larger than {max_bytes} bytes"
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
        for opened in fds:
            os.close(opened)


def place_file(workdir: Path, name: str, data: bytes, owner: int | None) -> str:
    """Write ``data`` as ``/mnt/data/<safe name>``, replacing (never following) what is there."""
    target = safe_name(name)
    dir_fd = os.open(workdir, _DIR_FLAGS)
    try:
        temp = f".incoming-{secrets.token_hex(8)}"
        fd = os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
            dir_fd=dir_fd,
        )  # fmt: skip
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if owner is not None:
                os.fchown(fd, owner, owner)
        finally:
            os.close(fd)
        os.rename(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    return target
