"""Shared fixtures: the real tiny GGUF model loaded once per session, a fresh data dir per test."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants import Client
from offline_assistants.config import Settings
from offline_assistants.engine import Engine
from offline_assistants.engine.engine_cache import llama_factory
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.service import Runtime

from .http_harness import HttpClient
from .servers import LlamaServer

os.environ["HF_HUB_OFFLINE"] = "1"
# The suite's temperature-0 answers depend on llama.cpp's attention path (each rounds the
# logits its own way; the Math Tutor rambled past 200 tokens with flash attention on), and
# on the KV cache's element type. A measured `auto` choice can differ between machines and
# measurements, so the suite fixes both; tests/test_attention.py covers `auto` and the
# paths with the real model.
os.environ.setdefault("OFFLINE_ASSISTANTS_FLASH_ATTENTION", "off")
os.environ.setdefault("OFFLINE_ASSISTANTS_KV_CACHE_TYPE", "f16")

MATH_TUTOR = "You are a personal math tutor. Answer questions briefly, in a sentence or less."
EQUATION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
# At temperature 0 the default model keeps counting until stopped: a long, steady generation.
ENDLESS = "List the numbers from 1 to 1000, separated by commas."
# Open-ended JSON ("Describe a cat as JSON.") lets the 135M model loop inside a string at
# temperature 0 until the budget, which no grammar forbids; this question has a short answer
# under a json_object or json_schema grammar in both weights formats (Q4_1 and Q8_0).
JSON_QUESTION = "Answer as JSON: what colour is the sky? Use the key colour."
# A response_format whose answer cannot end on its own: the grammar asks for 600 strings
# of 2,000 characters each (llama.cpp's repetition limits), far past any context window, so only a cancel, a token budget
# or the window ends the run, however fast or slow the machine is.
ENDLESS_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "count",
        "schema": {
            "type": "object",
            "properties": {
                "numbers": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 2000},
                    "minItems": 600,
                }
            },
            "required": ["numbers"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = Settings.from_env().default_model
    if not path.is_file():
        pytest.fail(f"default model missing at {path}: run scripts/setup")
    return path


@pytest.fixture(scope="session")
def real_engine(model_path: Path) -> LlamaEngine:
    """Loaded as the runtime loads it (adaptive threads included: a fixed two threads
    crawl at ~2 tokens/s while another program keeps a core busy), with a 4k window."""
    settings = dataclasses.replace(Settings.from_env(), n_ctx=4096)
    engine = llama_factory(settings, progress=False)(model_path)
    assert isinstance(engine, LlamaEngine)
    return engine


@pytest.fixture(params=["python", "http"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, real_engine: LlamaEngine
) -> Iterator[Any]:
    """The API under test, on a fresh DuckDB file, with the session's real engine.

    Runs every test that uses it twice: against the Python API, and through the
    official ``openai`` client against the real server (see tests/http_harness.py).
    """

    def shared(path: Path) -> Engine:
        return real_engine

    if request.param == "python":
        with Client(data_dir=tmp_path / "data", engine_factory=shared) as c:
            yield c
        return
    runtime = Runtime(Settings.from_env(data_dir=tmp_path / "data"), engine_factory=shared)
    http = HttpClient(runtime)
    try:
        yield http
    finally:
        http.close()


@pytest.fixture(scope="session")
def contract_server(
    tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine
) -> Iterator[tuple[Runtime, str]]:
    """The real server on 127.0.0.1 with the session's model, shared by the contract tests
    of clients nobody here wrote (Codex, the AI SDK, agent frameworks, Open Responses
    acceptance): the runtime and its ``/v1`` base URL."""
    from .http_harness import serving

    with serving(tmp_path_factory.mktemp("contract") / "data", real_engine) as served:
        yield served


@pytest.fixture(scope="module")
def engine_server(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """llama-cpp-python's own server serving the default model on 127.0.0.1, per module:
    the serving engine of the scale-out tests (tests/servers.py)."""
    with LlamaServer(model_path, tmp_path_factory.mktemp("engine") / "server.log") as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def tutor(client: Client):  # type: ignore[no-untyped-def]
    return client.beta.assistants.create(
        name="Math Tutor", instructions=MATH_TUTOR, model="default", temperature=0
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's, by path); skipped with a how-to where there is none."""
    from .browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def dashboard_origin(
    tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine
) -> Iterator[str]:
    """The real server with an API key and the session's real model, on 127.0.0.1; its origin."""
    from offline_assistants.server import create_app
    from offline_assistants.server.background import BackgroundServer

    from .browser import API_KEY

    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    runtime = Runtime(Settings.from_env(data_dir=data_dir), engine_factory=lambda path: real_engine)
    try:
        with BackgroundServer(create_app(runtime, api_key=API_KEY)) as server:
            yield server.base_url.removesuffix("/v1")
    finally:
        runtime.close()


@pytest.fixture
def tab(browser: Any, dashboard_origin: str) -> Iterator[Any]:
    """A browser tab on the Dashboard of ``dashboard_origin``, holding the API key."""
    from .browser import Tab

    opened = Tab(browser, dashboard_origin)
    yield opened
    opened.close()
