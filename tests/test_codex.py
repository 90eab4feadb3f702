"""Codex CLI (``@openai/codex``, unchanged) runs against the server: ``codex exec`` and a resume.

Codex speaks only the Responses API (``wire_api = "responses"``) and sends what the
official SDK never does: an ``id`` on every input message, ``client_metadata``,
``include: ["reasoning.encrypted_content"]``, ``store: false`` with the whole history
replayed each turn, ``namespace`` and ``web_search`` tools, function descriptions past
1,024 characters. Set-up installs it into the Node clients cache (its binary ships in
the npm package); ``CODEX_HOME`` is a temporary folder holding the config.toml the
README shows. Its full preamble (~9k tokens of instructions and tools) does not fit
the default 135M model's 8k window, so the first tests trim it the way the README
tells a user of a small model to (one runs long enough for Codex to compact its
history); the last sends it whole and expects Codex's own "out of room" message (the
server answers ``context_length_exceeded``), never a 400.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from offline_assistants.service import Runtime

from .contract_clients import SMALL_MODEL, codex_binary

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


def answers(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        e["item"]["text"]
        for e in events(done)
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]


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


@pytest.fixture
def codex_home(tmp_path: Path, contract_server: tuple[Runtime, str]) -> Path:
    return small_model_home(tmp_path, contract_server[1])


def test_codex_exec_answers_and_resumes(codex_home: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    first = codex(codex_home, workdir, "Say hello.")
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-2000:]
    [answer] = answers(first)
    assert answer.strip()
    assert any(e.get("type") == "turn.completed" for e in events(first))

    # The second turn replays the whole history (store: false): ids, the earlier answer.
    second = codex(codex_home, workdir, "resume", "--last", "Now say goodbye.")
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout[-2000:]
    [again] = answers(second)
    assert again.strip()
    usage = [e["usage"] for e in events(second) if e.get("type") == "turn.completed"]
    first_usage = [e["usage"] for e in events(first) if e.get("type") == "turn.completed"]
    assert usage[0]["input_tokens"] > first_usage[0]["input_tokens"]  # the history is in


def test_codex_over_the_websocket_mode(
    tmp_path: Path, contract_server: tuple[Runtime, str]
) -> None:
    """With ``supports_websockets = true`` Codex sends its turns as ``response.create``
    messages over ``ws://.../v1/responses`` (counted at the server's WebSocket entry)."""
    runtime, url = contract_server
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
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
        assert answers(done) and answers(done)[-1].strip()
    assert len(opened) >= 2  # both turns went over the WebSocket


def test_a_long_codex_session_compacts_its_history(
    tmp_path: Path, contract_server: tuple[Runtime, str]
) -> None:
    """Past ``model_auto_compact_token_limit`` Codex compacts: it asks the model for a
    handoff summary (a Responses request of its own) and goes on from the summary. Its
    session record then holds a ``compacted`` entry, and every turn still ends well."""
    home = small_model_home(tmp_path, contract_server[1], compact_at=1000)
    workdir = tmp_path / "work"
    workdir.mkdir()
    turns = [["Say hello."], ["resume", "--last", "Tell me a joke."], ["resume", "--last", "Bye."]]
    for turn in turns:
        done = codex(home, workdir, *turn)
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
        assert answers(done) and answers(done)[-1].strip()
    sessions = list((home / "sessions").rglob("*.jsonl"))
    assert any('"type":"compacted"' in path.read_text() for path in sessions), sessions


def test_codex_with_its_whole_preamble_hears_the_window_is_too_small(
    tmp_path: Path, contract_server: tuple[Runtime, str]
) -> None:
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(FULL.format(base_url=contract_server[1]))
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = codex(home, workdir, "Say hello.")
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "context window" in said, said[-3000:]
    assert "invalid_request_error" not in said and "Bad Request" not in said, said[-3000:]
