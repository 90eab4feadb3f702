"""The HTTP server's own behaviour: error envelopes, Host allowlist, API key, CORS, headers, CLI.

Every request here goes to a server the test itself started on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from offline_assistants.config import Settings
from offline_assistants.engine import Engine
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.server import create_app
from offline_assistants.service import Runtime

from .http_harness import running_server


@pytest.fixture
def runtime(tmp_path: Path, real_engine: LlamaEngine) -> Iterator[Runtime]:
    def shared(path: Path) -> Engine:
        return real_engine

    rt = Runtime(Settings.from_env(data_dir=tmp_path / "data"), engine_factory=shared)
    yield rt
    rt.close()


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    with running_server(create_app(runtime, close_runtime=False)) as url:
        yield url


def error(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


def test_malformed_and_wrong_input_are_400s(base_url: str) -> None:
    cases = [
        ("post", "/assistants", {"content": b"{not json"}, None, "could not parse the JSON"),
        ("post", "/assistants", {"content": b"[1, 2]"}, None, "must be a JSON object"),
        ("post", "/assistants", {"json": {}}, "model", "Missing required parameter"),
        ("post", "/assistants", {"json": {"model": "default", "temperature": "hot"}}, "temperature", "expected a number"),
        ("post", "/assistants", {"json": {"model": "default", "colour": "red"}}, "colour", "Unrecognized request argument"),
        ("post", "/threads", {"json": {"messages": "hello"}}, None, "messages"),
        ("get", "/assistants?limit=abc", {}, "limit", "Invalid 'limit'"),
        ("get", "/assistants?limit=1000", {}, "limit", "from 1 to 100"),
        ("get", "/assistants?order=sideways", {}, "order", "'asc' or 'desc'"),
    ]  # fmt: skip
    for method, path, kwargs, param, fragment in cases:
        response = getattr(httpx2, method)(base_url + path, **kwargs)
        assert response.status_code == 400, (path, response.text)
        body = error(response)
        assert body["type"] == "invalid_request_error"
        assert fragment in body["message"], (path, body)
        if param is not None:
            assert body["param"] == param, (path, body)


def test_unknown_ids_routes_and_methods(base_url: str) -> None:
    for path in ("/assistants/asst_nope", "/threads/thread_nope", "/threads/thread_nope/messages"):
        response = httpx2.get(base_url + path)
        assert response.status_code == 404 and "No " in error(response)["message"]
    response = httpx2.get(base_url + "/nothing/here")
    assert response.status_code == 404 and "Unknown request URL" in error(response)["message"]
    response = httpx2.put(base_url + "/assistants")
    assert response.status_code == 405 and error(response)["type"] == "invalid_request_error"


def test_nothing_changes_when_a_request_fails(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
    assistant = client.beta.assistants.create(model="default", name="keep")
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.update(assistant.id, name="x" * 300)
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.update(assistant.id, extra_body={"unknown": 1})
    assert client.beta.assistants.retrieve(assistant.id).name == "keep"


def test_host_header_allowlist(base_url: str) -> None:
    port = base_url.split(":")[2].split("/")[0]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"):
        assert httpx2.get(base_url + "/assistants", headers={"host": host}).status_code == 200
    for host in ("evil.example", f"evil.example:{port}", "", "127.0.0.1.evil.example"):
        response = httpx2.get(base_url + "/assistants", headers={"host": host})
        assert response.status_code == 400, host
        assert error(response)["code"] == "invalid_host"


def test_api_key_when_configured(runtime: Runtime) -> None:
    with running_server(create_app(runtime, api_key="s3cret", close_runtime=False)) as url:
        with pytest.raises(openai.AuthenticationError) as caught:
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0).beta.assistants.list()
        assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
        assert httpx2.get(url + "/assistants").status_code == 401
        good = openai.OpenAI(base_url=url, api_key="s3cret", max_retries=0)
        assert good.beta.assistants.list().data == []


def test_cors_only_when_configured(runtime: Runtime, base_url: str) -> None:
    origin = {"origin": "http://app.example", "access-control-request-method": "GET"}
    plain = httpx2.options(base_url + "/assistants", headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    with running_server(
        create_app(runtime, cors_origins=["http://app.example"], close_runtime=False)
    ) as url:
        allowed = httpx2.options(url + "/assistants", headers=origin)
        assert allowed.headers.get("access-control-allow-origin") == "http://app.example"


def test_poll_after_header_and_beta_header(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="local", max_retries=0)
    assistant = client.beta.assistants.create(model="default", temperature=0)
    run = client.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        max_completion_tokens=3,
    )
    response = httpx2.get(
        f"{base_url}/threads/{run.thread_id}/runs/{run.id}",
        headers={"OpenAI-Beta": "assistants=v2"},
    )
    assert response.status_code == 200
    assert int(response.headers["openai-poll-after-ms"]) > 0
    client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)


def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline_assistants", *args],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_cli_help() -> None:
    result = cli("serve", "--help")
    assert result.returncode == 0
    for option in ("--model", "--host", "--port", "--data-dir", "--api-key", "127.0.0.1"):
        assert option in result.stdout


def test_cli_refuses_a_public_bind_without_a_key(tmp_path: Path) -> None:
    result = cli("serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "--api-key" in result.stderr


def test_a_second_server_on_the_same_data_dir_gets_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first, url = start_serving(tmp_path, env={})
    try:
        assert httpx2.get(f"{url}/assistants").status_code == 200
        second = cli("serve", "--port", "0", "--data-dir", str(tmp_path / "data"), env=env)
        assert second.returncode == 2
        assert "in use by another offline-assistants process" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(30)


def start_serving(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[Any, str]:
    """``offline-assistants serve`` on a free port; the process and its /v1 base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "offline_assistants", "serve", "--port", "0"]
        + ["--data-dir", str(tmp_path / "data"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )
    assert server.stderr is not None
    url = ""
    for line in server.stderr:  # the server says where it listens: port 0 took a free one
        if "base_url=" in line:
            url = line.split('base_url="')[1].split('"')[0]
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"{url}/models")
            break
        except httpx2.TransportError:
            time.sleep(0.1)
    return server, url


@pytest.mark.parametrize("source", ["environment", "file"])
def test_the_key_kept_out_of_ps_and_out_of_the_log(tmp_path: Path, source: str) -> None:
    """The key from $OFFLINE_ASSISTANTS_API_KEY or --api-key-file (never in argv, where
    ps shows it); a key sent as ?api_key= is refused and never written to the log."""
    key = "sk-local-" + source
    env, args = {}, []
    if source == "environment":
        env["OFFLINE_ASSISTANTS_API_KEY"] = key
    else:
        (tmp_path / "key").write_text(key + "\n")
        args = ["--api-key-file", str(tmp_path / "key")]
    server, url = start_serving(tmp_path, *args, env=env)
    try:
        assert key not in " ".join(server.args)
        assert httpx2.get(f"{url}/models").status_code == 401
        good = httpx2.get(f"{url}/models", headers={"Authorization": f"Bearer {key}"})
        assert good.status_code == 200
        assert httpx2.get(f"{url}/models", params={"api_key": key}).status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    log = out + err  # uvicorn writes its access log to stdout
    assert "/v1/models?api_key=[redacted]" in log, log[-2000:]
    assert key not in log
