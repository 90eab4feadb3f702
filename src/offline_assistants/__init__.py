"""offline-assistants: the OpenAI Assistants API (v2), fully offline, on a laptop.

    from offline_assistants import Client
    client = Client()
    assistant = client.beta.assistants.create(model="default", name="Math Tutor")

Objects returned are the ``openai`` SDK's own types. Layers, top to bottom:
``api`` (this Python API) and ``server`` (HTTP) → ``service`` (validation,
storage, queueing) → ``runs`` (lifecycle, executor, scheduler) → ``engine``
(llama-cpp-python) and ``store`` (DuckDB). Errors are in :mod:`.errors`.

``Client`` and ``CursorPage`` are imported on first use (they bring in the whole
service layer), so that ``offline-assistants serve`` can start loading its model first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import (
    ConflictError,
    DataDirLockedError,
    EngineError,
    InsufficientStorageError,
    InternalError,
    InvalidRequestError,
    ModelFileError,
    NotFoundError,
    OfflineAssistantsError,
    PayloadTooLargeError,
    UpstreamError,
    VectorIndexError,
)

if TYPE_CHECKING:
    from .api import Client, CursorPage

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ConflictError",
    "CursorPage",
    "DataDirLockedError",
    "EngineError",
    "InsufficientStorageError",
    "InternalError",
    "InvalidRequestError",
    "ModelFileError",
    "NotFoundError",
    "OfflineAssistantsError",
    "PayloadTooLargeError",
    "UpstreamError",
    "VectorIndexError",
    "Settings",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("Client", "CursorPage"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
