"""Many runs at once: eight threads' runs submitted together against one after another.

    .venv/bin/python benchmarks/parallel_runs.py [--model PATH] [--runs 8] [--tokens 64]
        [--parallel 1 2 4 8] [--busy 0 1]

For each batch size (``OFFLINE_ASSISTANTS_PARALLEL``) a fresh runtime (real model,
real store) first answers the runs one after another, then all of them submitted
together, side by side in the same process; each run has its own thread and a
question of its own, temperature 0 and ``--tokens`` completion tokens at most.
Reported per batch size: the makespan (first submit → last run done), the mean
time a caller waits for its answer when all runs arrive at once (one after
another, the k-th waits for the k-1 before it), the p95 of that together, the tokens generated per second, and whether every
concurrent run wrote the same text as alone. ``--busy N`` repeats everything
while N other processes each spin on a core (a laptop doing other work). A mixed
pass (``--long-first``) puts one long run first and reports how long the short
ones behind it wait: one at a time they queue behind it, batched they do not.

Beside ours, on each ``--busy`` pass: llama.cpp's own ``llama-server``
(:mod:`benchmarks.llama_server`) with one slot per run, sent the same questions one
after another and then all at once, and raw llama.cpp decoding eight sequences per
``llama_decode`` against one (the ceiling of what batching can gain on this file and
these cores). Targets: ours at parallel ``--runs`` gains at least 0.8 of raw
llama.cpp's batch gain, and its tokens/s together at least llama-server's.

``--sweep 1 2 4 8 16`` adds a pass per concurrency N, quiet: N runs at once on a
runtime of N slots beside llama-server with N slots sent N requests at once, both
reporting tokens/s together and the p95 of the callers' waits, and draws
benchmarks/results/concurrency.png (tokens/s by N, both, with raw llama.cpp's batch-8
rate as the ceiling).

Writes benchmarks/results/parallel_runs.json and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import llama_cpp
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from benchmarks.engine_settings import busy  # noqa: E402
from benchmarks.llama_server import CppLlamaServer  # noqa: E402
from benchmarks.weights_formats import QUESTIONS as EVERYDAY  # noqa: E402
from benchmarks.weights_formats import SEQUENCES  # noqa: E402
from tests.servers import SERVED_NAME  # noqa: E402

from offline_assistants import Client  # noqa: E402
from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.engine.attention import PATHS  # noqa: E402

QUESTIONS = EVERYDAY[:12]  # the runs cycle through these


def _answer(client: Client, thread_id: str) -> str:
    message = client.beta.threads.messages.list(thread_id=thread_id).data[0]
    return "".join(b.text.value for b in message.content if b.type == "text")


LONG = "Write a long story about a dragon who learns to read. Use at least ten paragraphs."


def measure(
    model: Path, parallel: int, runs: int, tokens: int, long_tokens: int = 0
) -> dict[str, Any]:
    """``long_tokens``: the first run is a long one (a story, that many tokens)."""
    jobs = [(QUESTIONS[i % len(QUESTIONS)], tokens) for i in range(runs)]
    if long_tokens:
        jobs[0] = (LONG, long_tokens)
    with tempfile.TemporaryDirectory() as data:
        settings = dataclasses.replace(
            Settings.from_env(data_dir=data, default_model=model), parallel=parallel, n_ctx=2048
        )
        with Client(settings=settings) as client:
            assistant = client.beta.assistants.create(model="default", temperature=0)
            client.beta.threads.create_and_run_poll(  # load the model, warm the caches
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": "hi"}]},
                max_completion_tokens=4,
            )

            def start(job: tuple[str, int]) -> Any:
                thread = client.beta.threads.create(messages=[{"role": "user", "content": job[0]}])
                return client.beta.threads.runs.create(
                    thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=job[1]
                )

            alone, alone_times, alone_tokens = [], [], 0
            begun = time.perf_counter()
            for job in jobs:
                run = start(job)
                run = client.beta.threads.runs.poll(
                    run.id, thread_id=run.thread_id, poll_interval_ms=20
                )
                alone_times.append(time.perf_counter() - begun)  # as if all came at once
                alone.append(_answer(client, run.thread_id))
                alone_tokens += run.usage.completion_tokens if run.usage else 0
            sequential = time.perf_counter() - begun

            begun = time.perf_counter()
            started_runs = [start(job) for job in jobs]
            finished: dict[str, float] = {}
            while len(finished) < len(started_runs):
                for run in started_runs:
                    if run.id in finished:
                        continue
                    now = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
                    if now.status not in ("queued", "in_progress"):
                        finished[run.id] = time.perf_counter() - begun
                time.sleep(0.01)
            together = time.perf_counter() - begun
            texts = [_answer(client, run.thread_id) for run in started_runs]
            generated = 0
            for run in started_runs:
                done = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
                generated += done.usage.completion_tokens if done.usage else 0
    waits = [finished[run.id] for run in started_runs]
    latencies = sorted(waits)
    short = slice(1, None) if long_tokens else slice(None)
    return {
        "parallel": parallel,
        "long_first_tokens": long_tokens,
        "short_mean_wait_sequential_s": round(statistics.mean(alone_times[short]), 2),
        "short_mean_wait_together_s": round(statistics.mean(waits[short]), 2),
        "runs": runs,
        "sequential_s": round(sequential, 2),
        "sequential_mean_run_s": round(statistics.mean(alone_times), 2),
        "together_s": round(together, 2),
        "together_mean_run_s": round(statistics.mean(latencies), 2),
        "together_p95_run_s": round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 2),
        "speedup": round(sequential / together, 2),
        "tokens_per_s_sequential": round(alone_tokens / sequential, 1),
        "tokens_per_s_together": round(generated / together, 1),
        "same_text": sum(a == b for a, b in zip(alone, texts, strict=True)),
    }


def peer_pass(server: CppLlamaServer, runs: int, tokens: int) -> dict[str, Any]:
    """llama.cpp's own server, ``server.parallel`` slots: the same questions one after
    another, then all at once (one HTTP request each), as the runs above."""
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]

    def ask(http: httpx.Client, question: str) -> tuple[float, int, str]:
        body = {
            "model": SERVED_NAME,
            "messages": [{"role": "user", "content": question}],
            "max_tokens": tokens,
            "temperature": 0,
        }
        reply = http.post("/v1/chat/completions", json=body).raise_for_status().json()
        text = reply["choices"][0]["message"]["content"] or ""
        return time.perf_counter(), int(reply["usage"]["completion_tokens"]), text

    with httpx.Client(base_url=server.origin, timeout=600) as http:
        ask(http, "hi")  # warm up
        begun = time.perf_counter()
        alone = [ask(http, q) for q in questions]
        sequential = time.perf_counter() - begun
        begun = time.perf_counter()
        with ThreadPoolExecutor(runs) as pool:
            together = list(pool.map(lambda q: ask(http, q), questions))
        makespan = max(done for done, _, _ in together) - begun
    waits = sorted(done - begun for done, _, _ in together)
    return {
        "parallel": server.parallel,
        "sequential_s": round(sequential, 2),
        "together_s": round(makespan, 2),
        "speedup": round(sequential / makespan, 2),
        "tokens_per_s_sequential": round(sum(n for _, n, _ in alone) / sequential, 1),
        "tokens_per_s_together": round(sum(n for _, n, _ in together) / makespan, 1),
        "together_mean_run_s": round(statistics.mean(waits), 2),
        "together_p95_run_s": round(waits[max(0, int(0.95 * len(waits)) - 1)], 2),
        "same_text": sum(a[2] == b[2] for a, b in zip(alone, together, strict=True)),
    }


def _ceiling(model: Path, n_vocab: int, attention: str) -> dict[str, float]:
    """Raw llama.cpp's speeds (:func:`~benchmarks.weights_formats.speeds`), in a process of
    their own: raw contexts made in this one left every runtime made here after them
    slower (a single run took 1.14 s after them, 0.61 s in a fresh process)."""
    code = (
        "import json, sys; from pathlib import Path; "
        f"sys.path.insert(0, {str(HERE.parent)!r}); "
        "from benchmarks.weights_formats import speeds; "
        f"print(json.dumps(speeds(Path({str(model)!r}), {n_vocab}, {attention!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    speeds_found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return speeds_found


def sweep(model: Path, counts: list[int], tokens: int, scratch: Path) -> list[dict[str, Any]]:
    """Per concurrency N: N runs at once on N slots, ours and llama-server's, quiet."""
    points = []
    for count in tqdm(counts, desc="concurrency sweep"):
        ours = measure(model, count, count, tokens)
        with CppLlamaServer(model, scratch / f"llama-server-{count}.log", parallel=count) as peer:
            theirs = peer_pass(peer, count, tokens)
        points.append({"concurrency": count, "ours": ours, "llama_server": theirs})
    return points


