"""A plain run beside a document being ingested, against the same run alone.

A 48-token run (temperature 0, a new thread each time) is timed from ``runs.create`` to
``completed``: ``--reps`` times alone, then one after another for as long as a
``--lines``-line text file is being ingested into a vector store (a run counts when the
file was still ``in_progress`` after it). Medians of each.
Two modes, in one process, each in a fresh runtime: ``background`` (ingestion at the
lowest CPU priority, as the runtime does it) and ``equal`` (the same, with
``yield_to_generation`` replaced by a no-op: what ingestion cost runs before).
``--busy N`` repeats it while N other processes spin on a core.

    .venv/bin/python benchmarks/ingestion_contention.py [--reps 5] [--lines 60000] [--busy 0 1]

Prints a table and writes benchmarks/results/ingestion_contention.json.
Target: beside ingestion, at most 1.5x the run's time alone.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))
from benchmarks.engine_settings import busy  # noqa: E402

from offline_assistants import Client  # noqa: E402
from offline_assistants.service import ingestion  # noqa: E402

RESULTS = HERE / "results"
QUESTION = "Count from 1 to 100, separated by commas."
WORDS = [
    "river",
    "stone",
    "lamp",
    "harbour",
    "winter",
    "garden",
    "letter",
    "market",
    "window",
    "bridge",
    "candle",
    "forest",
    "engine",
    "orchard",
    "meadow",
    "signal",
    "copper",
    "thread",
    "valley",
    "mirror",
    "ladder",
    "pocket",
    "silver",
    "cloud",
]


def document(lines: int) -> bytes:
    rng = random.Random(7)
    text = "\n".join(
        f"Entry {i}: " + " ".join(rng.choice(WORDS) for _ in range(12)) + "." for i in range(lines)
    )
    return text.encode()


def timed_run(client: Client, assistant_id: str) -> float:
    started = time.perf_counter()
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": QUESTION}]},
        max_completion_tokens=48,
        poll_interval_ms=20,
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    return time.perf_counter() - started


def measure(data: Path, reps: int, text: bytes) -> dict[str, Any]:
    with Client(data_dir=data) as client:
        assistant = client.beta.assistants.create(model="default", temperature=0)
        timed_run(client, assistant.id)  # loads the model
        client.runtime.embedder.embed(["warm"])  # loads the embedder
        alone = [timed_run(client, assistant.id) for _ in range(reps)]
        upload = client.files.create(file=("entries.txt", io.BytesIO(text)), purpose="assistants")
        store = client.vector_stores.create(file_ids=[upload.id])
        started = time.perf_counter()
        beside = []
        while True:  # runs one after another for as long as the file is being ingested
            took = timed_run(client, assistant.id)
            row = client.vector_stores.files.retrieve(upload.id, vector_store_id=store.id)
            if row.status != "in_progress":
                break
            beside.append(took)
        ingested = time.perf_counter() - started
        assert beside, "ingestion ended before the first run did: use more --lines"
    return {
        "alone_s": statistics.median(alone),
        "beside_s": statistics.median(beside),
        "ratio": statistics.median(beside) / statistics.median(alone),
        "runs_while_ingesting": len(beside),
        "ingestion_s": ingested,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="runs alone")
    parser.add_argument("--lines", type=int, default=60_000, help="lines of the ingested text")
    parser.add_argument("--busy", type=int, nargs="+", default=[0], help="spinning processes")
    args = parser.parse_args()
    text = document(args.lines)
    background = ingestion.yield_to_generation
    results: dict[str, Any] = {"lines": args.lines, "bytes": len(text), "modes": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for spinning in args.busy:
            for mode in ("equal", "background"):
                ingestion.yield_to_generation = background if mode == "background" else lambda: None  # type: ignore[assignment]
                with busy(spinning):
                    found = measure(Path(scratch) / f"{mode}-{spinning}", args.reps, text)
                results["modes"][f"{mode}, busy {spinning}"] = found
    ingestion.yield_to_generation = background  # type: ignore[assignment]
    print(f"a 48-token run beside ingesting {args.lines} lines ({len(text) >> 10} KiB), medians:")
    print(f"{'mode':>20} {'alone':>8} {'beside':>8} {'ratio':>6} {'overlap':>8} {'ingest':>8}")
    for mode, r in results["modes"].items():
        print(
            f"{mode:>20} {r['alone_s']:>7.2f}s {r['beside_s']:>7.2f}s {r['ratio']:>6.2f} "
            f"{r['runs_while_ingesting']:>8} {r['ingestion_s']:>7.1f}s"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingestion_contention.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
