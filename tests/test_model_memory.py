"""Several models in one runtime within a memory budget, with the real model loaded twice
(the default file and a copy of it, two models to the runtime).

A budget that fits one model: asking for the second unloads the first. A budget that
fits both keeps both. A model a run is generating with is never unloaded for another:
the second model's run waits until the first run ends, and the first never stops.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine.model_memory import model_bytes

from .conftest import ENDLESS, ENDLESS_FORMAT

N_CTX = 1024


@pytest.fixture(scope="module")
def second_model(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Path:
    copy = tmp_path_factory.mktemp("models") / "second.gguf"
    shutil.copyfile(model_path, copy)
    return copy


def client_with_budget(tmp_path: Path, models: int) -> Client:
    settings = Settings.from_env(data_dir=tmp_path / "data", n_ctx=N_CTX)
    one = model_bytes(settings.default_model, N_CTX, settings.parallel)
    budget = int(one * (models + 0.5))
    return Client(settings=dataclasses.replace(settings, memory_budget=budget))


def ask(client: Client, model: str, **run: Any) -> Any:
    assistant = client.beta.assistants.create(model=model, temperature=0)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi!"}])
    return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, **run)


def test_a_budget_for_one_model_unloads_the_idle_one(
    tmp_path: Path, model_path: Path, second_model: Path
) -> None:
    with client_with_budget(tmp_path, models=1) as client:
        first = ask(client, "default", max_completion_tokens=4)
        assert client.beta.threads.runs.poll(first.id, thread_id=first.thread_id).status in (
            "completed",
            "incomplete",
        )
        assert client.runtime.engines.loaded() == [model_path]
        second = ask(client, str(second_model), max_completion_tokens=4)
        done = client.beta.threads.runs.poll(second.id, thread_id=second.thread_id)
        assert done.status in ("completed", "incomplete"), done.last_error
        assert client.runtime.engines.loaded() == [second_model.resolve()]


def test_a_budget_for_two_keeps_both(tmp_path: Path, model_path: Path, second_model: Path) -> None:
    with client_with_budget(tmp_path, models=2) as client:
        for model in ("default", str(second_model)):
            run = ask(client, model, max_completion_tokens=4)
            client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
        assert client.runtime.engines.loaded() == [model_path, second_model.resolve()]


def test_the_model_a_run_uses_is_never_unloaded_for_another(
    tmp_path: Path, model_path: Path, second_model: Path
) -> None:
    with client_with_budget(tmp_path, models=1) as client:
        assistant = client.beta.assistants.create(
            model="default", temperature=0, response_format=ENDLESS_FORMAT
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": ENDLESS}])
        endless = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

        def written() -> int:
            messages = client.beta.threads.messages.list(thread_id=thread.id).data
            if len(messages) < 2 or not messages[0].content:
                return 0
            return len(messages[0].content[0].text.value)  # type: ignore[union-attr]

        deadline = time.monotonic() + 120
        while written() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        other = ask(client, str(second_model), max_completion_tokens=4)
        before = written()
        time.sleep(3)  # the second run waits; the first keeps generating with its model
        waiting = client.beta.threads.runs.retrieve(other.id, thread_id=other.thread_id)
        assert waiting.status in ("queued", "in_progress") and waiting.completed_at is None
        assert written() > before > 0
        assert client.runtime.engines.loaded() == [model_path]
        client.beta.threads.runs.cancel(endless.id, thread_id=thread.id)
        cancelled = client.beta.threads.runs.poll(endless.id, thread_id=thread.id)
        assert cancelled.status == "cancelled"
        done = client.beta.threads.runs.poll(other.id, thread_id=other.thread_id)
        assert done.status in ("completed", "incomplete"), done.last_error
        assert client.runtime.engines.loaded() == [second_model.resolve()]


def test_a_loaded_model_is_not_measured_again_for_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its size comes from its GGUF header (~50 ms of Python for the default model's
    vocabulary), read when the model must load, not on every run's turn."""
    import offline_assistants.service.runtime as runtime_module

    measured: list[Path] = []

    def counting(path: Path, n_ctx: int, parallel: int) -> int:
        measured.append(path)
        return model_bytes(path, n_ctx, parallel)

    monkeypatch.setattr(runtime_module, "model_bytes", counting)
    with client_with_budget(tmp_path, models=1) as client:
        for _ in range(3):
            run = ask(client, "default", max_completion_tokens=2)
            done = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
            assert done.status in ("completed", "incomplete"), done.last_error
        assert len(measured) == 1
