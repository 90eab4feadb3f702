"""The runtime: one data directory's services, wired together and started.

``Runtime`` is the service layer both faces use: the Python API (``Client``)
and the HTTP server call the same methods on the same objects. It opens the
store (one process owns the data dir), recovers runs a killed process left
active, loads models lazily when a run first needs one, and starts the run
scheduler. ``close()`` stops the scheduler (an unfinished run ends ``failed``), ingestion and
kernels, frees the loaded models and releases the data directory. A runtime
nobody closed is closed at interpreter exit (``atexit``), before Python tears
down the threads still inside llama.cpp: a script may simply end. If start-up
fails half-way, whatever was started is stopped again.
"""

from __future__ import annotations

import atexit
import logging
from pathlib import Path

from ..config import Settings
from ..engine import EngineCache, EngineFactory, llama_factory, remote_factory
from ..engine.model_memory import MAX_LOADED, default_budget, model_bytes
from ..engine.prefix_cache import PrefixCache
from ..engine.preload import Preload
from ..runs import EventBus, RunExecutor, RunJournal, RunScheduler, recover_interrupted_runs
from ..runs.code_calls import CodeCalls
from ..runs.drafts import DraftLog
from ..runs.mcp_calls import McpCalls
from ..runs.search_calls import SearchCalls
from ..store import Store
from ..tools.code_interpreter import KernelSessions, SessionSettings
from ..tools.file_search import Embedder, VectorIndex
from ..tools.mcp import McpClients, declared_servers
from .assistants import AssistantService
from .chat_completions import ChatCompletionService
from .containers import ContainerService
from .files import FileService
from .ingestion import Ingestion
from .messages import MessageService
from .models import ModelService
from .responses.compaction import ResponseCompactor
from .responses.conversations import ConversationService
from .responses.input_tokens import InputTokenCounter
from .responses.sealed import Sealer
from .responses.service import ResponseService
from .runs import RunService
from .steps import StepService
from .threads import ThreadService
from .vector_store_files import VectorStoreFileService
from .vector_stores import VectorStoreService

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        engine_factory: EngineFactory | None = None,
        preload: Preload | None = None,
    ) -> None:
        """``preload``: the default model already loading (``serve`` starts it before it
        imports this layer; engine/preload.py); the runtime takes it and closes it."""
        self.settings = settings
        self._closed = False
        self._preload = preload
        self.store = Store(settings.database_path)
        try:
            self.bus = EventBus()
            self.journal = RunJournal(self.store, self.bus, DraftLog(settings.drafts_dir))
            self.recovered = recover_interrupted_runs(self.store, self.journal)
            self.journal.drafts.clear()  # what recovery did not need belongs to no open message
            self.prefix_cache = (
                preload.prefix_cache if preload is not None else PrefixCache.for_settings(settings)
            )
            local = engine_factory is None and settings.engine_url is None
            self.engines = EngineCache(
                engine_factory or self._engine_factory(settings),
                # A serving engine's models cost a vocabulary each here, not their weights;
                # our own are held to the memory budget.
                capacity=8 if settings.engine_url else (MAX_LOADED if local else 1),
                owned=engine_factory is None,
                budget=(settings.memory_budget or default_budget()) if local else None,
                size_of=lambda key: (
                    model_bytes(key, settings.n_ctx, settings.parallel)
                    if isinstance(key, Path)
                    else 0
                ),
            )
            self.scheduler = RunScheduler()
            self.models = ModelService(settings)
            self.chat_completions = ChatCompletionService(self.engines, settings)
            self.index = VectorIndex(settings.vector_index_dir, url=settings.chroma_url)
            self.embedder = Embedder()
            self.ingestion = Ingestion(self.store, self.index, self.embedder)
            vector_store_files = VectorStoreFileService(
                self.store, self.index, self.ingestion.submit
            )
            self.vector_stores = VectorStoreService(
                self.store, self.index, self.embedder, vector_store_files
            )
            self.files = FileService(self.store, deleting=vector_store_files.file_deleted)
            self.assistants = AssistantService(self.store, settings, self.vector_stores)
            self.kernels = kernel_sessions(settings)
            self.threads = ThreadService(
                self.store, self.vector_stores, released=self._thread_deleted
            )
            self.messages = MessageService(self.store, self.threads.add_messages)
            self.runs = RunService(self.store, settings, self.journal, self.scheduler, self.threads)
            self.steps = StepService(self.store)
            sealer = Sealer(settings.data_dir)
            self.mcp = McpClients(
                declared_servers(settings.mcp_commands, settings.mcp_config), settings.mcp_timeout
            )
            self.response_compaction = ResponseCompactor(
                self.store, settings, self.chat_completions, sealer
            )
            self.responses = ResponseService(
                self.store,
                settings,
                self.journal,
                self.runs,
                self.threads,
                sealer=sealer,
                mcp=self.mcp,
            )
            self.response_tokens = InputTokenCounter(
                self.store, settings, self.engines, sealer.open, self.responses.mcp
            )
            self.conversations = ConversationService(self.store, self.threads)
            self.containers = ContainerService(self.store, self.kernels)
            self.executor = RunExecutor(
                self.store,
                self.journal,
                self.engines,
                settings,
                cancel_requested=self.scheduler.cancel_requested,
                stopping=self.scheduler.stopping,
                code=CodeCalls(
                    self.store,
                    self.journal,
                    self.files.create_output,
                    self.kernels,
                    settings.code_timeout_seconds,
                ),
                search=SearchCalls(
                    self.store,
                    self.journal,
                    self.index,
                    self.embedder,
                    self.vector_stores.touch,
                ),
                mcp=McpCalls(self.mcp),
            )
            self.scheduler.start(self.executor)
            self.ingestion.start()
        except BaseException:
            self.close()
            raise
        atexit.register(self.close)

    def _thread_deleted(self, thread_id: str) -> None:
        self.kernels.release(thread_id)
        if self.prefix_cache is not None:
            self.prefix_cache.forget(thread_id)

    def _engine_factory(self, settings: Settings) -> EngineFactory:
        """The embedded llama.cpp engine, or a serving engine's client (``engine_url``)."""
        if settings.engine_url is not None:
            return remote_factory(settings)
        load = llama_factory(settings, prefix_cache=self.prefix_cache)
        return load if self._preload is None else self._preload.factory(load)

    def close(self) -> None:
        """Stop everything this runtime started (whatever start-up got to) and release the
        data directory. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        scheduler = getattr(self, "scheduler", None)
        idle = (
            scheduler is None or scheduler.stop()
        )  # first: nothing runs on the engines after this
        responses = getattr(self, "responses", None)
        if responses is not None:
            responses.close()  # background responses' recorders, before the store closes
        parts = ["ingestion", "kernels", "mcp"] + (["engines", "_preload"] if idle else [])
        for part in parts:
            started = getattr(self, part, None)
            if started is not None:
                try:
                    started.close()
                except Exception:  # noqa: BLE001 - the rest must still be released
                    log.exception("closing the runtime's %s failed", part)
        self.store.close()


def kernel_sessions(settings: Settings) -> KernelSessions:
    if settings.unsandboxed_code:
        log.warning(
            "OFFLINE_ASSISTANTS_UNSANDBOXED_CODE=1: the Code Interpreter runs model-written code "
            "WITHOUT a sandbox, with this process's rights (files, network, everything)."
        )
    return KernelSessions(
        settings.code_interpreter_dir,
        SessionSettings(
            cell_timeout=settings.code_timeout_seconds,
            idle_seconds=settings.kernel_idle_seconds,
            pool_size=settings.kernel_pool_size,
            sandboxed=not settings.unsandboxed_code,
        ),
    )
