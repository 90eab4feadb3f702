"""Offline means offline: the runtime opens no network connection and changes no environment.

The embedding model and the runtime are loaded in a fresh interpreter whose
``socket.connect`` refuses everything but the Unix-domain sockets a kernel uses,
without ``HF_HUB_OFFLINE`` set: nothing may try the network, and the process
environment must be left as it was found.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import os, socket, sys
    real_connect = socket.socket.connect
    def refuse(self, address):
        if self.family != socket.AF_UNIX:
            raise OSError(f"network connection attempted: {address!r}")
        return real_connect(self, address)
    socket.socket.connect = refuse
    socket.create_connection = lambda *a, **k: refuse(socket.socket(), a[0])
    from offline_assistants import Client
    with Client(data_dir=sys.argv[1]) as client:
        file = client.files.create(file=("a.txt", b"the quick brown fox"), purpose="assistants")
        store = client.vector_stores.create(name="s")
        row = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
        hits = client.vector_stores.search(store.id, query="fox").data
        print(row.status, len(hits), os.environ.get("HF_HUB_OFFLINE"))
    """
)


def test_no_network_and_no_environment_changes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["completed", "1", "None"], done.stdout
