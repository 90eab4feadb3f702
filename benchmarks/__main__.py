"""Every benchmark, one after the other, then one table, latest.json and a Markdown report.

    .venv/bin/python -m benchmarks [--model PATH] [--only NAME ...] [--report-only]
    (or: scripts/bench with the same options)

Each benchmark runs as its own process (its progress bar and table show as it goes) and
writes benchmarks/results/<name>.json; ``--model`` goes to those that load a model, so
the suite compares any GGUF you own. Afterwards this collects the results into
benchmarks/results/latest.json, prints the key figures against their targets, and writes
benchmarks/results/report.md (with ttft_by_turn.png, the time to first token by turn).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# name: (takes --model, arguments that keep it to a few minutes)
SUITE: dict[str, tuple[bool, list[str]]] = {
    "engine_settings": (True, []),
    "run_latency": (True, []),
    "turn_latency": (True, []),
    "store_ops": (True, []),
    "tool_calls": (True, ["--sample", "16"]),
    "server": (False, ["--reps", "5"]),
    "code_interpreter": (False, []),
    "retrieval": (False, []),
    "run_length": (True, []),
    "parallel_runs": (
        True,
        ["--parallel", "1", "4", "--busy", "0", "--sweep", "1", "2", "4", "8", "16"],
    ),
    "new_threads": (True, ["--threads", "8", "--busy", "0"]),
    "cold_start": (True, ["--reps", "3"]),
    "responses": (True, ["--reps", "5"]),
    "codex": (True, ["--reps", "3"]),
    "dashboard": (True, ["--reps", "5", "--busy", "0"]),
    "remote_engine": (True, ["--reps", "5", "--busy", "0"]),
}
Row = tuple[str, str, str]  # (measure, value, target and whether it is met)


def _met(ok: bool, target: str) -> str:
    return f"{target}: {'met' if ok else 'NOT met'}"


def _engine(r: dict[str, Any]) -> list[Row]:
    ours = r["ours_vs_raw"]
    return [
        ("prompt tok/s, ours / raw", f"{ours['ours_prompt_tokens_per_s']:.0f} / {ours['raw_prompt_tokens_per_s']:.0f}", f"ratio {ours['prompt_ratio']:.2f}"),
        ("generation tok/s, ours / raw", f"{ours['ours_generate_tokens_per_s']:.1f} / {ours['raw_generate_tokens_per_s']:.1f}", _met(ours["generate_ratio"] >= 0.95, f"ratio {ours['generate_ratio']:.2f} >= 0.95")),
    ]  # fmt: skip


def _run_latency(r: dict[str, Any]) -> list[Row]:
    return [
        (f"run wall / raw generation ({name})", f"{c['run_median_s']:.3f} s / {c['raw_median_s']:.3f} s", _met(c["ratio_run_over_raw"] <= 1.05, f"ratio {c['ratio_run_over_raw']:.3f} <= 1.05"))
        for name, c in r["cases"].items()
    ]  # fmt: skip


def _turns(r: dict[str, Any]) -> list[Row]:
    on, off = r["ttft_ms_reuse_on"], r["ttft_ms_reuse_off"]
    growth = r["growth_turn_last_over_first_reuse_on"]
    return [
        (f"TTFT turn 1 -> {r['turns']}, reuse on", f"{on[0]:.0f} -> {on[-1]:.0f} ms", _met(growth <= 1.3, f"{growth:.2f}x <= 1.3x")),
        (f"TTFT turn 1 -> {r['turns']}, reuse off", f"{off[0]:.0f} -> {off[-1]:.0f} ms", f"{r['growth_turn_last_over_first_reuse_off']:.2f}x"),
        ("same answers with and without reuse", "yes" if r["identical_answers"] else "NO", _met(r["identical_answers"], "required")),
    ]  # fmt: skip


def _store(r: dict[str, Any]) -> list[Row]:
    rows = []
    for name, op in r["ops"].items():
        target = _met(op["p50_ms"] < 10, "< 10 ms") if name == "list 100 messages" else ""
        rows.append((f"{name} p50 / p95", f"{op['p50_ms']:.2f} / {op['p95_ms']:.2f} ms", target))
    return rows


def _tools(r: dict[str, Any]) -> list[Row]:
    summary = r["summary"]
    valid = summary["parse_and_validate_rate"]
    return [
        (f"tool calls valid ({summary['prompts']} prompts)", f"{valid:.2f}", _met(valid == 1.0, "1.00")),
        ("tool calls: expected function chosen", f"{summary['expected_function_rate']:.2f}", ""),
        (f"grammar: constrained / free time ({summary.get('vocabulary', '?')}-token vocabulary)", f"{summary['median_constrained_over_unconstrained']:.2f}x", ""),
    ]  # fmt: skip


def _server(r: dict[str, Any]) -> list[Row]:
    ttft, burst = r["ttft"], r["burst"]
    return [
        ("TTFT over HTTP / in process", f"{ttft['http_p50_ms']:.0f} / {ttft['in_process_p50_ms']:.0f} ms", f"ratio {ttft['http_over_in_process']:.2f}"),
        (f"{burst['clients']} concurrent clients: done, p95", f"{burst['completed']}, {burst['p95_s']:.1f} s", ""),
    ]  # fmt: skip


def _code(r: dict[str, Any]) -> list[Row]:
    p50 = r["rows"]["first cell, new thread, warm pool"]["p50_ms"]
    return [
        ("Code Interpreter first cell (pool) p50", f"{p50:.1f} ms", _met(p50 < 150, "< 150 ms"))
    ]


def _retrieval(r: dict[str, Any]) -> list[Row]:
    e2e = r["search_p50_ms"]["end_to_end"]
    recall = r["recall_crowded"]["recall_at_5"]
    return [
        ("ingestion (warm)", f"{r['pages_per_second']:.2f} pages/s", ""),
        (f"search p50 over {r['total_chunks']} chunks", f"{e2e:.1f} ms", _met(e2e < 50, "< 50 ms")),
        ("recall@5 (crowded store)", f"{recall:.2f}", _met(recall >= 0.8, ">= 0.8")),
    ]  # fmt: skip


def _run_length(r: dict[str, Any]) -> list[Row]:
    s = r["guarded"]["summary"]
    return [
        (f"run with default settings ({s['runs']} requests), median / max", f"{s['median_s']:.1f} / {s['max_s']:.1f} s", _met(s["max_s"] < 60, "max < 60 s")),
        ("completion tokens, median / max", f"{s['median_tokens']:.0f} / {s['max_tokens']}", f"{s['completed']}/{s['runs']} completed"),
    ]  # fmt: skip


def _parallel(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"{row['runs']} runs at once, parallel {row['parallel']}, {row['busy']} busy: one by one / together",
            f"{row['sequential_s']:.1f} / {row['together_s']:.1f} s (mean wait {row['sequential_mean_run_s']:.1f} -> {row['together_mean_run_s']:.1f} s)",
            _met(row["same_text"] == row["runs"], f"same text {row['same_text']}/{row['runs']}"),
        )
        for row in r["rows"]
    ] + [
        (
            f"{r['runs']} at once, {peer['busy']} busy: llama-server, {peer['parallel']} slots / raw llama.cpp batch gain",
            f"speed-up {peer['speedup']:.2f}x, {peer['tokens_per_s_together']:.0f} tok/s / raw {raw['batch_gain']:.2f}x",
            "",
        )
        for peer, raw in zip(r.get("llama_server", []), r.get("raw_llama_cpp", []), strict=True)
    ]  # fmt: skip


def _sweep(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"{p['concurrency']} runs at once on {p['concurrency']} slots: tok/s, ours / llama-server",
            f"{p['ours']['tokens_per_s_together']:.0f} / {p['llama_server']['tokens_per_s_together']:.0f} (p95 {p['ours']['together_p95_run_s']:.2f} / {p['llama_server']['together_p95_run_s']:.2f} s)",
            _met(p["ours"]["tokens_per_s_together"] >= p["llama_server"]["tokens_per_s_together"], "ours >= llama-server"),
        )
        for p in r.get("sweep", [])
    ]  # fmt: skip


def _new_threads(r: dict[str, Any]) -> list[Row]:
    return [
        (f"new-thread TTFT, {p['preamble_tokens']}-token preamble, {busy} busy: ours / llama-server", f"{p['ttft_ms']['shared']:.0f} / {p['ttft_ms']['llama-server']:.0f} ms (all evaluated: {p['ttft_ms']['full']:.0f})", _met(p["shared_vs_llama_server"] <= 1.0, f"{p['shared_vs_llama_server']:.2f}x <= 1.0x"))
        for busy, p in r["runs"].items()
    ]  # fmt: skip


def _cold_start(r: dict[str, Any]) -> list[Row]:
    m, gap = r["median_s"], r["ours_minus_llama_server_s"]
    return [
        ("cold start to the first answer: ours / llama-server", f"{m['ours']:.2f} / {m['llama-server']:.2f} s", _met(gap <= 1.0, f"+{gap:.2f} s <= +1 s")),
    ]  # fmt: skip


def _responses(r: dict[str, Any]) -> list[Row]:
    m, growth = r["median_s"], r["conversation"]["growth_last_over_first"]
    return [
        ("responses.create / runs.create, same prompt", f"{m['response'] * 1000:.0f} / {m['run'] * 1000:.0f} ms", _met(r["ratio_response_over_run"] <= 1.05, f"ratio {r['ratio_response_over_run']:.3f} <= 1.05")),
        ("conversation TTFT, turn 12 / turn 1", f"{growth:.2f}x (reuse off {r['conversation_reuse_off']['growth_last_over_first']:.2f}x)", _met(growth <= 1.3, "<= 1.3x")),
    ]  # fmt: skip


def _codex(r: dict[str, Any]) -> list[Row]:
    return [
        ("Codex first token / the same request plain", f"{r['codex_ttft_s']:.2f} / {r['plain_ttft_s']:.2f} s ({r['prompt_tokens']} tokens)", _met(r["ratio"] <= 1.2, f"ratio {r['ratio']:.2f} <= 1.2")),
    ]  # fmt: skip


def _dashboard(r: dict[str, Any]) -> list[Row]:
    return [
        (f"Playground / SDK TTFT, {p['busy']} busy", f"{p['median_s']['page']['ttft'] * 1000:.0f} / {p['median_s']['sdk']['ttft'] * 1000:.0f} ms", _met(p["ttft_ratio_page_over_sdk"] <= 1.10 and p["same_text"], f"ratio {p['ttft_ratio_page_over_sdk']:.3f} <= 1.10, same text"))
        for p in r["passes"]
    ]  # fmt: skip


def _remote(r: dict[str, Any]) -> list[Row]:
    return [
        (f"remote engine / embedded, {p['busy']} busy", f"TTFT {p['remote']['ttft_s'] * 1000:.0f} / {p['embedded']['ttft_s'] * 1000:.0f} ms, total {p['remote']['total_s'] * 1000:.0f} / {p['embedded']['total_s'] * 1000:.0f} ms", f"same text {p['same_text']} of {r['reps']}")
        for p in r["passes"]
    ]  # fmt: skip


SUMMARIES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "engine_settings": _engine,
    "run_latency": _run_latency,
    "turn_latency": _turns,
    "store_ops": _store,
    "tool_calls": _tools,
    "server": _server,
    "code_interpreter": _code,
    "retrieval": _retrieval,
    "run_length": _run_length,
    "parallel_runs": lambda r: _parallel(r) + _sweep(r),
    "new_threads": _new_threads,
    "cold_start": _cold_start,
    "responses": _responses,
    "codex": _codex,
    "dashboard": _dashboard,
    "remote_engine": _remote,
}


def run(name: str, model: Path | None) -> float:
    takes_model, extra = SUITE[name]
    command = [sys.executable, str(HERE / f"{name}.py"), *extra]
    if model is not None and takes_model:
        command += ["--model", str(model)]
    print(f"\n=== {name} ===", flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def report(results: dict[str, Any], rows: list[tuple[str, Row]], model: str) -> str:
    lines = [
        "# Benchmark report",
        "",
        f"Model `{model}` on {platform.machine()} ({results['cpu_count']} CPUs), "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Produced by `python -m benchmarks`; "
        "every ratio is measured side by side in the same run.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
        *(f"| {name} | {m} | {v} | {t} |" for name, (m, v, t) in rows),
    ]
    engine = results.get("engine_settings")
    if engine:
        best = max(engine["prompt_tokens_per_s_by_batch"].values())
        lines += [
            "",
            "## Engine settings, and why",
            "",
            "| n_batch | prompt tok/s | of best |",
            "|---|---|---|",
            *(
                f"| {k} | {v:.0f} | {v / best:.2f} |"
                for k, v in engine["prompt_tokens_per_s_by_batch"].items()
            ),
            "",
            "The batch is also the granularity of prefix reuse: a thread reuses whole batches "
            "of its previous prompt, so the smallest batch that keeps nearly all of the "
            "speed is chosen.",
            "",
            "| threads | prompt tok/s | generation tok/s |",
            "|---|---|---|",
            *(
                f"| {k} | {v['prompt']:.0f} | {v['generate']:.1f} |"
                for k, v in engine["tokens_per_s_by_threads"].items()
            ),
            "",
            "| cores busy elsewhere | threads | prompt tok/s | generation tok/s |",
            "|---|---|---|---|",
            *(
                f"| {row['busy']} | {row['threads']} | {row['prompt']:.0f} | "
                f"{row['generate']:.1f} |"
                for row in engine.get("threads_under_load", [])
            ),
            "",
            "Threads: every core other programs leave free, measured as the engine works "
            "(`OFFLINE_ASSISTANTS_THREADS` fixes the count). Load "
            f"time with mmap {engine['load_seconds']['mmap'] * 1000:.0f} ms, without "
            f"{engine['load_seconds']['no mmap'] * 1000:.0f} ms: mmap stays on.",
        ]
    if (RESULTS / "ttft_by_turn.png").exists():
        lines += ["", "## Time to first token by turn", "", "![TTFT by turn](ttft_by_turn.png)"]
    if (RESULTS / "concurrency.png").exists():
        lines += [
            "",
            "## Throughput by concurrency, beside llama-server",
            "",
            "![Throughput by concurrency](concurrency.png)",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    parser.add_argument("--only", nargs="+", choices=list(SUITE), help="run just these")
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing: rebuild the report from results/"
    )
    args = parser.parse_args()
    names = [] if args.report_only else args.only or list(SUITE)
    seconds = {name: run(name, args.model) for name in names}
    results: dict[str, Any] = {
        "model": str(args.model or "default"),
        "cpu_count": os.cpu_count(),
        "seconds": seconds,
    }
    rows: list[tuple[str, Row]] = []
    for name in SUITE:
        path = RESULTS / f"{name}.json"
        if path.exists():  # the latest result of each benchmark, run now or before
            results[name] = json.loads(path.read_text())
            rows += [(name, row) for row in SUMMARIES[name](results[name])]
    width = max(len(m) for _, (m, _, _) in rows)
    print(f"\n{'measure':<{width}}  {'value':>26}  target")
    for _, (measure, value, target) in rows:
        print(f"{measure:<{width}}  {value:>26}  {target}")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "report.md").write_text(report(results, rows, results["model"]))
    print(f"\nwrote {RESULTS / 'latest.json'} and {RESULTS / 'report.md'}")


if __name__ == "__main__":
    main()
