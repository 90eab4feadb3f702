"""Codex CLI (``@openai/codex``, unchanged) runs against the server: ``codex exec`` and a resume.

Codex speaks only the Responses API (``wire_api = "responses"``) and sends what the
official SDK never does: an ``id`` on every input message, ``client_metadata``,
``include: ["reasoning.encrypted_content"]``, ``store: false`` with the whole history
replayed each turn, ``namespace`` and ``web_search`` tools, function descriptions past
1,024 characters. Set-up installs it into the Node clients cache (its binary ships in
the npm package); ``CODEX_HOME`` is a temporary folder holding the config.toml the
README shows. Its full preamble (~9k tokens of instructions and tools) does not fit
the default 135M model's 8k window, so the first tests trim it the way the README
tells a user of a small model to; the last sends it whole and expects Codex's own "out
of room" message (the server answers ``context_length_exceeded``), never a 400. Codex's
compaction of a long session (a handoff summary it asks the model for, in a Responses
request of its own) works against the server, but whether the 135M model's summary
ends before its window is the model's luck, so no test asserts it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.service import Runtime

from .contract_clients import SMALL_MODEL, codex_binary
from .http_harness import serving

FULL = """\
model = "default"
model_provider = "offline-assistants"

[model_providers.offline-assistants]
name = "offline-assistants"
base_url = "{base_url}"
wire_api = "responses"
"""


def codex(home: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
    env["CODEX_HOME"] = str(home)
    return subprocess.run(
        [str(codex_binary()), "exec", "--skip-git-repo-check", "--json", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def events(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    found = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def finished(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Assert Codex ended its turn well (exit 0, ``turn.completed``, something shown: an
    answer or a command the model had it run; which of them is the tiny model's choice, at
    the API's default temperature) and return the turn's usage."""
    said = done.stderr[-3000:] + done.stdout[-2000:]
    assert done.returncode == 0, said
    found = events(done)
    usage = [e["usage"] for e in found if e.get("type") == "turn.completed"]
    assert usage, said
    shown = [
        e["item"]
        for e in found
        if e.get("type") == "item.completed" and e["item"].get("type") != "error"
    ]
    assert shown or usage[-1]["output_tokens"] > 0, said
    assert usage[-1]["input_tokens"] > 0
    return usage[-1]


def small_model_home(
    tmp_path: Path, base_url: str, compact_at: int = 6000, websockets: bool = False
) -> Path:
    home = tmp_path / "codex-home"
    home.mkdir()
    instructions = home / "instructions.md"
    instructions.write_text("You are Codex, a coding agent. Answer in one short sentence.\n")
    config = SMALL_MODEL.format(
        instructions=instructions,
        base_url=base_url,
        compact_at=compact_at,
        websockets=str(websockets).lower(),
    )
    (home / "config.toml").write_text(config)
    return home


@pytest.fixture(scope="module")
def codex_server(
    tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine
) -> Iterator[tuple[Runtime, str]]:
    """The server as the README tells a user of the small default model to run it for
    Codex: ``OFFLINE_ASSISTANTS_TEMPERATURE=0`` (Codex sends no temperature, and at the
    API's 1 the 135M model wanders) and ``OFFLINE_ASSISTANTS_MAX_COMPLETION_TOKENS=0``
    (Codex sends no max_output_tokens either: an answer may run to the window, so a long
    one ends rather than failing the turn as incomplete)."""
    data = tmp_path_factory.mktemp("codex") / "data"
    with serving(data, real_engine, response_temperature=0.0, max_completion_tokens=0) as served:
        yield served


@pytest.fixture
def codex_home(tmp_path: Path, codex_server: tuple[Runtime, str]) -> Path:
    return small_model_home(tmp_path, codex_server[1])


def test_codex_exec_answers_and_resumes(codex_home: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    first = finished(codex(codex_home, workdir, "Say hello."))
    # The second turn replays the whole history (store: false): ids, the earlier answer.
    second = finished(codex(codex_home, workdir, "resume", "--last", "Now say goodbye."))
    assert second["input_tokens"] > first["input_tokens"]  # the history is in


def test_codex_over_the_websocket_mode(tmp_path: Path, codex_server: tuple[Runtime, str]) -> None:
    """With ``supports_websockets = true`` Codex sends its turns as ``response.create``
    messages over ``ws://.../v1/responses`` (counted at the server's WebSocket entry)."""
    runtime, url = codex_server
    home = small_model_home(tmp_path, url, websockets=True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    service = runtime.responses
    opened: list[str] = []
    original = service.open_stream

    def counted(params: Any) -> Any:
        opened.append(str(params.get("model")))
        return original(params)

    service.open_stream = counted  # type: ignore[method-assign]
    try:
        first = codex(home, workdir, "Say hello.")
        second = codex(home, workdir, "resume", "--last", "Now say goodbye.")
    finally:
        service.open_stream = original  # type: ignore[method-assign]
    for done in (first, second):
        finished(done)
    assert len(opened) >= 2  # both turns went over the WebSocket


def test_codex_with_its_whole_preamble_hears_the_window_is_too_small(
    tmp_path: Path, codex_server: tuple[Runtime, str]
) -> None:
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(FULL.format(base_url=codex_server[1]))
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = codex(home, workdir, "Say hello.")
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "context window" in said, said[-3000:]
    assert "invalid_request_error" not in said and "Bad Request" not in said, said[-3000:]
