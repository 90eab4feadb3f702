"""Engine settings on a laptop CPU, measured: batch size, threads, mmap; and our engine vs raw.

All on the same ~1,000-token prompt, temperature 0:

1. Prompt evaluation speed (tokens/s) of raw llama-cpp-python for n_batch 16 … 512. The
   batch is also the granularity of prefix reuse (a thread reuses whole batches), so the
   smallest batch that keeps most of the speed is the best choice.
2. Threads: prompt and generation speed with 1 thread and with every core, and again
   while other processes keep 1 core, then every core, busy (a laptop doing other
   work), next to our engine's default, which uses the cores others leave free: the
   default must degrade gracefully, not collapse. Ours runs in a process of its own.
3. Model load time with and without mmap.
4. Our engine (``LlamaEngine``, full evaluation, the chosen batch) against raw
   llama-cpp-python at its defaults (n_batch 512): prompt tokens/s and generation tokens/s,
   and their ratios.

    .venv/bin/python benchmarks/engine_settings.py [--reps 3] [--model PATH]

Prints tables and writes benchmarks/results/engine_settings.json.
Target: generation at least 0.95 x raw llama-cpp-python.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llama_cpp
from tqdm import tqdm

from offline_assistants.config import Settings, cpu_count
from offline_assistants.engine import ChatMessage, Sampling
from offline_assistants.engine.cpu_share import ThreadAdvisor
from offline_assistants.engine.llama import DEFAULT_BATCH, LlamaEngine

RESULTS = Path(__file__).resolve().parent / "results"
BATCHES = (16, 32, 64, 128, 256, 512)
GENERATED = 64
SYSTEM = "You are a helpful assistant who explains numbers. " * 4
HISTORY = "".join(
    f"Question {i}: what is {i} squared? Answer: {i} squared is {i * i}, because {i} times {i} "
    f"is {i * i}. "
    for i in range(1, 40)
)


def llama(
    path: Path, n_batch: int, threads: int, mmap: bool = True, batch_threads: int | None = None
) -> llama_cpp.Llama:
    return llama_cpp.Llama(
        model_path=str(path),
        n_ctx=4096,
        n_batch=n_batch,
        n_ubatch=n_batch,
        n_threads=threads,
        n_threads_batch=batch_threads or threads,
        use_mmap=mmap,
        verbose=False,
    )


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    """Other work on the machine: ``processes`` processes each spinning on one core."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        time.sleep(0.5 if spinners else 0)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def contention(path: Path, prompt: list[int], cores: int, reps: int) -> list[dict[str, Any]]:
    """Prompt and generation speed for each fixed thread setting (raw llama-cpp-python) and
    for our engine's default (the count adapts to what other programs use), idle and under
    competing load, side by side."""
    settings = sorted({(t, b) for t in range(1, cores + 1) for b in (t, cores)})
    rows = []
    for load in sorted({0, 1, cores}):
        with busy(load):
            for threads, batch_threads in tqdm(settings, desc=f"threads, {load} busy"):
                llm = llama(path, DEFAULT_BATCH, threads, batch_threads=batch_threads)
                p, g = median_pair([raw_speeds(llm, prompt, 32) for _ in range(reps)])
                del llm
                rows.append(
                    {"busy": load, "threads": str(threads), "batch_threads": str(batch_threads),
                     "prompt": p, "generate": g}
                )  # fmt: skip
            p, g = ours_apart(path, prompt, cores, reps)
            rows.append(
                {
                    "busy": load,
                    "threads": "auto",
                    "batch_threads": "auto",
                    "prompt": p,
                    "generate": g,
                }
            )
    return rows


