"""Codex CLI against the server: its first token beside the same request sent plainly.

    .venv/bin/python benchmarks/codex.py [--reps 3] [--model PATH]

Serves the runtime on 127.0.0.1 behind a small timing proxy (also on 127.0.0.1) and
runs ``codex exec`` (the Node clients cache's ``@openai/codex``, set-up installs it)
with the small-window config the README shows. The proxy records each
``POST /v1/responses`` body Codex sends and the time from the request's first byte
to the first ``response.output_text.delta`` that passes back. Then the very body
Codex sent is posted straight to the server (``stream: true``, read to the first
delta), the two taken in turns, ``--reps`` times each; every request is a new
conversation (``store: false``), so neither inherits the other's prompt state.

Reported: Codex's time to first token (at the proxy), the plain request's, their
ratio (target: at most 1.2x), Codex's whole ``exec`` wall time, and the prompt's
length. Writes benchmarks/results/codex.json.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))


class TimingProxy:
    """Forwards to ``upstream``; for each streamed POST /responses, the body and the
    seconds from its arrival to the first text delta passing back."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: list[tuple[dict[str, Any], float | None]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                started = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                first: float | None = None
                with httpx.stream(
                    "POST", proxy.upstream + self.path.removeprefix("/v1"), content=body,
                    headers={"content-type": "application/json"}, timeout=600,
                ) as reply:  # fmt: skip
                    self.send_response(reply.status_code)
                    self.send_header("content-type", reply.headers.get("content-type", ""))
                    self.end_headers()
                    for chunk in reply.iter_raw():
                        if first is None and b"response.output_text.delta" in chunk:
                            first = time.perf_counter() - started
                        self.wfile.write(chunk)
                        self.wfile.flush()
                if self.path.endswith("/responses"):
                    proxy.seen.append((json.loads(body), first))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def plain_first_token(url: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    with httpx.stream("POST", url + "/responses", json={**body, "stream": True}, timeout=600) as r:
        for line in r.iter_lines():
            if "response.output_text.delta" in line:
                return time.perf_counter() - started
    raise RuntimeError("the plain request wrote no text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()

    from tests.contract_clients import SMALL_MODEL, codex_binary
    from tests.http_harness import serving

    from offline_assistants.config import Settings
    from offline_assistants.engine.engine_cache import llama_factory

    settings = Settings.from_env()
    engine = llama_factory(settings, progress=False)(args.model or settings.default_model)
    codex = codex_binary()
    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp) / "data", engine) as (_, url):
        home, work = Path(tmp) / "codex", Path(tmp) / "work"
        home.mkdir()
        work.mkdir()
        (home / "instructions.md").write_text("You are Codex, a coding agent. Answer briefly.\n")
        proxy = TimingProxy(url)
        config = SMALL_MODEL.format(
            instructions=home / "instructions.md",
            base_url=proxy.url,
            compact_at=6000,
            websockets="false",
        )
        (home / "config.toml").write_text(config)
        env = {**os.environ, "CODEX_HOME": str(home)}
        codex_ttft: list[float] = []
        plain_ttft: list[float] = []
        walls: list[float] = []
        tokens = 0
        for rep in range(args.reps):
            started = time.perf_counter()
            done = subprocess.run(
                [str(codex), "exec", "--skip-git-repo-check", "--json", f"Say hello ({rep})."],
                cwd=work, env=env, capture_output=True, text=True, timeout=600,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"codex exec failed: {done.stderr[-2000:]}")
            body, first = proxy.seen[-1]
            if first is not None:
                codex_ttft.append(first)
            plain_ttft.append(plain_first_token(url, body))
            for line in done.stdout.splitlines():
                if '"turn.completed"' in line:
                    tokens = json.loads(line)["usage"]["input_tokens"]
        ours, plain = statistics.median(codex_ttft), statistics.median(plain_ttft)
        result = {
            "reps": args.reps,
            "prompt_tokens": tokens,
            "codex_ttft_s": ours,
            "plain_ttft_s": plain,
            "ratio": ours / plain,
            "codex_exec_wall_s": statistics.median(walls),
            "target": "ratio <= 1.2",
        }
    out = HERE / "results" / "codex.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"prompt {tokens} tokens; first token: codex {ours:.2f} s, plain {plain:.2f} s, "
          f"ratio {ours / plain:.2f} (target <= 1.2); codex exec {result['codex_exec_wall_s']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