def plot(points: list[dict[str, Any]], ceiling: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [p["concurrency"] for p in points]
    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=120)
    axes.plot(counts, [p["ours"]["tokens_per_s_together"] for p in points], "o-", label="ours")
    axes.plot(
        counts,
        [p["llama_server"]["tokens_per_s_together"] for p in points],
        "s--",
        label="llama-server",
    )
    if ceiling is not None:
        axes.axhline(ceiling, color="grey", linewidth=0.8, label=f"raw llama.cpp, {SEQUENCES} seqs")
    axes.set_xscale("log", base=2)
    axes.set_xticks(counts, [str(c) for c in counts])
    axes.set_xlabel("runs at once")
    axes.set_ylabel("tokens/s together")
    axes.set_title("Throughput by concurrency (same GGUF, same cores)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Settings.from_env().default_model)
    parser.add_argument("--runs", type=int, default=8, help="runs submitted together")
    parser.add_argument("--tokens", type=int, default=64, help="max completion tokens per run")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument(
        "--busy", type=int, nargs="+", default=[0, 1], help="other processes spinning, per pass"
    )
    parser.add_argument(
        "--long-first",
        type=int,
        default=384,
        help="also a mixed pass: the first run is a long one of this many tokens (0: skip)",
    )
    parser.add_argument(
        "--sweep",
        type=int,
        nargs="*",
        default=[],
        help="concurrencies N to compare with llama-server (N runs on N slots each, quiet)",
    )
    args = parser.parse_args()
    rows, peers, ceilings = [], [], []
    n_vocab = llama_cpp.Llama(str(args.model), vocab_only=True, verbose=False).n_vocab()
    with tempfile.TemporaryDirectory() as scratch:
        points = sweep(args.model, args.sweep, args.tokens, Path(scratch)) if args.sweep else []
        peer = CppLlamaServer(args.model, Path(scratch) / "llama-server.log", parallel=args.runs)
        for load in args.busy:
            with busy(load):
                for parallel in tqdm(args.parallel, desc=f"parallel, {load} busy"):
                    row = measure(args.model, parallel, args.runs, args.tokens)
                    row["busy"] = load
                    rows.append(row)
                with peer:
                    peers.append({"busy": load, **peer_pass(peer, args.runs, args.tokens)})
                # the ceiling: raw llama.cpp with whichever attention path decodes the
                # batch faster here (the engine times them too: engine/attention.py)
                paths = {p.name: _ceiling(args.model, n_vocab, p.name) for p in PATHS}
                fastest = max(paths, key=lambda name: paths[name][f"decode_{SEQUENCES}"])
                raw = paths[fastest]
                gain = raw[f"decode_{SEQUENCES}"] / raw["decode_1"]
                ceilings.append(
                    {"busy": load, "tokens_per_s": raw, "batch_gain": gain,
                     "attention": fastest, "every_path": paths}
                )  # fmt: skip
    mixed = []
    if args.long_first:
        for parallel in tqdm(args.parallel, desc="parallel, a long run first"):
            mixed.append(
                measure(args.model, parallel, args.runs, args.tokens, long_tokens=args.long_first)
            )
    out = HERE / "results" / "parallel_runs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": str(args.model),
        "runs": args.runs,
        "tokens": args.tokens,
        "rows": rows,
        "llama_server": peers,
        "raw_llama_cpp": ceilings,
        "mixed": mixed,
        "sweep": points,
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    if points:
        quiet = next((c for c in ceilings if c["busy"] == 0), None)
        rate = quiet["tokens_per_s"][f"decode_{SEQUENCES}"] if quiet else None
        plot(points, rate, out.with_name("concurrency.png"))
    print(
        f"\n{'busy':>4} {'parallel':>8} {'one by one':>11} {'together':>9} {'speedup':>8} "
        f"{'mean run':>15} {'tok/s':>13} {'same text':>10}"
    )
    for row in rows:
        print(
            f"{row['busy']:>4} {row['parallel']:>8} {row['sequential_s']:>10.1f}s "
            f"{row['together_s']:>8.1f}s {row['speedup']:>7.2f}x "
            f"{row['sequential_mean_run_s']:>6.1f}s→{row['together_mean_run_s']:>5.1f}s "
            f"{row['tokens_per_s_sequential']:>5.0f}→{row['tokens_per_s_together']:>5.0f} "
            f"{row['same_text']:>6}/{row['runs']}"
        )
    print(f"\nllama-server, {args.runs} slots (same questions, one HTTP request each):")
    for row in peers:
        print(
            f"{row['busy']:>4} {'peer':>8} {row['sequential_s']:>10.1f}s "
            f"{row['together_s']:>8.1f}s {row['speedup']:>7.2f}x "
            f"{'':>6} {row['together_mean_run_s']:>6.1f}s "
            f"{row['tokens_per_s_sequential']:>5.0f}→{row['tokens_per_s_together']:>5.0f} "
            f"{row['same_text']:>6}/{args.runs}"
        )
    for ceiling, peer_row in zip(ceilings, peers, strict=True):
        load = ceiling["busy"]
        best = next((r for r in rows if r["busy"] == load and r["parallel"] == args.runs), rows[-1])
        print(
            f"busy {load}: raw llama.cpp decodes {SEQUENCES} sequences "
            f"{ceiling['batch_gain']:.2f}x faster than one; ours at parallel "
            f"{best['parallel']}: {best['speedup']:.2f}x "
            f"({best['speedup'] / ceiling['batch_gain']:.2f} of it, target >= 0.8); "
            f"tokens/s together, ours / llama-server: {best['tokens_per_s_together']:.0f} / "
            f"{peer_row['tokens_per_s_together']:.0f} (target >= 1)"
        )
    if points:
        print("\nruns at once (N slots each, quiet): tokens/s together, p95 wait")
        print(
            f"{'N':>4} {'ours tok/s':>11} {'llama-server':>13} {'ratio':>6} {'p95 ours':>9} {'p95 peer':>9}"
        )
        for point in points:
            ours, theirs = point["ours"], point["llama_server"]
            print(
                f"{point['concurrency']:>4} {ours['tokens_per_s_together']:>11.0f} "
                f"{theirs['tokens_per_s_together']:>13.0f} "
                f"{ours['tokens_per_s_together'] / theirs['tokens_per_s_together']:>6.2f} "
                f"{ours['together_p95_run_s']:>8.2f}s {theirs['together_p95_run_s']:>8.2f}s"
            )
    if mixed:
        print(
            f"\na {args.long_first}-token run first, then {args.runs - 1} short ones: "
            "mean wait of the short ones"
        )
        print(f"{'parallel':>8} {'one by one':>11} {'together':>9} {'same text':>10}")
        for row in mixed:
            print(
                f"{row['parallel']:>8} {row['short_mean_wait_sequential_s']:>10.1f}s "
                f"{row['short_mean_wait_together_s']:>8.1f}s {row['same_text']:>6}/{row['runs']}"
            )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
