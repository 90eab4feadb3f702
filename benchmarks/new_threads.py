"""A new thread's first token when its assistant's preamble is already known, beside
llama.cpp's own server and llama-cpp-python's, on this machine.

An assistant with about 400 tokens of instructions; ``--threads`` new threads in turn,
each with its own question, streamed, timed from ``runs.stream`` to the first
``thread.message.delta``. Beside it, in turns, llama.cpp's own ``llama-server``
(:mod:`benchmarks.llama_server`) and ``llama_cpp.server`` (both started here on
127.0.0.1, same GGUF) are sent the same system prompt and question as a streamed chat
completion, timed to the first content delta: each peer keeps the prefix its last
request shared. Five runtimes take part: ours with prefix reuse (the default: prefixes
shared by content across threads), ours with ``kv_reuse`` off (every prompt evaluated
in full: what a new thread cost before prefixes were shared), the two peers, and
``llama-server`` again with the attention path our engine chose for this model and CPU
(flash attention or not, and the KV cache's type: its default takes flash attention
over an F16 cache wherever it can, on some CPUs the slower: README, attention paths),
so the table shows both what a user running it as it comes sees and what a run costs
us besides the model. The first
thread of each warms up and is not counted. The runtime with reuse off runs after the
others, on its own: two engines in one process make two OpenMP teams, and libgomp then
slows both (DEVELOPERS.md), which a user's server, with one engine, never sees. ``--busy N`` repeats it all while N other
processes spin on a core.

    .venv/bin/python benchmarks/new_threads.py [--threads 8] [--busy 0 1] [--model PATH]

Prints a table and writes benchmarks/results/new_threads.json.
Target: new-thread TTFT at most 1.0x llama-server's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))
from benchmarks.engine_settings import busy  # noqa: E402
from benchmarks.llama_server import CppLlamaServer  # noqa: E402
from tests.servers import SERVED_NAME, LlamaServer  # noqa: E402

from offline_assistants import Client  # noqa: E402
from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.engine import ChatMessage, resolve_model  # noqa: E402

RESULTS = HERE / "results"
SAME_ATTENTION = "llama-server, our attention"
INSTRUCTIONS = (
    "You are the help desk assistant of a small public library. Answer in one or two "
    "short sentences, politely, and only about the library. "
    + "The library opens at nine and closes at six on weekdays; on Saturdays it closes at "
    "one, and it is closed on Sundays and public holidays. Members may borrow up to eight "
    "books for three weeks and renew them twice online. Late returns cost twenty cents a "
    "day per book. The reading room is quiet; group study rooms can be booked a week ahead. " * 4
)
QUESTIONS = [
    "When do you open on Saturday?",
    "How many books can I borrow?",
    "Can I renew a book online?",
    "What does a late return cost?",
    "Can I book a study room?",
    "Are you open on Sunday?",
    "How long is the loan period?",
    "Is the reading room quiet?",
    "When do you close on weekdays?",
]


def ours(client: Client, assistant_id: str, question: str) -> float:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    started = time.perf_counter()
    first = 0.0
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, max_completion_tokens=8
    ) as stream:
        for event in stream:
            if event.event == "thread.message.delta" and not first:
                first = time.perf_counter() - started
    return first


def peer(http: httpx.Client, question: str) -> float:
    body = {
        "model": SERVED_NAME,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": question},
        ],
        "max_tokens": 8,
        "temperature": 0,
        "stream": True,
    }
    started = time.perf_counter()
    first = 0.0
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not first and line.startswith("data: {") and '"content":' in line:
                delta = json.loads(line[6:])["choices"][0]["delta"]
                first = time.perf_counter() - started if delta.get("content") else 0.0
    return first


def measure(model: Path, threads: int, data: Path, servers: dict[str, str]) -> dict[str, Any]:
    """``servers``: each peer's name and origin. A third peer, ``llama-server`` with the
    attention path our engine chose (``--flash-attn on`` or ``off`` and ``--cache-type-k``
    and ``-v``, where its defaults take flash attention over F16 wherever it can),
    separates what our choice wins from what the run costs besides the model."""
    base = Settings.from_env(data_dir=data / "on", default_model=model)
    names = [*servers, SAME_ATTENTION]
    times: dict[str, list[float]] = {"shared": [], "full": [], **{name: [] for name in names}}
    with Client(settings=base) as shared, tempfile.TemporaryDirectory() as scratch:
        engine = shared.runtime.engines.get(resolve_model("default", shared.settings))
        path = engine.attention
        same = CppLlamaServer(
            model, Path(scratch) / "log", flash_attention="on" if path.flash else "off",
            kv_type=path.kv_type,
        )  # fmt: skip
        with same:
            origins = {**servers, SAME_ATTENTION: same.origin}
            peers = {name: httpx.Client(base_url=url, timeout=300) for name, url in origins.items()}
            assistant = shared.beta.assistants.create(
                model="default", instructions=INSTRUCTIONS, temperature=0
            )
            tokens = len(engine.prompt_tokens([ChatMessage("system", INSTRUCTIONS)]))
            for i in range(threads + 1):
                question = QUESTIONS[i % len(QUESTIONS)]
                took = ours(shared, assistant.id, question)
                if i:
                    times["shared"].append(took)
                for name, http in peers.items():
                    took = peer(http, question)
                    if i:
                        times[name].append(took)
            for http in peers.values():
                http.close()
    with Client(settings=dataclasses.replace(base, data_dir=data / "off", kv_reuse=False)) as full:
        assistant = full.beta.assistants.create(
            model="default", instructions=INSTRUCTIONS, temperature=0
        )
        for i in range(threads + 1):
            took = ours(full, assistant.id, QUESTIONS[i % len(QUESTIONS)])
            if i:
                times["full"].append(took)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    return {
        "preamble_tokens": tokens,
        "ttft_ms": medians,
        "shared_vs_llama_server": medians["shared"] / medians["llama-server"],
        "shared_vs_llama_cpp_server": medians["shared"] / medians["llama_cpp.server"],
        "our_attention": path.name,
        "shared_vs_llama_server_same_attention": medians["shared"] / medians[SAME_ATTENTION],
        "full_vs_llama_server": medians["full"] / medians["llama-server"],
        "samples_ms": {k: [round(v * 1000, 1) for v in vs] for k, vs in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="new threads measured")
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1], help="spinning processes")
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the default model)")
    args = parser.parse_args()
    model = (args.model or Settings.from_env().default_model).resolve()
    results: dict[str, Any] = {"model": model.name, "threads": args.threads, "runs": {}}
    with (
        tempfile.TemporaryDirectory() as scratch,
        LlamaServer(model, Path(scratch) / "server.log") as python_peer,
        CppLlamaServer(model, Path(scratch) / "llama-server.log") as cpp_peer,
    ):
        servers = {"llama-server": cpp_peer.origin, "llama_cpp.server": python_peer.origin}
        for spinning in args.busy:
            with busy(spinning):
                data = Path(scratch) / f"busy{spinning}"
                results["runs"][str(spinning)] = measure(model, args.threads, data, servers)
    print(f"new-thread TTFT, {results['model']}, {args.threads} threads, medians (ms):")
    print(
        f"{'busy':>5} {'preamble':>9} {'shared':>8} {'full':>8} {'llama-server':>13} "
        f"{'llama_cpp.server':>17} {'shared/llama-server':>20} "
        f"{'llama-server, our attention (ratio)':>42}"
    )
    for spinning, r in results["runs"].items():
        t = r["ttft_ms"]
        ratio = r["shared_vs_llama_server_same_attention"]
        same = f"{t[SAME_ATTENTION]:.0f} ms, {r['our_attention']} ({ratio:.2f})"
        print(
            f"{spinning:>5} {r['preamble_tokens']:>9} {t['shared']:>8.0f} {t['full']:>8.0f} "
            f"{t['llama-server']:>13.0f} {t['llama_cpp.server']:>17.0f} "
            f"{r['shared_vs_llama_server']:>20.2f} {same:>42}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "new_threads.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
