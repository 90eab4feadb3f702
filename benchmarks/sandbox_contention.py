"""What a sandbox full of spinning processes costs another sandbox's cell and a chat.

Sandbox A runs a cell that forks ``--spinners`` processes, each ``setsid()`` and
spinning (``while True: pass``). Timed ``--reps`` times each, alone and beside A:
a CPU-bound cell in sandbox B (a sum over 3 million squares) and a 64-token chat
completion (temperature 0, the default model, in process). Three cases, in one run:

- ``spinning, budgeted``: A's cell is still running (it waits for the host's word),
  with the sandbox's CPU budget as the runtime sets it (a cgroup with a quota of
  one core and a low weight where the cpu controller is there; nice 10 inside);
- ``spinning, unbudgeted``: the same, with no cgroup CPU controller and nice 0:
  what a sandbox cost before;
- ``left running``: A's cell forks the spinners and returns at once, as the red-team
  pass did; the runtime stops them as the cell ends.

    .venv/bin/python benchmarks/sandbox_contention.py [--reps 5] [--spinners 100]

Prints a table and writes benchmarks/results/sandbox_contention.json.
Target: beside a spinning sandbox, at most 1.5x their time alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from offline_assistants import Client  # noqa: E402
from offline_assistants.tools.code_interpreter import SandboxedKernel, SandboxLimits  # noqa: E402
from offline_assistants.tools.code_interpreter.budget import probe_cgroups  # noqa: E402

RESULTS = HERE / "results"
WORK = "print(sum(i * i for i in range(3_000_000)))"
SPIN = """
import os
for _ in range({spinners}):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
"""
WAIT = "import os, time\nwhile not os.path.exists('/mnt/data/stop'):\n    time.sleep(0.05)\n"


def timed(action: Callable[[], object], reps: int) -> float:
    took = []
    for _ in range(reps):
        started = time.perf_counter()
        action()
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def measure(
    scratch: Path, client: Client, spinners: int, reps: int, budgeted: bool, left: bool
) -> dict[str, Any]:
    parent = probe_cgroups()
    limits = SandboxLimits() if budgeted else SandboxLimits(nice=0)
    cgroups = parent if budgeted or parent is None else dataclasses.replace(parent, cpu=False)
    if parent is not None and not budgeted and parent.version == 1:
        cgroups = dataclasses.replace(parent, directories=parent.directories[:2], cpu=False)

    def chat() -> None:
        client.chat.completions.create(
            model="default",
            messages=[{"role": "user", "content": "Count from 1 to 100, separated by commas."}],
            max_completion_tokens=64,
            temperature=0,
        )

    with (
        SandboxedKernel(scratch / "a", limits=limits, cgroups=cgroups) as a,
        SandboxedKernel(scratch / "b", limits=limits, cgroups=cgroups) as b,
    ):

        def cell() -> None:
            assert b.execute(WORK).status == "ok"

        cell_alone, chat_alone = timed(cell, reps), timed(chat, reps)
        code = SPIN.format(spinners=spinners) + ("" if left else WAIT)
        spinning = threading.Thread(target=a.execute, args=(code, 600.0))
        spinning.start()
        time.sleep(1.0)  # the spinners are up (or, left running, already stopped)
        cell_beside, chat_beside = timed(cell, reps), timed(chat, reps)
        (a.workdir / "stop").touch()
        spinning.join()
    return {
        "cell_alone_s": cell_alone,
        "cell_beside_s": cell_beside,
        "cell_ratio": cell_beside / cell_alone,
        "chat_alone_s": chat_alone,
        "chat_beside_s": chat_beside,
        "chat_ratio": chat_beside / chat_alone,
        "cpu_controller": bool(cgroups is not None and cgroups.cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timings of each, medians")
    parser.add_argument("--spinners", type=int, default=100, help="processes sandbox A spins")
    args = parser.parse_args()
    cases = {
        "spinning, budgeted": (True, False),
        "spinning, unbudgeted": (False, False),
        "left running": (True, True),
    }
    results: dict[str, Any] = {"spinners": args.spinners, "reps": args.reps, "cases": {}}
    with tempfile.TemporaryDirectory() as scratch, Client(data_dir=Path(scratch) / "d") as client:
        client.chat.completions.create(  # loads the model
            model="default", messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=4
        )
        for name, (budgeted, left) in cases.items():
            where = Path(scratch) / name.replace(", ", "-").replace(" ", "-")
            results["cases"][name] = measure(
                where, client, args.spinners, args.reps, budgeted, left
            )
    print(f"beside a sandbox spinning {args.spinners} processes, medians of {args.reps}:")
    print(
        f"{'case':>22} {'cell':>7} {'beside':>7} {'ratio':>6} {'chat':>7} {'beside':>7} {'ratio':>6}"
    )
    for name, r in results["cases"].items():
        print(
            f"{name:>22} {r['cell_alone_s']:>6.2f}s {r['cell_beside_s']:>6.2f}s "
            f"{r['cell_ratio']:>6.2f} {r['chat_alone_s']:>6.2f}s {r['chat_beside_s']:>6.2f}s "
            f"{r['chat_ratio']:>6.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sandbox_contention.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
