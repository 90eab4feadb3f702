"""``Client``: the Python API, shaped like ``openai.OpenAI`` (``client.beta.assistants``, ...).

One Client owns one data directory: it opens the database, recovers runs a
killed process left behind, and starts the scheduler that executes runs. Close it
(or use it as a context manager) to release the data directory.
"""

from __future__ import annotations

import os
from types import TracebackType

from ..config import Settings
from ..engine import EngineFactory
from ..service import Runtime
from .assistants import Assistants
from .chat import Chat
from .containers import Containers
from .conversations import Conversations
from .files import Files
from .models import Models
from .responses import Responses
from .threads import Threads
from .vector_stores import VectorStores


class Beta:
    def __init__(self, runtime: Runtime, vector_stores: VectorStores) -> None:
        self.assistants = Assistants(runtime)
        self.threads = Threads(runtime)
        self.vector_stores = vector_stores  # where SDKs before 1.66 had it


class Client:
    """An offline Assistants API.

    Args:
        data_dir: where the database lives; default ``OFFLINE_ASSISTANTS_DATA_DIR`` or the
            per-user data directory.
        model: the .gguf file that serves ``model="default"``.
        n_threads: CPU threads for the model, fixed; default every core other programs
            leave free (measured while it runs).
        n_ctx: context window cap in tokens.
        chat_template: the chat template for every model in place of each GGUF's own: a
            Jinja file or a llama.cpp built-in name (``"gemma"``, ``"llama3"``, ...); needed
            for a GGUF without one. Default ``OFFLINE_ASSISTANTS_CHAT_TEMPLATE``.
        engine_url: an OpenAI-compatible serving engine's API root (``http://gpu-box:8000/v1``)
            that generates in place of the embedded model. A ``model=`` the engine lists runs
            on that model; any other on ``engine_model`` (default: the first it lists), whose
            .gguf ``model`` names, read for its chat template and tokenizer only. Default
            ``OFFLINE_ASSISTANTS_ENGINE_URL``.
        chroma_url: a Chroma server (``http://host:8000``) for the vector index.
        engine_factory: how to load a model file (tests pass scripted engines here).
        settings: complete settings, instead of the arguments above and the environment.
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        model: str | os.PathLike[str] | None = None,
        n_threads: int | None = None,
        n_ctx: int | None = None,
        chat_template: str | None = None,
        engine_url: str | None = None,
        engine_model: str | None = None,
        chroma_url: str | None = None,
        engine_factory: EngineFactory | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or Settings.from_env(
            data_dir=data_dir,
            default_model=model,
            n_threads=n_threads,
            n_ctx=n_ctx,
            chat_template=chat_template,
            engine_url=engine_url,
            engine_model=engine_model,
            chroma_url=chroma_url,
        )
        self.runtime = Runtime(settings, engine_factory)
        self.files = Files(self.runtime)
        self.vector_stores = VectorStores(self.runtime, self.files)
        self.beta = Beta(self.runtime, self.vector_stores)
        self.chat = Chat(self.runtime)
        self.models = Models(self.runtime)
        self.responses = Responses(self.runtime)
        self.conversations = Conversations(self.runtime)
        self.containers = Containers(self.runtime)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def close(self) -> None:
        """Stop the scheduler (an unfinished run ends ``failed``) and release the data directory."""
        self.runtime.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
