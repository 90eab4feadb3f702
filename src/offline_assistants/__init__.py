"""offline-assistants: the OpenAI Assistants API (v2), fully offline, on a laptop.

    from offline_assistants import Client
    client = Client()
    assistant = client.beta.assistants.create(model="default", name="Math Tutor")

Objects returned are the ``openai`` SDK's own types. Layers, top to bottom:
``api`` (this Python API) and, later, ``server`` (HTTP) → ``service`` (validation,
storage, queueing) → ``runs`` (lifecycle, executor, worker) → ``engine``
(llama-cpp-python) and ``store`` (DuckDB). Errors are in :mod:`.errors`.
"""

from .api import Client, CursorPage
from .config import Settings
from .errors import (
    ConflictError,
    DataDirLockedError,
    InternalError,
    InvalidRequestError,
    ModelFileError,
    NotFoundError,
    OfflineAssistantsError,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ConflictError",
    "CursorPage",
    "DataDirLockedError",
    "InternalError",
    "InvalidRequestError",
    "ModelFileError",
    "NotFoundError",
    "OfflineAssistantsError",
    "Settings",
    "__version__",
]
