"""Responses against runs: the overhead of the successor API, and prefix reuse in conversations.

1. Overhead. The same prompt (instructions + one question, temperature 0, 32 tokens)
   as a streamed Assistants run in a new thread (``threads.create`` + ``runs.create
   (stream=True)`` read to the end), as ``responses.create`` (which returns when the
   response is done), and as ``chat.completions.create``, taken in turns (run, response,
   chat, run, ...) in one runtime; the median wall time of each and the ratio
   response / run. The three must write the same text.
2. Conversation TTFT. Four conversations take turns (as benchmarks/turn_latency.py does
   with threads): each turn, each gets ``responses.create(conversation=..., stream=True)``,
   timed to its first ``response.output_text.delta``. The ratio turn N / turn 1 of the
   median shows whether prefix reuse carries over to conversations; the same
   conversations run again in a runtime with ``kv_reuse`` off, for comparison.

    .venv/bin/python benchmarks/responses.py [--reps 10] [--turns 12] [--model PATH]

Writes benchmarks/results/responses.json.
Targets: response / run within 1.05x; conversation TTFT at turn 12 within 1.3x of turn 1.
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
)
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
TOKENS = 32
CONVERSATIONS = 4


def overhead(client: Client, reps: int) -> dict[str, Any]:
    tutor = client.beta.assistants.create(model="default", instructions=INSTRUCTIONS, temperature=0)
    times: dict[str, list[float]] = {"run": [], "response": [], "chat": []}
    texts: dict[str, set[str]] = {"run": set(), "response": set(), "chat": set()}
    for _ in tqdm(range(reps), desc="run / response / chat", unit="rep"):
        started = time.perf_counter()
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        for _event in client.beta.threads.runs.create(
            thread.id, assistant_id=tutor.id, stream=True, max_completion_tokens=TOKENS
        ):
            pass
        times["run"].append(time.perf_counter() - started)
        reply = client.beta.threads.messages.list(thread.id, limit=1).data[0]
        texts["run"].add(reply.content[0].text.value)

        started = time.perf_counter()
        response = client.responses.create(
            model="default",
            instructions=INSTRUCTIONS,
            input=QUESTION,
            temperature=0,
            max_output_tokens=TOKENS,
        )
        times["response"].append(time.perf_counter() - started)
        texts["response"].add(response.output_text)

        started = time.perf_counter()
        chat = client.chat.completions.create(
            model="default",
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": QUESTION},
            ],
            temperature=0,
            max_tokens=TOKENS,
        )
        times["chat"].append(time.perf_counter() - started)
        texts["chat"].add(chat.choices[0].message.content or "")
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "median_s": medians,
        "ratio_response_over_run": medians["response"] / medians["run"],
        "ratio_chat_over_run": medians["chat"] / medians["run"],
        "same_text": len(texts["run"] | texts["response"] | texts["chat"]) == 1,
    }


def conversation_ttft(client: Client, turns: int) -> dict[str, Any]:
    conversations = [
        client.conversations.create(items=[{"role": "user", "content": INSTRUCTIONS * 4}]).id
        for _ in range(CONVERSATIONS)
    ]
    ttft: list[float] = []
    for turn in tqdm(range(turns), desc="conversation turns", unit="turn"):
        times = []
        for index, conversation in enumerate(conversations):
            started = time.perf_counter()
            first: float | None = None
            for event in client.responses.create(
                model="default",
                conversation=conversation,
                input=f"What is {7 + 3 * turn + index} times 3?",
                instructions=INSTRUCTIONS,
                temperature=0,
                max_output_tokens=TOKENS,
                stream=True,
            ):
                if first is None and event.type == "response.output_text.delta":
                    first = time.perf_counter() - started
            assert first is not None, "the response wrote no text"
            times.append(first)
        ttft.append(statistics.median(times))
    return {"ttft_ms": [t * 1000 for t in ttft], "growth_last_over_first": ttft[-1] / ttft[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10, help="repetitions of each request (10)")
    parser.add_argument("--turns", type=int, default=12, help="turns per conversation (12)")
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(data_dir=Path(tmp), default_model=args.model)
        with Client(settings=settings) as client:
            cost = overhead(client, args.reps)
            turns = conversation_ttft(client, args.turns)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(data_dir=Path(tmp), default_model=args.model)
        with Client(settings=dataclasses.replace(settings, kv_reuse=False)) as client:
            full = conversation_ttft(client, args.turns)
    m = cost["median_s"]
    print(
        f"\nmedian wall: run {m['run'] * 1000:.0f} ms, response {m['response'] * 1000:.0f} ms, "
        f"chat completion {m['chat'] * 1000:.0f} ms"
    )
    ratio = cost["ratio_response_over_run"]
    print(
        f"response / run {ratio:.3f} (target <= 1.05: {'met' if ratio <= 1.05 else 'NOT met'}); "
        f"chat / run {cost['ratio_chat_over_run']:.3f}; same text: "
        f"{'yes' if cost['same_text'] else 'NO'}"
    )
    print(f"\n{'turn':>4} {'reuse on ms':>12} {'reuse off ms':>13}")
    for turn, (on, off) in enumerate(zip(turns["ttft_ms"], full["ttft_ms"], strict=True), 1):
        print(f"{turn:>4} {on:>12.1f} {off:>13.1f}")
    growth = turns["growth_last_over_first"]
    print(
        f"conversation TTFT turn {args.turns} / turn 1: {growth:.2f}x with reuse "
        f"(target <= 1.3x: {'met' if growth <= 1.3 else 'NOT met'}), "
        f"{full['growth_last_over_first']:.2f}x without"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "responses.json"
    out.write_text(
        json.dumps(
            {
                "reps": args.reps,
                "max_tokens": TOKENS,
                **cost,
                "conversation": turns,
                "conversation_reuse_off": full,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
