"""The Playground against the official SDK: what the web page adds to a streamed answer.

The same question (new thread, the Math Tutor, temperature 0, up to 32 tokens) goes
through the official ``openai`` client (``threads.create``, ``messages.create``,
``runs.create(stream=True)`` read to the end) and through the Playground in headless
Chromium (the page does the same three calls with ``fetch``), taken in turns against one
server with the real model. Both are timed from the send to the first text delta (TTFT)
and to the end of the run; the page is timed inside the page (``performance.now()`` at
the click, a MutationObserver for the first text and the final status). Also: how long
the page takes to load and draw the Playground. Each pass repeats with ``--busy``
processes spinning on the cores. Both ways must write the same text.

    .venv/bin/python benchmarks/dashboard.py [--reps 10] [--busy 0 1] [--model PATH]

Needs Chromium (Debian's ``chromium``, or OFFLINE_ASSISTANTS_CHROMIUM) and Playwright.
Writes benchmarks/results/dashboard.json. Target: page / SDK TTFT within 1.10x.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import openai
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from benchmarks.engine_settings import busy  # noqa: E402

from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.server import create_app  # noqa: E402
from offline_assistants.server.background import BackgroundServer  # noqa: E402
from offline_assistants.service import Runtime  # noqa: E402

RESULTS = HERE / "results"
INSTRUCTIONS = "You are a personal math tutor. Answer questions briefly, in a sentence or less."
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
TOKENS = 32
# Chromium kept off the network (as tests/browser.py launches it).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
# Clicks Send and records, in page time, the first text and the run's end.
SEND = """() => new Promise(resolve => {
  const box = document.getElementById("pg-messages");
  const t = { start: performance.now(), first: null };
  const observer = new MutationObserver(() => {
    const text = box.querySelector(".message.assistant .text");
    if (t.first === null && text && text.textContent.length) t.first = performance.now();
    const status = document.getElementById("pg-run-details")?.dataset.status;
    if (["completed", "incomplete", "failed"].includes(status) && !document.getElementById("pg-send").disabled) {
      observer.disconnect();
      resolve({ ttft: (t.first - t.start) / 1000, total: (performance.now() - t.start) / 1000, status,
                thread: document.querySelector("#pg-thread a").textContent });
    }
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  document.getElementById("pg-send").click();
})"""


def through_sdk(sdk: openai.OpenAI, assistant_id: str) -> tuple[float, float, str]:
    started = time.perf_counter()
    first = None
    thread = sdk.beta.threads.create()
    sdk.beta.threads.messages.create(thread.id, role="user", content=QUESTION)
    stream = sdk.beta.threads.runs.create(
        thread.id, assistant_id=assistant_id, stream=True, max_completion_tokens=TOKENS
    )
    for event in stream:
        if first is None and event.event == "thread.message.delta":
            first = time.perf_counter()
    total = time.perf_counter() - started
    text = sdk.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value  # type: ignore[union-attr]
    return (first or started) - started, total, text


def through_page(page: Any, sdk: openai.OpenAI) -> tuple[float, float, str]:
    page.click("#pg-new-thread")
    page.fill("#pg-input", QUESTION)
    timed = page.evaluate(SEND)
    text = sdk.beta.threads.messages.list(timed["thread"], limit=1).data[0].content[0].text.value  # type: ignore[union-attr]
    return timed["ttft"], timed["total"], text


def one_pass(origin: str, browser: Any, reps: int, load: int) -> dict[str, Any]:
    sdk = openai.OpenAI(base_url=f"{origin}/v1", api_key="local", max_retries=0)
    tutor = sdk.beta.assistants.create(model="default", instructions=INSTRUCTIONS, temperature=0)
    page = browser.new_page()
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        page.goto(f"{origin}/#/playground?assistant={tutor.id}&max_tokens={TOKENS}")
        page.wait_for_selector("#pg-input")
        loads.append(time.perf_counter() - started)
    times: dict[str, dict[str, list[float]]] = {
        w: {"ttft": [], "total": []} for w in ("sdk", "page")
    }
    texts: dict[str, set[str]] = {"sdk": set(), "page": set()}
    through_sdk(sdk, tutor.id)  # warm-up: the model's first prompt
    for _ in tqdm(range(reps), desc=f"sdk / page, {load} busy", unit="rep"):
        for way in ("sdk", "page"):
            ttft, total, text = (
                through_sdk(sdk, tutor.id) if way == "sdk" else through_page(page, sdk)
            )
            times[way]["ttft"].append(ttft)
            times[way]["total"].append(total)
            texts[way].add(text)
    page.close()
    median = {w: {k: statistics.median(v) for k, v in m.items()} for w, m in times.items()}
    return {
        "busy": load,
        "page_load_s": {"first": loads[0], "median_later": statistics.median(loads[1:])},
        "median_s": median,
        "ttft_ratio_page_over_sdk": median["page"]["ttft"] / median["sdk"]["ttft"],
        "total_ratio_page_over_sdk": median["page"]["total"] / median["sdk"]["total"],
        "same_text": texts["sdk"] == texts["page"] and len(texts["sdk"]) == 1,
        "samples_s": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10, help="questions each way, per pass")
    parser.add_argument(
        "--busy", type=int, nargs="+", default=[0, 1], help="spinning processes, per pass"
    )
    parser.add_argument("--model", type=Path, help="GGUF behind model='default'")
    args = parser.parse_args()
    chromium = os.environ.get("OFFLINE_ASSISTANTS_CHROMIUM") or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("dashboard: Playwright is missing: pip install -e '.[dev]' (scripts/setup does)")
    if not chromium:
        sys.exit(
            "dashboard: no Chromium: apt-get install chromium, or set OFFLINE_ASSISTANTS_CHROMIUM"
        )
    passes = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        settings = Settings.from_env(data_dir=Path(tmp) / "data")
        if args.model:
            settings = dataclasses.replace(settings, default_model=args.model)
        runtime = Runtime(settings)
        with BackgroundServer(create_app(runtime)) as server:
            origin = server.base_url.removesuffix("/v1")
            for load in args.busy:
                with busy(load):
                    passes.append(one_pass(origin, browser, args.reps, load))
        runtime.close()
        browser.close()
    result = {
        "model": settings.default_model.name,
        "reps": args.reps,
        "tokens": TOKENS,
        "passes": passes,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(result, indent=2))
    print(f"\n{'busy':>4} {'TTFT sdk':>9} {'TTFT page':>10} {'ratio':>6} {'total sdk':>10} "
          f"{'total page':>11} {'ratio':>6} {'same text':>9} {'page load':>10}")  # fmt: skip
    for p in passes:
        m = p["median_s"]
        print(
            f"{p['busy']:>4} {m['sdk']['ttft'] * 1000:>7.0f}ms {m['page']['ttft'] * 1000:>8.0f}ms "
            f"{p['ttft_ratio_page_over_sdk']:>6.3f} {m['sdk']['total'] * 1000:>8.0f}ms "
            f"{m['page']['total'] * 1000:>9.0f}ms {p['total_ratio_page_over_sdk']:>6.3f} "
            f"{str(p['same_text']):>9} {p['page_load_s']['median_later'] * 1000:>8.0f}ms"
        )
    print(f"results in {RESULTS / 'dashboard.json'}")


if __name__ == "__main__":
    main()
