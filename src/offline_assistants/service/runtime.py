"""The runtime: one data directory's services, wired together and started.

``Runtime`` is the service layer both faces use: the Python API (``Client``)
and, later, the HTTP server call the same methods on the same objects. It
opens the store (one process owns the data dir), recovers runs a killed
process left active, loads models lazily on the worker thread, and starts the
worker. ``close()`` stops the worker and releases the data directory.
"""

from __future__ import annotations

import os

from ..config import Settings
from ..engine import EngineCache, EngineFactory, llama_factory
from ..runs import EventBus, RunExecutor, RunJournal, RunWorker, recover_interrupted_runs
from ..store import Store
from .assistants import AssistantService
from .files import FileService
from .messages import MessageService
from .runs import RunService
from .steps import StepService
from .threads import ThreadService


class Runtime:
    def __init__(self, settings: Settings, engine_factory: EngineFactory | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.settings = settings
        self.store = Store(settings.database_path)
        try:
            self.bus = EventBus()
            self.journal = RunJournal(self.store, self.bus)
            self.recovered = recover_interrupted_runs(self.store, self.journal)
            self.engines = EngineCache(engine_factory or llama_factory(settings))
            self.worker = RunWorker()
            self.assistants = AssistantService(self.store, settings)
            self.threads = ThreadService(self.store)
            self.messages = MessageService(self.store)
            self.runs = RunService(self.store, settings, self.journal, self.worker, self.threads)
            self.steps = StepService(self.store)
            self.files = FileService(self.store)
            self.worker.start(
                RunExecutor(
                    self.store,
                    self.journal,
                    self.engines,
                    settings,
                    cancel_requested=self.worker.cancel_requested,
                    stopping=self.worker.stopping,
                )
            )
        except BaseException:
            self.store.close()
            raise
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.worker.stop()
        self.store.close()
