"""Time to first token against turn number: a 12-turn thread, 3 other threads interleaved.

Four threads (one measured, three others) take turns: each turn, each thread gets a
user message and a streamed run, timed from ``runs.create(stream=True)`` to the first
``thread.message.delta`` and to the run's end. So between two turns of a thread, three
other threads used the model. The whole conversation runs twice, in two fresh runtimes on the same model: with
prefix reuse (the default) and with ``kv_reuse`` off (every prompt evaluated in full).
A turn's TTFT is the median over the four threads at that turn.

Answers are ``--tokens`` long (40). From turn 2 on, a thread's prompt holds its last
answer, which is evaluated again as prompt (the KV the generation wrote is not reused:
it was computed one token at a time, and a prompt evaluated afresh must give the same
answers), while its first turn's new tokens are only the question (the preamble is
shared with the other threads). ``--tokens 1`` is the issue's own measure: one-token
answers, from ``runs.create`` to the run's end.

    .venv/bin/python benchmarks/turn_latency.py [--turns 12] [--tokens 40] [--model PATH]

Prints a table per turn, the ratio turn N / turn 1 for each mode, checks that both modes
wrote the same answers, and writes benchmarks/results/turn_latency.json and
benchmarks/results/ttft_by_turn.png.
Target: with reuse, TTFT at turn 12 at most 1.3 x TTFT at turn 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from offline_assistants import Client
from offline_assistants.config import Settings

RESULTS = Path(__file__).resolve().parent / "results"
INSTRUCTIONS = (
    "You are a patient personal math tutor for high-school students. Answer in one or two "
    "sentences, show the key step, and keep numbers exact. "
    + "If the student is unsure, encourage them and suggest the next small step. "
    * 6
)
QUESTIONS = [
    "What is {n} times 3?",
    "Is {n} a prime number?",
    "What is {n} squared?",
    "How do I write {n} in binary?",
]
THREADS = 4
MAX_TOKENS = 40


def question(thread: int, turn: int) -> str:
    return QUESTIONS[(thread + turn) % len(QUESTIONS)].format(n=7 + 3 * turn + thread)


def converse(
    model: Path | None, reuse: bool, turns: int, batch: int, tokens: int
) -> dict[str, Any]:
    """TTFT and time to the run's end per turn (each thread's) and every answer, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(
            Settings.from_env(data_dir=Path(tmp), default_model=model),
            kv_reuse=reuse,
            n_batch=batch,
        )
        with Client(settings=settings) as client:
            tutor = client.beta.assistants.create(
                model="default", instructions=INSTRUCTIONS, temperature=0
            )
            threads = [client.beta.threads.create().id for _ in range(THREADS)]
            ttft: list[list[float]] = []
            ends: list[list[float]] = []
            answers: list[str] = []
            label = "reuse on " if reuse else "reuse off"
            for turn in tqdm(range(turns), desc=label, unit="turn"):
                times, whole = [], []
                for index, thread_id in enumerate(threads):
                    client.beta.threads.messages.create(
                        thread_id, role="user", content=question(index, turn)
                    )
                    started = time.perf_counter()
                    first: float | None = None
                    for event in client.beta.threads.runs.create(
                        thread_id,
                        assistant_id=tutor.id,
                        stream=True,
                        max_completion_tokens=tokens,
                    ):
                        if first is None and event.event == "thread.message.delta":
                            first = time.perf_counter() - started
                    assert first is not None, "the run wrote no message"
                    times.append(first)
                    whole.append(time.perf_counter() - started)
                    reply = client.beta.threads.messages.list(thread_id, limit=1).data[0]
                    answers.append(reply.content[0].text.value)
                ttft.append(times)
                ends.append(whole)
            stats = client.runtime.prefix_cache.stats if client.runtime.prefix_cache else None
            return {
                "ttft_s": ttft,
                "end_s": ends,
                "answers": answers,
                "cache": dataclasses.asdict(stats) if stats else None,
            }


def plot(on: list[float], off: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    turns = list(range(1, len(on) + 1))
    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=120)
    axes.plot(turns, [t * 1000 for t in off], "o-", label="reuse off (full evaluation)")
    axes.plot(turns, [t * 1000 for t in on], "o-", label="reuse on")
    axes.set_xlabel("turn of the thread (3 other threads between turns)")
    axes.set_ylabel("time to first token (ms, median of 4 threads)")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=12, help="turns per thread (12)")
    parser.add_argument("--tokens", type=int, default=MAX_TOKENS, help="answer tokens (40)")
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    parser.add_argument(
        "--batch", type=int, default=Settings.from_env().n_batch, help="n_batch (the setting's)"
    )
    args = parser.parse_args()
    on = converse(args.model, True, args.turns, args.batch, args.tokens)
    off = converse(args.model, False, args.turns, args.batch, args.tokens)
    on_ttft = [statistics.median(t) for t in on["ttft_s"]]
    off_ttft = [statistics.median(t) for t in off["ttft_s"]]
    on_end = [statistics.median(t) for t in on["end_s"]]
    identical = on["answers"] == off["answers"]
    print(
        f"\n{'turn':>4} {'reuse on ms':>12} {'reuse off ms':>13} {'on/off':>7} "
        f"{'on, to the end ms':>18}"
    )
    for turn, (a, b, c) in enumerate(zip(on_ttft, off_ttft, on_end, strict=True), start=1):
        print(f"{turn:>4} {a * 1000:>12.1f} {b * 1000:>13.1f} {a / b:>7.2f} {c * 1000:>18.1f}")
    growth_on, growth_off = on_ttft[-1] / on_ttft[0], off_ttft[-1] / off_ttft[0]
    growth_end = on_end[-1] / on_end[0]
    print(
        f"\nturn {args.turns} / turn 1, first token: reuse on {growth_on:.2f}x, reuse off "
        f"{growth_off:.2f}x (target <= 1.3x with reuse: "
        f"{'met' if growth_on <= 1.3 else 'NOT met'}); to the run's end, reuse on "
        f"{growth_end:.2f}x; turn {args.turns} / turn 2, first token: "
        f"{on_ttft[-1] / on_ttft[min(1, len(on_ttft) - 1)]:.2f}x; "
        f"identical answers: {'yes' if identical else 'NO'}"
    )
    RESULTS.mkdir(exist_ok=True)
    plot(on_ttft, off_ttft, RESULTS / "ttft_by_turn.png")
    (RESULTS / "turn_latency.json").write_text(
        json.dumps(
            {
                "threads": THREADS,
                "n_batch": args.batch,
                "turns": args.turns,
                "max_completion_tokens": args.tokens,
                "ttft_ms_reuse_on": [t * 1000 for t in on_ttft],
                "end_ms_reuse_on": [t * 1000 for t in on_end],
                "growth_to_end_reuse_on": growth_end,
                "ttft_ms_reuse_off": [t * 1000 for t in off_ttft],
                "growth_turn_last_over_first_reuse_on": growth_on,
                "growth_turn_last_over_first_reuse_off": growth_off,
                "identical_answers": identical,
                "prefix_cache": on["cache"],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS / 'turn_latency.json'} and ttft_by_turn.png")


if __name__ == "__main__":
    main()
