"""Run the API test suite through the official ``openai`` client against the real server.

``running_server`` serves an app with uvicorn on a socket it binds itself on
127.0.0.1 (port chosen by the OS) in a background thread (BackgroundServer). ``HttpClient`` looks
like our ``Client`` to the tests: ``.beta`` is the official SDK's resource tree
pointed at that server, and errors the SDK raises are translated back into our
exception classes after checking the wire envelope (status, type), so one set
of assertions serves both faces.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai

from offline_assistants.config import Settings
from offline_assistants.engine import Engine
from offline_assistants.errors import (
    ConflictError,
    DataDirLockedError,
    InternalError,
    InvalidRequestError,
    ModelFileError,
    NotFoundError,
    OfflineAssistantsError,
)
from offline_assistants.server import create_app
from offline_assistants.server.background import BackgroundServer
from offline_assistants.service import Runtime

warnings.filterwarnings("ignore", category=DeprecationWarning, module="openai")
warnings.filterwarnings("ignore", message=".*Assistants API is deprecated.*")


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port; yields the ``/v1`` base URL."""
    with BackgroundServer(app) as server:
        yield server.base_url


@contextmanager
def serving(data_dir: Path, engine: Engine, **settings: Any) -> Iterator[tuple[Runtime, str]]:
    """A runtime on ``data_dir`` with ``engine`` (the session's real model) and any other
    ``settings``, served on 127.0.0.1; yields it and the ``/v1`` base URL, and closes both."""
    chosen = dataclasses.replace(Settings.from_env(data_dir=data_dir), **settings)
    runtime = Runtime(chosen, engine_factory=lambda path: engine)
    with running_server(create_app(runtime)) as url:
        yield runtime, url


def translate(exc: openai.APIStatusError) -> OfflineAssistantsError:
    body = exc.body if isinstance(exc.body, dict) else {}
    message, param, code = str(body.get("message")), body.get("param"), body.get("code")
    classes: dict[int, type[OfflineAssistantsError]] = {
        404: NotFoundError,
        409: DataDirLockedError,
        500: InternalError,
    }
    cls = classes.get(exc.status_code, InvalidRequestError)
    if exc.status_code == 400 and code in ("model_not_found", "invalid_model"):
        cls = ModelFileError
    elif exc.status_code == 400 and code == "active_run":
        cls = ConflictError
    assert exc.status_code == cls.status_code, (exc.status_code, cls)
    assert body.get("type") == cls.type, body
    return cls(message, param=param, code=code)


class Translating:
    """Wraps an SDK object: attributes are wrapped too, calls re-raise our error classes."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            return _translating_call(value)
        return Translating(value)


def _translating_call(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except openai.APIStatusError as exc:
            raise translate(exc) from exc

    return call


class HttpClient:
    """Our Client's shape, backed by the official SDK over HTTP (plus the server's runtime)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.server = BackgroundServer(create_app(runtime))
        self.sdk = openai.OpenAI(
            base_url=self.server.base_url, api_key="local", max_retries=0, timeout=120
        )
        self.beta = Translating(self.sdk.beta)
        self.files = Translating(self.sdk.files)
        self.vector_stores = Translating(self.sdk.vector_stores)
        self.chat = Translating(self.sdk.chat)
        self.models = Translating(self.sdk.models)
        self.responses = Translating(self.sdk.responses)
        self.conversations = Translating(self.sdk.conversations)
        self.containers = Translating(self.sdk.containers)

    def close(self) -> None:
        """Stop the server; its shutdown closes the runtime and releases the data dir."""
        self.server.stop()
        self.runtime.close()
