"""The default model, loading in a background thread from the moment ``serve`` starts.

A cold start is two waits of about the same length: importing the service layer (the
``openai`` SDK's types, FastAPI, pydantic models) and loading the model (weights, then a
KV cache of ``parallel`` windows of ``n_ctx`` tokens that llama.cpp clears page by page).
llama.cpp loads outside the GIL, so ``serve`` (cli.py) starts a :class:`Preload` before it
imports the rest and hands it to the ``Runtime``, whose engine factory takes the loaded
engine for the first run that asks for that file (:meth:`Preload.factory`) instead of
loading it again. ``benchmarks/cold_start.py`` measures the whole wait.

``serve`` refuses a file with no chat template before it listens: :meth:`Preload.template`
answers from the preload's thread, which reads the file's template (vocabulary and
metadata only, mostly outside the GIL) before the weights: the import thread no longer
spends that ~0.1 s on the way to the first answer, and a base model is refused
without its weights being read.

The preload holds the prefix cache its engine was made with, for the runtime to use
(built here: it touches no file until a run spills to disk). A load that fails keeps
its error for that first run to raise, as a load on demand would; an engine nobody took
is freed when the runtime closes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..config import Settings
from .base import Engine
from .chat_template import TemplateSource
from .engine_cache import EngineFactory, ModelKey, llama_factory
from .llama import template_of
from .prefix_cache import PrefixCache


class Preload:
    def __init__(self, settings: Settings, progress: bool = True) -> None:
        self.path = settings.default_model
        self.prefix_cache = PrefixCache.for_settings(settings)
        self._chat_template = settings.chat_template
        self._load = llama_factory(settings, progress=progress, prefix_cache=self.prefix_cache)
        self._engine: Engine | None = None
        self._error: BaseException | None = None
        self._template: TemplateSource | None = None
        self._template_error: Exception | None = None
        self._template_known = threading.Event()
        self._taken = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="model-preload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._template = template_of(self.path, self._chat_template)
        except Exception as exc:  # noqa: BLE001 - for serve; a run gets the load's own error
            self._template_error = exc
        self._template_known.set()
        try:
            self._engine = self._load(self.path)
        except BaseException as exc:  # noqa: BLE001 - kept for the run that asks, raised there
            self._error = exc

    def template(self) -> TemplateSource:
        """The file's chat template, once the preload has read it; a file with none (or no
        GGUF file at all) raises that error here; the first run gets the load's own."""
        self._template_known.wait()
        if self._template is None:
            assert self._template_error is not None
            raise self._template_error
        return self._template

    def take(self, path: ModelKey) -> Engine | None:
        """The preloaded engine (waiting for its load to end) when ``path`` is its file and
        nobody took it yet; else None. A failed load raises its error here, once."""
        if not isinstance(path, Path) or not _same_file(path, self.path):
            return None
        with self._lock:
            if self._taken:
                return None
            self._taken = True
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._engine

    def factory(self, load: EngineFactory) -> EngineFactory:
        """``load``, except that the preloaded file comes from here the first time."""

        def first_from_preload(path: ModelKey) -> Engine:
            engine = self.take(path)
            return engine if engine is not None else load(path)

        return first_from_preload

    @property
    def engine(self) -> Engine | None:
        """The loaded engine (None while it loads, or when the load failed)."""
        return self._engine

    def close(self) -> None:
        """Wait for the load to end, and free the engine if nobody took it."""
        with self._lock:
            taken, self._taken = self._taken, True
        self._thread.join()
        close = getattr(self._engine, "close", None)
        if not taken and callable(close):
            close()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
