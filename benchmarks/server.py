"""The HTTP server against the in-process API: time to first token, and a burst of clients.

1. TTFT: for the same prompt, alternately stream a run through the Python API and
   through the official ``openai`` client over HTTP (SSE) to a server on 127.0.0.1,
   timing create → first ``thread.message.delta``. Both use the same runtime and
   model, so the ratio is the cost of HTTP + SSE.
2. Burst: 20 clients at once, each with its own ``openai`` client, create a thread
   and a run and poll until it finishes. Runs execute one at a time on the single
   model, so latency grows with queue position; all must complete, none lost.

    .venv/bin/python benchmarks/server.py [--reps 9] [--clients 20]

Prints a table and writes benchmarks/results/server.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
from tqdm import tqdm

from offline_assistants import Client
from offline_assistants.server import create_app
from offline_assistants.server.background import BackgroundServer

warnings.filterwarnings("ignore", category=DeprecationWarning)
RESULTS = Path(__file__).resolve().parent / "results"
PROMPT = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
INSTRUCTIONS = "You are a personal math tutor. Answer questions briefly, in a sentence or less."


def ttft(beta: Any, assistant_id: str) -> float:
    thread = beta.threads.create(messages=[{"role": "user", "content": PROMPT}])
    started = time.perf_counter()
    stream = beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant_id, stream=True, max_completion_tokens=24
    )
    first = None
    for event in stream:
        if first is None and event.event == "thread.message.delta":
            first = time.perf_counter() - started
    stream.close()
    assert first is not None, "no text streamed"
    return first


def one_client(base_url: str, assistant_id: str) -> tuple[float, str]:
    sdk = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0, timeout=600)
    started = time.perf_counter()
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": PROMPT}])
    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, max_completion_tokens=16
    )
    return time.perf_counter() - started, run.status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP server TTFT and burst benchmark.")
    parser.add_argument("--reps", type=int, default=9, help="TTFT repetitions per face (9)")
    parser.add_argument(
        "--clients", type=int, default=20, help="concurrent clients in the burst (20)"
    )
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as data_dir, Client(data_dir=data_dir) as client:
        assistant = client.beta.assistants.create(
            model="default", instructions=INSTRUCTIONS, temperature=0
        )
        app = create_app(client.runtime, close_runtime=False)
        with BackgroundServer(app) as server:
            sdk = openai.OpenAI(base_url=server.base_url, api_key="local", max_retries=0)
            ttft(client.beta, assistant.id)  # warm-up: model load, first allocations
            ttft(sdk.beta, assistant.id)
            local, http = [], []
            for _ in tqdm(range(args.reps), desc="ttft", leave=False):
                local.append(ttft(client.beta, assistant.id))
                http.append(ttft(sdk.beta, assistant.id))
            report["ttft"] = {
                "reps": args.reps,
                "in_process_p50_ms": statistics.median(local) * 1000,
                "http_p50_ms": statistics.median(http) * 1000,
                "http_over_in_process": statistics.median(http) / statistics.median(local),
            }
            before = client.runtime.store.db.fetchone("SELECT count(*) FROM runs")
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                results = list(
                    pool.map(
                        lambda _: one_client(server.base_url, assistant.id), range(args.clients)
                    )
                )
            wall = time.perf_counter() - started
            latencies = [seconds for seconds, _ in results]
            statuses = [status for _, status in results]
            stored = client.runtime.store.db.fetchone("SELECT count(*) FROM runs")
            report["burst"] = {
                "clients": args.clients,
                "completed": sum(s in ("completed", "incomplete") for s in statuses),
                "statuses": sorted(set(statuses)),
                "runs_stored": int(stored[0]) - int(before[0]) if stored and before else 0,
                "wall_s": wall,
                "p50_s": percentile(latencies, 0.5),
                "p95_s": percentile(latencies, 0.95),
            }
    t, b = report["ttft"], report["burst"]
    print(f"TTFT over {t['reps']} reps each (create → first text delta, same prompt and model)")
    print(f"  in-process p50 {t['in_process_p50_ms']:8.1f} ms")
    print(f"  HTTP+SSE   p50 {t['http_p50_ms']:8.1f} ms   ratio {t['http_over_in_process']:.3f}")
    print(f"\nBurst: {b['clients']} clients at once, each a thread + a run, polled to the end")
    print(
        f"  finished {b['completed']}/{b['clients']} ({', '.join(b['statuses'])}), runs stored {b['runs_stored']}"
    )
    print(f"  latency p50 {b['p50_s']:.2f} s   p95 {b['p95_s']:.2f} s   wall {b['wall_s']:.2f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "server.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {RESULTS / 'server.json'}")


if __name__ == "__main__":
    main()
