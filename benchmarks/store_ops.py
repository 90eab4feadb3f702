"""Store operations through the Python API: create a message, list 100 messages, retrieve a run.

Each operation is timed ``--reps`` times on a real DuckDB file and compared with its
baseline measured in the same run: the bare DuckDB query that reads or writes the same
rows on the same connection (what validation, models and bookkeeping add on top).

    .venv/bin/python benchmarks/store_ops.py [--reps 200] [--model PATH]

Prints a table (p50, p95, ratio to the baseline) and writes benchmarks/results/store_ops.json.
Target: listing 100 messages under 10 ms p50.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from offline_assistants import Client

RESULTS = Path(__file__).resolve().parent / "results"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(action: Callable[[], Any], reps: int, label: str) -> list[float]:
    action()  # warm
    times = []
    for _ in tqdm(range(reps), desc=label, leave=False):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="repetitions per operation")
    parser.add_argument("--model", type=Path, help="GGUF file for the one run (default model)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Client(data_dir=tmp, model=args.model) as client:
        db = client.runtime.store.db
        tutor = client.beta.assistants.create(model="default", temperature=0)
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": f"message {i}"} for i in range(32)]
        )
        for i in range(68):
            client.beta.threads.messages.create(thread.id, role="user", content=f"note {i}")
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=1
        )
        scratch = client.beta.threads.create()
        body = client.beta.threads.messages.list(thread.id, limit=1).data[0].model_dump_json()
        ops: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
            "create message": (
                lambda: client.beta.threads.messages.create(
                    scratch.id, role="user", content="hello"
                ),
                lambda: db.execute(
                    "INSERT INTO messages VALUES ('bench_' || nextval('object_seq'),"
                    " nextval('object_seq'), ?, NULL, ?)",
                    [scratch.id, body],
                ),
            ),
            "list 100 messages": (
                lambda: client.beta.threads.messages.list(thread.id, limit=100),
                lambda: db.fetchall(
                    "SELECT body FROM messages WHERE thread_id = ? ORDER BY seq DESC LIMIT 101",
                    [thread.id],
                ),
            ),
            "retrieve run": (
                lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
                lambda: db.fetchone("SELECT body FROM runs WHERE id = ?", [run.id]),
            ),
        }
        assert len(client.beta.threads.messages.list(thread.id, limit=100).data) == 100
        report: dict[str, Any] = {"reps": args.reps, "ops": {}}
        for name, (api, bare) in ops.items():
            ours = timed(api, args.reps, name)
            base = timed(bare, args.reps, f"{name} (bare DuckDB)")
            report["ops"][name] = {
                "p50_ms": pct(ours, 0.5) * 1000,
                "p95_ms": pct(ours, 0.95) * 1000,
                "baseline_p50_ms": pct(base, 0.5) * 1000,
                "baseline_p95_ms": pct(base, 0.95) * 1000,
                "ratio_p50": pct(ours, 0.5) / pct(base, 0.5),
            }
    print(f"\n{'operation':18} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio':>7}")
    for name, row in report["ops"].items():
        print(
            f"{name:18} {row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} "
            f"{row['baseline_p50_ms']:>9.2f} {row['ratio_p50']:>7.1f}"
        )
    listed = report["ops"]["list 100 messages"]["p50_ms"]
    print(
        f"\ntarget: list 100 messages p50 {listed:.2f} ms < 10 ms: "
        f"{'met' if listed < 10 else 'NOT met'}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_ops.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
