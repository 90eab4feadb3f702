"""Servers the scale-out tests start themselves, on 127.0.0.1: a serving engine and Chroma.

``LlamaServer`` runs llama-cpp-python's own OpenAI-compatible server
(``python -m llama_cpp.server``, the ``server`` extra) on a GGUF file;
``ChromaServer`` runs ``chroma run`` on a directory. Both wait until they
answer, can be killed (as a crash would) and started again on the same port,
and stop with the ``with`` block. A missing extra or CLI fails the test with
what to install: the dev extras carry both. Below them, what the tests of a
runtime pointed at such a server share: its settings and a few run helpers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import openai

from offline_assistants.config import Settings

SERVED_NAME = "smollm2"  # the alias the engine serves the default model under
# What llama_cpp.server prints when a client closes a stream mid-answer (it then stops).
DISCONNECTED = "Disconnected from client (via refresh/close)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Process:
    """A server process on 127.0.0.1:``port``, ready once ``ready_path`` answers 200."""

    ready_path = "/"

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 120.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # its log, line by line
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()[:3]} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.origin}{self.ready_path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.command()[:3]} did not answer in {timeout:g} s")

    def said(self, text: str) -> int:
        """How many times the server's log has ``text`` so far."""
        return self.log.read_text(errors="replace").count(text)

    def wait_for(self, text: str, more_than: int, timeout: float = 30.0) -> None:
        """Until the log has ``text`` more than ``more_than`` times."""
        deadline = time.monotonic() + timeout
        while self.said(text) <= more_than:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server never said {text!r}: see {self.log}")
            time.sleep(0.1)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """As a crash would: SIGKILL, no goodbye to open connections."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> _Process:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class LlamaServer(_Process):
    """``llama_cpp.server`` serving ``model`` as ``SERVED_NAME`` with a window of ``n_ctx``."""

    ready_path = "/v1/models"

    def __init__(self, model: Path, log: Path, n_ctx: int = 2048) -> None:
        super().__init__(log)
        self.model = model
        self.n_ctx = n_ctx

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model), "--model_alias", SERVED_NAME,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", "2", "--verbose", "false",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"


class ChromaServer(_Process):
    """``chroma run`` persisting under ``path``."""

    ready_path = "/api/v2/heartbeat"

    def __init__(self, path: Path, log: Path) -> None:
        super().__init__(log)
        self.path = path

    def command(self) -> list[str]:
        chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        return [
            chroma,
            "run",
            "--path",
            str(self.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


def remote_settings(data_dir: Path, url: str, **given: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, engine_url=url, engine_model=SERVED_NAME, **given)


def answer(client: Any, thread_id: str) -> str:
    message = client.beta.threads.messages.list(thread_id=thread_id, order="desc").data[0]
    assert message.role == "assistant"
    return message.content[0].text.value if message.content else ""


def seed_run(client: Any, text: str) -> Any:
    assistant = client.beta.assistants.create(model="default", temperature=0)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=8
    )


def wait_for_text(client: Any, thread_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = client.beta.threads.messages.list(thread_id=thread_id, order="desc").data
        if messages[0].role == "assistant" and messages[0].content:
            return
        time.sleep(0.1)
    raise AssertionError("the engine wrote nothing in time")


def poll_until_done(client: Any, thread_id: str, run_id: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id)
        if run.status not in ("queued", "in_progress", "cancelling"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout:g} s")


def announced(server: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """The base_url ``offline-assistants serve`` prints at start, and the lines up to it."""
    assert server.stderr is not None
    said = []
    for line in server.stderr:
        said.append(line)
        if "base_url=" in line:
            return line.split('base_url="')[1].split('"')[0], said
    raise AssertionError(f"the server ended without saying where it listens: {said}")


def wait_until_up(sdk: openai.OpenAI, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            sdk.beta.assistants.list()
            return
        except openai.APIConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
