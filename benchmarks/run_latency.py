"""Run overhead: a full run (create → completed, message stored) against raw llama-cpp-python.

For the same prompt and model, alternately time
  raw:  llama_cpp.Llama.create_chat_completion (temperature 0, same max_tokens), and
  run:  client.beta.threads.runs.create on a fresh thread, waited on (runs.poll) until
        completed, by which time the reply message is stored (checked after timing),
and report medians, the overhead ratio run/raw, and per-run bookkeeping: the run's
wall time less the time spent inside the engine (prompt rendering and generation).
Both sides evaluate the whole prompt every time (the raw Llama's prefix cache is
reset before each call), so the comparison is like for like. The raw side runs in a
process of its own, answering over a pipe: llama.cpp's OpenMP team for each thread
that decodes outlives the call, and two teams in one process (the raw caller's and the
model thread's) make libgomp put both to sleep at every wait, slowing both sides.

    .venv/bin/python benchmarks/run_latency.py [--reps 7] [--model PATH]

Prints a table and writes benchmarks/results/run_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import llama_cpp
from tqdm import tqdm

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, FunctionSpec, Grammar, Sampling, TokenStream
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.tool_format import HermesFormat

RESULTS = Path(__file__).resolve().parent / "results"
CASES = {
    "tutor": (
        "You are a personal math tutor. Answer questions briefly, in a sentence or less.",
        "I need to solve the equation `3x + 11 = 14`. Can you help me?",
        64,
    ),
    "long": ("You are a helpful assistant.", "Count from 1 to 1000, separated by commas.", 128),
}


class TimedEngine:
    """Delegates to the real engine and adds up the time spent inside it."""

    def __init__(self, inner: LlamaEngine) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def model_path(self) -> str:
        return self.inner.model_path

    @property
    def context_length(self) -> int:
        return self.inner.context_length

    @property
    def tool_format(self) -> HermesFormat:
        return self.inner.tool_format

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the rest of the Engine protocol, untimed

    def prompt_tokens(
        self,
        messages: Sequence[ChatMessage],
        functions: Sequence[FunctionSpec] = (),
        effort: str | None = None,
    ) -> list[int]:
        started = time.perf_counter()
        try:
            return self.inner.prompt_tokens(messages, functions, effort)
        finally:
            self.seconds += time.perf_counter() - started

    def generate(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        sampling: Sampling,
        grammar: Grammar | None = None,
        cache_key: str | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> TokenStream:
        stream = self.inner.generate(
            prompt,
            max_tokens=max_tokens,
            sampling=sampling,
            grammar=grammar,
            cache_key=cache_key,
            stop=stop,
        )
        inner_pieces = stream.pieces

        def timed() -> Iterator[str]:
            while True:
                started = time.perf_counter()
                try:
                    piece = next(inner_pieces)
                except StopIteration:
                    self.seconds += time.perf_counter() - started
                    return
                self.seconds += time.perf_counter() - started
                yield piece

        stream.pieces = timed()
        return stream


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_raw(llm: llama_cpp.Llama, system: str, user: str, max_tokens: int) -> tuple[float, int]:
    llm.reset()
    started = time.perf_counter()
    out: Any = llm.create_chat_completion(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        temperature=0.0,
        top_p=1.0,
        top_k=0,
        min_p=0.0,
        repeat_penalty=1.0,
        max_tokens=max_tokens,
    )
    return time.perf_counter() - started, int(out["usage"]["completion_tokens"])


class RawWorker:
    """Raw llama-cpp-python in a process of its own (this script with ``--raw-worker``):
    each request a line of JSON in, its time and token count a line out."""

    def __init__(self, model: Path, n_ctx: int, threads: int) -> None:
        command = [sys.executable, __file__, "--raw-worker", str(model), str(n_ctx), str(threads)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def time(self, system: str, user: str, max_tokens: int) -> tuple[float, int]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps([system, user, max_tokens]) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline())
        return float(answer[0]), int(answer[1])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(30)


def raw_worker(model: str, n_ctx: int, threads: int) -> None:
    llm = llama_cpp.Llama(
        model_path=model,
        n_ctx=n_ctx,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    for line in sys.stdin:
        system, user, max_tokens = json.loads(line)
        print(json.dumps(time_raw(llm, system, user, max_tokens)), flush=True)


def time_run(
    client: Client, engine: TimedEngine, assistant_id: str, user: str, max_tokens: int
) -> tuple[float, float, int]:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": user}])
    engine.seconds = 0.0
    started = time.perf_counter()
    run = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant_id, max_completion_tokens=max_tokens
    )
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    wall = time.perf_counter() - started
    assert run.status in ("completed", "incomplete"), run.last_error
    reply = client.beta.threads.messages.list(thread_id=thread.id, limit=1).data[0]
    assert reply.run_id == run.id and reply.status == run.status  # the message is stored
    assert run.usage is not None
    return wall, wall - engine.seconds, run.usage.completion_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description="Run overhead against raw llama-cpp-python.")
    parser.add_argument("--reps", type=int, default=7, help="repetitions per case (7)")
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    parser.add_argument("--raw-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_worker:
        model, context, threads = args.raw_worker
        raw_worker(model, int(context), int(threads))
        return
    settings = Settings.from_env(default_model=args.model)
    n_ctx = 4096
    raw = RawWorker(settings.default_model, n_ctx, settings.n_threads)
    engine = TimedEngine(
        LlamaEngine(settings.default_model, n_threads=settings.n_threads, n_ctx=n_ctx)
    )
    report: dict[str, Any] = {
        "model": settings.default_model.name,
        "n_threads": settings.n_threads,
        "reps": args.reps,
        "cases": {},
    }
    with (
        tempfile.TemporaryDirectory() as data_dir,
        Client(
            data_dir=data_dir, model=settings.default_model, engine_factory=lambda path: engine
        ) as client,
    ):
        for name, (system, user, max_tokens) in CASES.items():
            assistant = client.beta.assistants.create(
                model="default", instructions=system, temperature=0
            )
            # Warm both paths once (page cache, first-call allocations).
            raw.time(system, user, max_tokens)
            time_run(client, engine, assistant.id, user, max_tokens)
            raws, runs, books, tokens = [], [], [], set()
            for _ in tqdm(range(args.reps), desc=name, leave=False):
                seconds, raw_tokens = raw.time(system, user, max_tokens)
                wall, bookkeeping, run_tokens = time_run(
                    client, engine, assistant.id, user, max_tokens
                )
                raws.append(seconds)
                runs.append(wall)
                books.append(bookkeeping)
                tokens.add((raw_tokens, run_tokens))
            raw_median, run_median = statistics.median(raws), statistics.median(runs)
            report["cases"][name] = {
                "raw_p95_s": p95(raws),
                "run_p95_s": p95(runs),
                "completion_tokens (raw, run)": sorted(tokens),
                "raw_median_s": raw_median,
                "run_median_s": run_median,
                "ratio_run_over_raw": run_median / raw_median,
                "bookkeeping_median_ms": statistics.median(books) * 1000,
                "bookkeeping_max_ms": max(books) * 1000,
            }
    raw.close()
    print(f"model {report['model']}, {report['n_threads']} threads, {args.reps} reps each\n")
    print(
        f"{'case':8} {'tokens raw/run':>15} {'raw p50/p95 s':>14} {'run p50/p95 s':>14} "
        f"{'run/raw':>8} {'bookkeeping p50 ms':>19} {'max ms':>7}"
    )
    for name, row in report["cases"].items():
        toks = ",".join(f"{a}/{b}" for a, b in row["completion_tokens (raw, run)"])
        print(
            f"{name:8} {toks:>15} {row['raw_median_s']:>7.3f}/{row['raw_p95_s']:.3f} "
            f"{row['run_median_s']:>7.3f}/{row['run_p95_s']:.3f} "
            f"{row['ratio_run_over_raw']:>8.3f} {row['bookkeeping_median_ms']:>19.2f} "
            f"{row['bookkeeping_max_ms']:>7.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "run_latency.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {RESULTS / 'run_latency.json'}")


if __name__ == "__main__":
    main()
