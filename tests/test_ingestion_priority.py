"""Ingestion yields the cores to generation: its threads run at the lowest CPU priority.

While a large text file is ingested, the process's threads are read from
``/proc/self/task``: the ingestion worker and the torch threads it started are at
nice 19; the thread that asked (and the model's) stay at 0. The speed this buys is
measured in benchmarks/ingestion_contention.py, not asserted here.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.service.ingestion import BACKGROUND_NICE
from offline_assistants.tools.file_search.embeddings import EMBEDDING_THREADS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, setpriority")


def niceness() -> dict[int, int]:
    """Each thread of this process: its nice value (field 19 of its stat line)."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        found[int(task.name)] = int(fields[16])
    return found


def test_ingestion_threads_run_below_generation(client: Any) -> None:
    if not isinstance(client, Client):
        pytest.skip("the Python face: the runtime's threads are in this process")
    before = niceness()
    text = "\n".join(f"Entry {i}: a lamp, a river and a silver bridge." for i in range(4_000))
    upload = client.files.create(
        file=("entries.txt", io.BytesIO(text.encode())), purpose="assistants"
    )
    store = client.vector_stores.create(file_ids=[upload.id])
    lowered: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # new threads: the worker and what it starts (threads it started for earlier
        # files, a tokenizer's pool say, keep its priority and may be there already)
        lowered |= {
            t for t, nice in niceness().items() if nice == BACKGROUND_NICE and t not in before
        }
        row = client.vector_stores.files.retrieve(upload.id, vector_store_id=store.id)
        if lowered or row.status != "in_progress":
            break
        time.sleep(0.02)
    client.runtime.ingestion.wait_idle(600)
    row = client.vector_stores.files.retrieve(upload.id, vector_store_id=store.id)
    assert row.status == "completed", row.last_error
    assert lowered
    assert niceness()[threading.get_native_id()] == 0  # the caller keeps its priority
    assistant = client.beta.assistants.create(model="default", temperature=0)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Hi!"}]},
        max_completion_tokens=4,
    )
    assert run.status in ("completed", "incomplete")
    normal = [tid for tid, nice in before.items() if nice == 0]
    assert all(niceness().get(tid, 0) == 0 for tid in normal)  # the model's threads too


def test_embeddings_use_one_torch_thread(client: Any) -> None:
    """A second OpenMP thread team (torch's) makes libgomp throttle llama.cpp's for good:
    generation ~3x slower (benchmarks/ingestion_contention.py). The embedder keeps one."""
    import torch

    if not isinstance(client, Client):
        pytest.skip("the Python face: the embedder is in this process")
    client.runtime.embedder.embed(["a lamp by the river"])
    assert torch.get_num_threads() == EMBEDDING_THREADS == 1
