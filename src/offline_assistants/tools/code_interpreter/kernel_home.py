"""A kernel's private folder in the host's temporary folder, and a killed runtime's leftovers.

Each kernel gets a 0700 folder holding its IPC sockets (``kernel.py``). It lives in
the host's temporary folder, not the data directory, because a Unix socket's path
must stay short. The folder is named after the runtime's process
(``oa-kernel-<pid>-...``); as root it is a small tmpfs of its own, so the path the
sandbox's ``/proc/self/mountinfo`` shows for its IPC folder is ``/run``, not the
host's. A runtime that is killed with -9 never runs its clean-up,
and the next runtime to start (``sessions.py``) removes the folders whose process is
gone. A live runtime's folders, and other users', are never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .budget import unmount_tmpfs

HOME_PREFIX = "oa-kernel-"


def new_kernel_home() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-"))


def remove_leftover_homes(tmpdir: str | None = None) -> list[Path]:
    """Remove the kernel folders of runtimes that are no longer running (killed with -9:
    nothing ran their clean-up); the removed paths."""
    removed: list[Path] = []
    root = Path(tmpdir or tempfile.gettempdir())
    for path in root.glob(f"{HOME_PREFIX}*-*"):
        owner = path.name.removeprefix(HOME_PREFIX).split("-", 1)[0]
        if not owner.isdigit() or not path.is_dir() or path.stat().st_uid != os.geteuid():
            continue
        try:
            os.kill(int(owner), 0)
            continue  # its runtime is alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, someone else's
        unmount_tmpfs(path)  # as root each kernel's folder is a small tmpfs
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
