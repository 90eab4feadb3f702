"""``offline-assistants``: the command line. ``serve`` runs the OpenAI-compatible HTTP server."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from collections.abc import Sequence

from .config import Settings
from .errors import OfflineAssistantsError
from .server.security import LOOPBACK_HOSTS


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
            'OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="local").'
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
        "--data-dir",
        help="where the database lives (default: $OFFLINE_ASSISTANTS_DATA_DIR or the per-user data dir)",
    )
    serve.add_argument(
        "--api-key",
        help="require 'Authorization: Bearer KEY' on every request (required off loopback)",
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
    serve.add_argument("--log-level", default="info", help="uvicorn log level")
    return parser


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import create_app
    from .service import Runtime

    if not is_loopback(args.host) and not args.api_key:
        print(
            f"offline-assistants: refusing to bind {args.host} without --api-key: anyone who can "
            "reach it could use your models and read your threads.",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_env(data_dir=args.data_dir, default_model=args.model)
    try:
        runtime = Runtime(settings)
    except OfflineAssistantsError as exc:
        print(f"offline-assistants: {exc.message}", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        runtime.close()
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
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"offline-assistants: data in {settings.data_dir}, default model {settings.default_model.name}\n"
        f'offline-assistants: OpenAI(base_url="http://{shown}:{port}/v1", api_key="...")',
        file=sys.stderr,
        flush=True,
    )
    uvicorn.Server(uvicorn.Config(app, log_level=args.log_level)).run(sockets=[sock])
    return 0


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
    return 2  # pragma: no cover - argparse enforces the command


if __name__ == "__main__":
    sys.exit(main())
