"""How the server hands out the Dashboard (no browser): the files, their headers, the key,
and ``GET /v1/threads``, the listing the Threads page reads (both faces).

Every request goes to a server the test started on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from offline_assistants.api.threads import Threads
from offline_assistants.config import Settings
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.errors import InvalidRequestError
from offline_assistants.server import create_app
from offline_assistants.server.routes.dashboard import dashboard_files
from offline_assistants.service import Runtime

from .http_harness import running_server

KEY = "s3cret"


@pytest.fixture
def runtime(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[Runtime]:
    rt = Runtime(
        Settings.from_env(data_dir=tmp_path / "data"), engine_factory=lambda p: real_engine
    )
    yield rt
    rt.close()


@pytest.fixture
def origin(runtime: Runtime) -> Iterator[str]:
    with running_server(create_app(runtime, api_key=KEY, close_runtime=False)) as url:
        yield url.removesuffix("/v1")


def test_the_page_and_its_files_are_served_without_the_key(origin: str) -> None:
    page = httpx2.get(origin + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    linked = re.findall(r'(?:href|src)="/dashboard/([^"]+)"', page.text)
    assert {"style.css", "js/main.js", "favicon.svg"} <= set(linked)
    names = dashboard_files()
    assert {"index.html", "js/api.js", "js/playground.js"} <= set(names)
    for name in names:
        response = httpx2.get(f"{origin}/dashboard/{name}")
        assert response.status_code == 200, name
        assert response.content == names[name].read_bytes()
    assert (
        httpx2.get(f"{origin}/dashboard/js/main.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    # The API itself still wants the key.
    assert httpx2.get(origin + "/v1/assistants").status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/dashboard/missing.js", "/dashboard/%2e%2e/pyproject.toml", "/dashboard/js", "/dashboard/"],
)
def test_nothing_else_is_served(origin: str, path: str) -> None:
    response = httpx2.get(origin + path, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_page_loads_nothing_from_off_the_machine() -> None:
    for name, path in dashboard_files().items():
        text = path.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name only
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), name
        assert not re.search(r"\.innerHTML|insertAdjacentHTML|document\.write", text), (
            name
        )  # text nodes only


def test_threads_are_listed_newest_first(runtime: Runtime, origin: str) -> None:
    threads = Threads(runtime)  # the Python face, on the server's own runtime
    made = [threads.create().id for _ in range(3)]
    assert [t.id for t in threads.list()] == made[::-1]
    first = threads.list(limit=2)
    assert [t.id for t in first.data] == made[:0:-1] and first.has_more
    assert [t.id for t in threads.list(order="asc", after=made[0])] == made[1:]
    with pytest.raises(InvalidRequestError) as info:
        threads.list(limit=0)
    assert info.value.param == "limit"
    auth = {"Authorization": f"Bearer {KEY}"}
    page = httpx2.get(origin + "/v1/threads?limit=2", headers=auth).json()
    assert page["object"] == "list" and [t["id"] for t in page["data"]] == made[:0:-1]
    assert page["has_more"] is True and page["last_id"] == made[1]
    bad = httpx2.get(origin + "/v1/threads?order=sideways", headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "order"


def test_the_wheel_carries_the_page(tmp_path: Path) -> None:
    """An installed package serves the page too: every Dashboard file is in the wheel."""
    root = Path(__file__).resolve().parents[1]
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(tmp_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"offline_assistants/dashboard/{name}" for name in dashboard_files()}
    assert expected <= packed, expected - packed
