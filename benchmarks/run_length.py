"""Run length with default settings: how long a run takes when the app sets nothing.

Apps written for the hosted API (the overview notebook, LangChain's assistant runnable)
create a run and poll it, with the API's defaults: temperature 1, top_p 1, no token
limit. A small model sampled that way used to ramble until the context window was
full. This creates 20 everyday requests, each on its own thread with the overview's
Math Tutor instructions and default settings, and reports per run the wall time,
completion tokens, status and how the answer ended; then median and max.

``--unguarded`` also runs the same prompts without the runtime's defaults against
runaway answers (min-p, DRY, the loop stop), side by side, capped at
``--unguarded-cap`` tokens so that the comparison ends.

    .venv/bin/python benchmarks/run_length.py [--prompts 20] [--rounds 1] [--unguarded]

Prints a table and writes benchmarks/results/run_length.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from offline_assistants import Client
from offline_assistants.runs import generation

RESULTS = Path(__file__).resolve().parent / "results"
INSTRUCTIONS = "You are a personal math tutor. Answer questions briefly, in a sentence or less."
PROMPTS = [
    "I need to solve the equation `3x + 11 = 14`. Can you help me?",
    "What is 2 + 2?",
    "Explain the Pythagorean theorem.",
    "Tell me a joke.",
    "Write a poem about the sea.",
    "Tell me a story about a dragon.",
    "What is the capital of France?",
    "How do I bake bread?",
    "Summarize the French revolution.",
    "What is the derivative of x^2?",
    "Give me three tips for studying.",
    "Translate 'hello' to Spanish.",
    "What is machine learning?",
    "List the planets of the solar system.",
    "Why is the sky blue?",
    "Write a haiku about autumn.",
    "How does a computer work?",
    "Who was Albert Einstein?",
    "What is a prime number?",
    "Describe your favourite food.",
]


def measure(client: Client, prompts: list[str], cap: int | None = None) -> list[dict[str, Any]]:
    assistant = client.beta.assistants.create(model="default", instructions=INSTRUCTIONS)
    limit = {} if cap is None else {"max_completion_tokens": cap}
    rows = []
    for prompt in tqdm(prompts, desc="runs", unit="run"):
        started = time.perf_counter()
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": prompt}]},
            **limit,  # type: ignore[arg-type]
        )
        wall = time.perf_counter() - started
        message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
        text = "".join(b.text.value for b in message.content if b.type == "text")
        rows.append(
            {
                "prompt": prompt,
                "seconds": round(wall, 2),
                "completion_tokens": run.usage.completion_tokens if run.usage else 0,
                "status": run.status,
                "reason": run.incomplete_details.reason if run.incomplete_details else None,
                "answer_head": text[:80],
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in rows]
    tokens = [r["completion_tokens"] for r in rows]
    return {
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "median_tokens": statistics.median(tokens),
        "max_tokens": max(tokens),
        "completed": sum(r["status"] == "completed" for r in rows),
        "runs": len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=20, help="how many of the 20 prompts")
    parser.add_argument("--rounds", type=int, default=1, help="times through the prompts")
    parser.add_argument("--model", help="a .gguf file instead of the default model")
    parser.add_argument(
        "--unguarded", action="store_true", help="also run without the runaway guards"
    )
    parser.add_argument("--unguarded-cap", type=int, default=2048, help="token cap then")
    args = parser.parse_args()
    prompts = PROMPTS[: args.prompts] * args.rounds
    result: dict[str, Any] = {"prompts": len(prompts)}
    with Client(data_dir=tempfile.mkdtemp(), model=args.model) as client:
        guarded = measure(client, prompts)
        result["guarded"] = {"summary": summary(guarded), "runs": guarded}
        if args.unguarded:
            generation.MIN_P, generation.DRY_MULTIPLIER, generation.STOP_LOOPS = 0.0, 0.0, False
            unguarded = measure(client, prompts, cap=args.unguarded_cap)
            result["unguarded"] = {"summary": summary(unguarded), "runs": unguarded}
    print(f"{'prompt':40} {'s':>7} {'tokens':>7} status")
    for row in guarded:
        print(
            f"{row['prompt'][:40]:40} {row['seconds']:7.1f} {row['completion_tokens']:7d} "
            f"{row['status']} {row['reason'] or ''}"
        )
    for name in ("guarded", "unguarded"):
        if name in result:
            s = result[name]["summary"]
            print(
                f"{name}: median {s['median_s']:.1f} s / max {s['max_s']:.1f} s, tokens median "
                f"{s['median_tokens']} / max {s['max_tokens']}, {s['completed']}/{s['runs']} completed"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "run_length.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
