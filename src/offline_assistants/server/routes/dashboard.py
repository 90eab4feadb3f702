"""The Dashboard and Playground page: ``GET /`` and its static files under ``/dashboard/``.

The page is plain HTML, CSS and JavaScript modules shipped inside the package
(``offline_assistants/dashboard/``), with no build step. It is a client of this
server's own ``/v1`` API like any other, so these routes only hand out files:
only names found in that folder at start-up are served (no path from the request
ever reaches the file system). The Content-Security-Policy lets the page load
and connect to this origin only: nothing it does can reach off the machine.
These routes are left out of the OpenAPI schema, and the Guard lets them through
without the API key (the page asks for the key itself; it holds no data).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ...errors import NotFoundError

PREFIX = "/dashboard/"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


def dashboard_files() -> dict[str, Path]:
    """The page's files by their path under the folder, e.g. ``js/api.js``."""
    root = Path(str(files("offline_assistants") / "dashboard"))
    return {
        path.relative_to(root).as_posix(): path
        for path in root.rglob("*")
        if path.is_file() and path.suffix in TYPES
    }


def is_public(method: str, path: str) -> bool:
    """Whether a request is for the page itself (served without the API key)."""
    return method in ("GET", "HEAD") and (path == "/" or path.startswith(PREFIX))


def make_router() -> APIRouter:
    known = dashboard_files()
    router = APIRouter(include_in_schema=False)

    def serve(name: str) -> FileResponse:
        path = known.get(name)
        if path is None:
            raise NotFoundError(f"No such Dashboard file: '{name}'.")
        return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)

    @router.get("/")
    def index() -> FileResponse:
        return serve("index.html")

    @router.get(PREFIX + "{name:path}")
    def asset(name: str) -> FileResponse:
        return serve(name)

    return router