def ours_apart(path: Path, prompt: list[int], cores: int, reps: int) -> tuple[float, float]:
    """Our engine's (prompt, generated) tokens/s at its adaptive default, in a process of its
    own (this script with ``--ours-worker``), under the same load: this process decodes raw
    llama-cpp-python on its main thread, and an engine here would decode on a second
    thread, a second OpenMP team, which libgomp then slows (DEVELOPERS.md)."""
    command = [sys.executable, __file__, "--ours-worker", str(path), str(cores), str(reps)]
    done = subprocess.run(
        command, input=json.dumps(prompt), capture_output=True, text=True, check=True
    )
    p, g = json.loads(done.stdout.strip().splitlines()[-1])
    return float(p), float(g)


def ours_worker(path: str, cores: int, reps: int) -> None:
    """``--ours-worker``: the prompt's tokens on stdin, the median speeds on stdout."""
    prompt = json.loads(sys.stdin.read())
    ours = LlamaEngine(
        Path(path), n_threads=cores, n_ctx=4096, progress=False, threads=ThreadAdvisor(cores)
    )
    speeds = median_pair([engine_speeds(ours, prompt, 32) for _ in range(reps)])
    ours.close()
    print(json.dumps(speeds))


def raw_speeds(llm: llama_cpp.Llama, prompt: list[int], generate: int) -> tuple[float, float]:
    """(prompt tokens/s, generated tokens/s) of one greedy completion, from a clean context."""
    llm.reset()
    started = time.perf_counter()
    first = 0.0
    count = 0
    for _ in llm.generate(prompt, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        count += 1
        if count == 1:
            first = time.perf_counter() - started
        if count >= generate + 1:
            break
    total = time.perf_counter() - started
    return len(prompt) / first, (count - 1) / (total - first) if count > 1 else 0.0


def engine_speeds(engine: LlamaEngine, prompt: list[int], generate: int) -> tuple[float, float]:
    stream = engine.generate(prompt, max_tokens=generate + 1, sampling=Sampling(temperature=0.0))
    started = time.perf_counter()
    first = 0.0
    count = 0
    for _ in stream:
        count += 1
        if count == 1:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return len(prompt) / first, (count - 1) / (total - first) if count > 1 else 0.0


def p95(speeds: list[float]) -> float:
    """The 95th percentile of time per token, as a speed: the slow end of the samples."""
    ordered = sorted(speeds, reverse=True)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def median_pair(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def print_contention(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'busy':>5} {'threads':>8} {'batch':>6} {'prompt tok/s':>13} {'generate tok/s':>15}")
    for row in rows:
        chosen = row["threads"] == "auto"
        print(
            f"{row['busy']:>5} {row['threads']:>8} {row['batch_threads']:>6} "
            f"{row['prompt']:>13.0f} {row['generate']:>15.1f}{'  <- default' if chosen else ''}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per setting (3)")
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    parser.add_argument(
        "--only-threads", action="store_true", help="only the threads-under-load comparison"
    )
    parser.add_argument("--ours-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_worker:
        path_given, cores_given, reps_given = args.ours_worker
        ours_worker(path_given, int(cores_given), int(reps_given))
        return
    settings = Settings.from_env(default_model=args.model)
    path, cores = settings.default_model, cpu_count()
    engine = LlamaEngine(path, n_threads=cores, n_ctx=4096, progress=False)
    prompt = engine.prompt_tokens([ChatMessage("system", SYSTEM), ChatMessage("user", HISTORY)])
    report: dict[str, Any] = {"model": path.name, "prompt_tokens": len(prompt), "cores": cores}
    if args.only_threads:
        rows = contention(path, prompt, cores, args.reps)
        print_contention(rows)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "engine_threads.json").write_text(json.dumps({**report, "rows": rows}, indent=2))
        return

    batches: dict[int, float] = {}
    for n_batch in tqdm(BATCHES, desc="n_batch"):
        llm = llama(path, n_batch, cores)
        batches[n_batch] = statistics.median(
            raw_speeds(llm, prompt, 1)[0] for _ in range(args.reps)
        )
        del llm
    report["prompt_tokens_per_s_by_batch"] = batches

    threads: dict[int, tuple[float, float]] = {}
    for count in tqdm(sorted({1, cores}), desc="threads"):
        llm = llama(path, DEFAULT_BATCH, count)
        threads[count] = median_pair([raw_speeds(llm, prompt, GENERATED) for _ in range(args.reps)])
        del llm
    report["tokens_per_s_by_threads"] = {
        k: {"prompt": p, "generate": g} for k, (p, g) in threads.items()
    }
    busy_rows = contention(path, prompt, cores, args.reps)
    report["threads_under_load"] = busy_rows

    loads: dict[str, float] = {}
    for mmap in tqdm((True, False), desc="mmap"):
        times = []
        for _ in range(args.reps):
            started = time.perf_counter()
            llm = llama(path, DEFAULT_BATCH, cores, mmap=mmap)
            times.append(time.perf_counter() - started)
            del llm
        loads["mmap" if mmap else "no mmap"] = statistics.median(times)
    report["load_seconds"] = loads

    raw = llama(path, 512, cores)
    pairs_raw, pairs_ours = [], []
    for _ in tqdm(range(max(7, args.reps)), desc="ours vs raw"):  # noisy: more samples
        pairs_raw.append(raw_speeds(raw, prompt, GENERATED))
        pairs_ours.append(engine_speeds(engine, prompt, GENERATED))
    (raw_p, raw_g), (our_p, our_g) = median_pair(pairs_raw), median_pair(pairs_ours)
    slowest = {
        "raw_prompt_p95": p95([p for p, _ in pairs_raw]),
        "raw_generate_p95": p95([g for _, g in pairs_raw]),
        "ours_prompt_p95": p95([p for p, _ in pairs_ours]),
        "ours_generate_p95": p95([g for _, g in pairs_ours]),
    }
    report["ours_vs_raw"] = {
        **slowest,
        "raw_prompt_tokens_per_s": raw_p,
        "raw_generate_tokens_per_s": raw_g,
        "ours_prompt_tokens_per_s": our_p,
        "ours_generate_tokens_per_s": our_g,
        "prompt_ratio": our_p / raw_p,
        "generate_ratio": our_g / raw_g,
    }

    best = max(batches.values())
    print(
        f"\nmodel {path.name}, prompt of {len(prompt)} tokens, {cores} cores, {os.cpu_count()} CPUs"
    )
    print(f"\n{'n_batch':>8} {'prompt tok/s':>13} {'of best':>8}")
    for n_batch, speed in batches.items():
        mark = "  <- chosen" if n_batch == DEFAULT_BATCH else ""
        print(f"{n_batch:>8} {speed:>13.0f} {speed / best:>8.2f}{mark}")
    print(f"\n{'threads':>8} {'prompt tok/s':>13} {'generate tok/s':>15}")
    for count, (p, g) in threads.items():
        print(f"{count:>8} {p:>13.0f} {g:>15.1f}")
    print_contention(busy_rows)
    print(f"\nload: mmap {loads['mmap'] * 1000:.0f} ms, no mmap {loads['no mmap'] * 1000:.0f} ms")
    ours = report["ours_vs_raw"]
    print(
        f"\nours vs raw llama-cpp-python (n_batch 512): prompt {our_p:.0f} vs {raw_p:.0f} tok/s "
        f"({ours['prompt_ratio']:.2f}x), generation {our_g:.1f} vs {raw_g:.1f} tok/s "
        f"({ours['generate_ratio']:.2f}x; target >= 0.95: "
        f"{'met' if ours['generate_ratio'] >= 0.95 else 'NOT met'}); p95 (slow end): prompt "
        f"{slowest['ours_prompt_p95']:.0f} vs {slowest['raw_prompt_p95']:.0f}, generation "
        f"{slowest['ours_generate_p95']:.1f} vs {slowest['raw_generate_p95']:.1f} tok/s"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_settings.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
