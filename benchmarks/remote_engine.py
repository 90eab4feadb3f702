"""The embedded engine against a serving engine elsewhere, side by side, on this machine.

    .venv/bin/python benchmarks/remote_engine.py [--model PATH] [--reps 5] [--runs 8]
        [--tokens 32] [--busy 0 1] [--engine-url URL --engine-model NAME
        --engine-constraint structured_outputs]

Starts llama-cpp-python's own OpenAI-compatible server (``llama_cpp.server``)
on 127.0.0.1 serving the same GGUF, and opens two runtimes: one generating
with the embedded engine, one with ``engine_url`` pointing at that server.
Both answer the same question in a new thread (a new question each time:
the server keeps its last prompt's state, temperature 0, up to
``--tokens`` tokens, streamed through the Python face), taken in turns; then
``--runs`` runs submitted at once to each. Reported: time to first token and
total (medians), whether the texts agree, and the tokens per second of the
concurrent runs. ``--busy N`` repeats it all while N other processes spin on
a core. On one machine this measures the cost of the HTTP hop and of the
server's own scheduling; what a serving engine buys (GPUs, batching across
many users) shows only on the hardware it is meant for: ``--engine-url`` uses an
engine already running there instead (``--model`` then names the served model's GGUF).

Writes benchmarks/results/remote_engine.json and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from benchmarks.engine_settings import busy  # noqa: E402
from benchmarks.parallel_runs import QUESTIONS  # noqa: E402
from tests.servers import SERVED_NAME, LlamaServer  # noqa: E402

from offline_assistants import Client  # noqa: E402
from offline_assistants.config import Settings  # noqa: E402


def streamed(
    client: Client, assistant_id: str, tokens: int, question: str
) -> tuple[float, float, str]:
    """One run in a new thread: (time to first token, total, text)."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    started = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, max_completion_tokens=tokens
    ) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                first = first or time.perf_counter() - started
                pieces += [p.text.value or "" for p in event.data.delta.content or () if p.text]
    return first, time.perf_counter() - started, "".join(pieces)


def concurrent(client: Client, assistant_id: str, runs: int, tokens: int) -> dict[str, float]:
    """``runs`` runs submitted at once: the makespan and tokens per second."""
    started = time.perf_counter()
    submitted = [
        client.beta.threads.create_and_run(
            assistant_id=assistant_id,
            thread={"messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]},
            max_completion_tokens=tokens,
        )
        for i in range(runs)
    ]
    generated = 0
    for run in submitted:
        done = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=20)
        generated += done.usage.completion_tokens if done.usage else 0
    makespan = time.perf_counter() - started
    return {"makespan_s": round(makespan, 2), "tokens_per_s": round(generated / makespan, 1)}


def measure(clients: dict[str, Client], reps: int, runs: int, tokens: int) -> dict[str, Any]:
    assistants = {
        name: c.beta.assistants.create(model="default", temperature=0).id
        for name, c in clients.items()
    }
    samples: dict[str, list[tuple[float, float, str]]] = {name: [] for name in clients}
    for name, client in clients.items():  # warm: model loaded, caches filled
        streamed(client, assistants[name], 4, "Hi.")
    for rep in tqdm(range(reps), desc="single runs, in turns"):
        question = QUESTIONS[rep % len(QUESTIONS)]  # a new prompt each time, for both
        for name, client in clients.items():
            samples[name].append(streamed(client, assistants[name], tokens, question))
    result: dict[str, Any] = {
        name: {
            "ttft_s": round(statistics.median(s[0] for s in runs_of), 3),
            "total_s": round(statistics.median(s[1] for s in runs_of), 3),
        }
        for name, runs_of in samples.items()
    }
    texts = [[s[2] for s in runs_of] for runs_of in samples.values()]
    result["same_text"] = sum(a == b for a, b in zip(*texts, strict=True))
    result["ttft_ratio_remote_over_embedded"] = round(
        result["remote"]["ttft_s"] / result["embedded"]["ttft_s"], 3
    )
    result["total_ratio_remote_over_embedded"] = round(
        result["remote"]["total_s"] / result["embedded"]["total_s"], 3
    )
    for name, client in clients.items():
        result[name][f"{runs}_at_once"] = concurrent(client, assistants[name], runs, tokens)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Settings.from_env().default_model)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--engine-url", help="an engine already running (e.g. vLLM) instead")
    parser.add_argument("--engine-model", default=SERVED_NAME)
    parser.add_argument("--engine-constraint", default="grammar")
    args = parser.parse_args()
    passes = []
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        root = Path(scratch)
        url = args.engine_url
        if url is None:
            server = LlamaServer(args.model, root / "server.log", n_ctx=4096)
            stack.enter_context(server)
            url = server.url
        embedded = stack.enter_context(
            Client(settings=Settings.from_env(data_dir=root / "e", default_model=args.model))
        )
        remote = stack.enter_context(
            Client(
                settings=Settings.from_env(
                    data_dir=root / "r",
                    default_model=args.model,
                    engine_url=url,
                    engine_model=args.engine_model,
                    engine_constraint=args.engine_constraint,
                )
            )
        )
        for load in args.busy:
            with busy(load):
                row = measure(
                    {"embedded": embedded, "remote": remote}, args.reps, args.runs, args.tokens
                )
            passes.append({"busy": load, **row})
    out = {
        "engine": args.engine_url or "llama_cpp.server, started here",
        "model": args.model.name,
        "reps": args.reps,
        "tokens": args.tokens,
        "passes": passes,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "remote_engine.json").write_text(json.dumps(out, indent=2) + "\n")
    print("| busy | TTFT embedded / remote | ratio | total embedded / remote | ratio | same text "
          f"| {args.runs} at once tok/s embedded / remote |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for p in passes:
        e, r = p["embedded"], p["remote"]
        print(
            f"| {p['busy']} | {e['ttft_s'] * 1000:.0f} / {r['ttft_s'] * 1000:.0f} ms "
            f"| {p['ttft_ratio_remote_over_embedded']:.2f} | {e['total_s'] * 1000:.0f} / "
            f"{r['total_s'] * 1000:.0f} ms | {p['total_ratio_remote_over_embedded']:.2f} "
            f"| {p['same_text']} of {args.reps} | {e[f'{args.runs}_at_once']['tokens_per_s']} / "
            f"{r[f'{args.runs}_at_once']['tokens_per_s']} |"
        )


if __name__ == "__main__":
    main()
