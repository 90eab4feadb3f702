"""offline-assistants: the OpenAI Assistants API (v2), fully offline, on a laptop.

    from offline_assistants import Client
    client = Client()
    assistant = client.beta.assistants.create(model="default", name="Math Tutor")

Objects returned are the ``openai`` SDK's own types. Layers, top to bottom:
``api`` (this Python API) and ``server`` (HTTP) → ``service`` (validation,
storage, queueing) → ``runs`` (lifecycle, executor, scheduler) → ``engine``
(llama-cpp-python) and ``store`` (DuckDB). Errors are in :mod:`.errors`.
"""

from .api import Client, CursorPage
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
