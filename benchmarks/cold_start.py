"""Cold start: from launching the server to the first chat completion's answer.

What a user waits for after typing the command: ``offline-assistants serve`` against
llama.cpp's own ``llama-server`` (built by :mod:`benchmarks.llama_server`) and
llama-cpp-python's ``llama_cpp.server``, same GGUF, in turns, ``--reps`` times each.
Each launch gets a fresh data directory and port; the clock runs from the process's
start until a one-token chat completion ("hi", temperature 0) has answered (the
client retries while the port is not yet open or the model not yet loaded).

    .venv/bin/python benchmarks/cold_start.py [--reps 5] [--model PATH]

Prints a table and writes benchmarks/results/cold_start.json.
Target: ours at most llama-server's + 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))
from benchmarks.llama_server import binary  # noqa: E402
from tests.servers import SERVED_NAME, free_port  # noqa: E402

from offline_assistants.config import Settings  # noqa: E402

RESULTS = HERE / "results"


def commands(model: Path, port: int, data: Path) -> dict[str, list[str]]:
    venv = Path(sys.executable).parent
    return {
        "ours": [
            str(venv / "offline-assistants"), "serve", "--port", str(port),
            "--model", str(model), "--data-dir", str(data),
        ],
        "llama-server": [
            str(binary()), "--model", str(model), "--alias", SERVED_NAME,
            "--host", "127.0.0.1", "--port", str(port), "--ctx-size", "8192",
            "--threads", "2", "--no-webui",
        ],
        "llama_cpp.server": [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model),
            "--model_alias", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "8192", "--n_threads", "2", "--verbose", "false",
        ],
    }  # fmt: skip


def first_answer(command: list[str], port: int, timeout: float = 120.0) -> float:
    """Seconds from launching ``command`` to a chat completion's answer from it."""
    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1,
        "temperature": 0,
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
            while time.perf_counter() - started < timeout:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[:3]} exited with {process.returncode}")
                try:
                    reply = http.post("/v1/chat/completions", json=body)
                    if reply.status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"{command[:3]} did not answer in {timeout:g} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the default model)")
    args = parser.parse_args()
    model = (args.model or Settings.from_env().default_model).resolve()
    binary()  # build it before the clock matters
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for rep in range(args.reps):
            for name in commands(model, 0, Path(scratch)):
                port = free_port()
                command = commands(model, port, Path(scratch) / f"{name}-{rep}")[name]
                times.setdefault(name, []).append(first_answer(command, port))
    medians = {name: statistics.median(values) for name, values in times.items()}
    results = {
        "model": model.name,
        "reps": args.reps,
        "median_s": medians,
        "samples_s": times,
        "ours_minus_llama_server_s": medians["ours"] - medians["llama-server"],
    }
    print(f"cold start to the first answer, {model.name}, median of {args.reps} (s):")
    for name, value in medians.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"{name:>18} {value:>6.2f}  ({spread})")
    print(f"ours - llama-server: {results['ours_minus_llama_server_s']:+.2f} s (target <= +1 s)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
