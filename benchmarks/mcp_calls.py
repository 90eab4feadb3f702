"""What an MCP call costs: the runtime calling a local MCP server, beside the app doing the same.

Two arms, alternating, ``--reps`` times each, one server process (the default model,
temperature 0, the server on 127.0.0.1):

- ``mcp``: one Responses request with the stdio server's ``add`` tool (the test
  server, tests/mcp_servers/notes_server.py, declared as ``--mcp notes=...``), the
  call forced, ``require_approval: never``: the runtime makes the call and the
  model answers after it;
- ``function``: the same tool declared as a function, forced; the app computes the
  sum and sends it back as ``function_call_output`` with ``previous_response_id``,
  and the model answers after it (two requests, as an app does it).

Both generate the same call and an answer within the same ``--tokens`` (the
function arm's second request gets what its first left), so the difference is
what the MCP path adds per call. Also timed: the bare call (``McpClients.call_tool``
on the kept-alive stdio server and on the same server over Streamable HTTP),
``--calls`` times each.

    .venv/bin/python benchmarks/mcp_calls.py [--reps 7] [--tokens 64] [--calls 200]

Prints a table and writes benchmarks/results/mcp_calls.json.
Target: an MCP call's overhead over the app's function tool at most 50 ms.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))  # tests/mcp_servers: the notes server and its helpers
SERVER = HERE.parent / "tests" / "mcp_servers" / "notes_server.py"
RESULTS = HERE / "results"
QUESTION = "What is 12 plus 30? Use the add tool."
# The tool exactly as the MCP arm offers it (the server's listing, closed to its arguments).
SCHEMA = {
    "additionalProperties": False,
    "type": "object",
    "properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}},
    "required": ["a", "b"],
    "title": "addArguments",
}
DESCRIPTION = "Add two whole numbers."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="requests per arm")
    parser.add_argument("--tokens", type=int, default=64, help="output tokens, call and answer")
    parser.add_argument("--calls", type=int, default=200, help="bare MCP calls per transport")
    args = parser.parse_args()

    import openai

    from offline_assistants.config import Settings
    from offline_assistants.server import create_app
    from offline_assistants.server.background import BackgroundServer
    from offline_assistants.service import Runtime
    from offline_assistants.tools.mcp import McpClients
    from offline_assistants.tools.mcp.declared import declared_servers

    command = f"{sys.executable} {SERVER} stdio"
    times: dict[str, list[float]] = {"mcp": [], "function": []}
    tokens: dict[str, list[int]] = {"mcp": [], "function": []}
    with tempfile.TemporaryDirectory() as folder:
        settings = dataclasses.replace(
            Settings.from_env(data_dir=Path(folder) / "data"),
            mcp_commands=(("notes", command),),
            response_temperature=0.0,
        )
        runtime = Runtime(settings)
        try:
            with BackgroundServer(create_app(runtime)) as served:
                client = openai.OpenAI(base_url=served.base_url, api_key="local", max_retries=0)
                for rep in range(args.reps + 1):  # the first round warms up, unrecorded
                    for arm in ("mcp", "function"):
                        started = time.perf_counter()
                        used = (_mcp if arm == "mcp" else _function)(client, args.tokens)
                        if rep:
                            times[arm].append(time.perf_counter() - started)
                            tokens[arm].append(used)
        finally:
            runtime.close()
    bare = _bare_calls(McpClients, declared_servers([("notes", command)], None), args.calls)
    report = {
        "reps": args.reps,
        "tokens": args.tokens,
        "median_s": {arm: statistics.median(values) for arm, values in times.items()},
        "all_s": times,
        "output_tokens": tokens,
        "bare_call_ms": bare,
    }
    overhead = (report["median_s"]["mcp"] - report["median_s"]["function"]) * 1000
    report["mcp_overhead_ms"] = overhead
    print(f"| arm | median s ({args.reps} reps) | output tokens |\n|---|---|---|")
    for arm, value in report["median_s"].items():
        print(f"| {arm} | {value:.3f} | {sorted(set(tokens[arm]))} |")
    print(f"\nMCP call over the app's function tool: {overhead:+.0f} ms (target at most +50 ms)")
    for transport, stats in bare.items():
        print(
            f"bare call over {transport}: median {stats['median']:.1f} ms, "
            f"p95 {stats['p95']:.1f} ms ({args.calls} calls)"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mcp_calls.json").write_text(json.dumps(report, indent=1))


def _mcp(client: Any, tokens: int) -> int:
    response = client.responses.create(
        model="default",
        input=QUESTION,
        tools=[
            {
                "type": "mcp",
                "server_label": "notes",
                "require_approval": "never",
                "allowed_tools": ["add"],
            }
        ],
        tool_choice={"type": "mcp", "server_label": "notes", "name": "add"},
        max_output_tokens=tokens,
    )
    assert any(item.type == "mcp_call" and item.output for item in response.output), response
    return int(response.usage.output_tokens)


def _function(client: Any, tokens: int) -> int:
    tool = {"type": "function", "name": "add", "description": DESCRIPTION, "parameters": SCHEMA}
    first = client.responses.create(
        model="default",
        input=QUESTION,
        tools=[tool],
        tool_choice={"type": "function", "name": "add"},
        max_output_tokens=tokens,
    )
    assert first.usage is not None
    call = next(item for item in first.output if item.type == "function_call")
    arguments = json.loads(call.arguments)
    second = client.responses.create(
        model="default",
        previous_response_id=first.id,
        input=[
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": str(arguments["a"] + arguments["b"]),
            }
        ],
        tools=[tool],
        max_output_tokens=max(16, tokens - first.usage.output_tokens),
    )
    return int(first.usage.output_tokens + second.usage.output_tokens)


def _bare_calls(clients_type: Any, declared: Any, calls: int) -> dict[str, dict[str, float]]:
    """Milliseconds per ``add`` call, stdio (kept alive) and Streamable HTTP (per request)."""
    from tests.mcp_servers import listening

    clients = clients_type(declared)
    found: dict[str, dict[str, float]] = {}
    try:
        with listening("http") as port:
            for transport, url in (("stdio", None), ("http", f"http://127.0.0.1:{port}/mcp")):
                clients.call_tool("notes", url, None, "add", {"a": 1, "b": 2})  # started, warmed
                spent = []
                for n in range(calls):
                    started = time.perf_counter()
                    outcome = clients.call_tool("notes", url, None, "add", {"a": n, "b": 1})
                    spent.append((time.perf_counter() - started) * 1000)
                    assert outcome.output == str(n + 1), outcome
                spent.sort()
                found[transport] = {
                    "median": statistics.median(spent),
                    "p95": spent[int(0.95 * (len(spent) - 1))],
                }
    finally:
        clients.close()
    return found


if __name__ == "__main__":
    main()
