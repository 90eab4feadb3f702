"""Model names → GGUF files, and the loaded engines the worker keeps.

``model`` on an assistant or run may be:

- ``"default"``: the configured default model (SmolLM2-135M-Instruct Q4_1 unless overridden);
- a path to a ``.gguf`` file (absolute, ``~``-relative, or relative to the working directory);
- a bare name ``NAME`` with ``NAME.gguf`` in the models directory;
- any other name (e.g. ``"gpt-4o"`` from an app written for the hosted API): the default
  model serves it, so such apps run unchanged.

A path that does not exist or is not GGUF is a :class:`ModelFileError` naming it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from ..config import DEFAULT_MODEL_NAME, Settings
from .base import Engine
from .gguf_file import check_model_file
from .llama import LlamaEngine
from .prefix_cache import PrefixCache
from .threads import ThreadAdvisor

EngineFactory = Callable[[Path], Engine]


def looks_like_path(model: str) -> bool:
    return model.endswith(".gguf") or "/" in model or model.startswith("~")


def resolve_model(model: str, settings: Settings) -> Path:
    """The GGUF file that serves ``model``, checked to exist and to be GGUF."""
    if model == DEFAULT_MODEL_NAME:
        path = settings.default_model
    elif looks_like_path(model):
        path = Path(model).expanduser().resolve()
    elif _is_file(settings.models_dir / f"{model}.gguf"):
        path = settings.models_dir / f"{model}.gguf"
    else:
        path = settings.default_model
    check_model_file(path)
    return path


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, say: not a model file
        return False


class EngineCache:
    """Loaded engines by file, least recently used dropped first. Owned by the worker thread.

    With ``owned`` (the engines come from our own loader), a dropped engine is closed,
    freeing its model at once; a caller's factory keeps ownership of what it returns.
    """

    def __init__(self, factory: EngineFactory, capacity: int = 1, *, owned: bool = True) -> None:
        self._factory = factory
        self._capacity = capacity
        self._owned = owned
        self._engines: OrderedDict[Path, Engine] = OrderedDict()

    def get(self, path: Path) -> Engine:
        if path in self._engines:
            self._engines.move_to_end(path)
            return self._engines[path]
        while len(self._engines) >= self._capacity:
            _, evicted = self._engines.popitem(last=False)
            if self._owned:
                _close(evicted)
        engine = self._factory(path)
        self._engines[path] = engine
        return engine

    def close(self) -> None:
        """Free every loaded model (call when no run uses them any more)."""
        while self._engines:
            _, engine = self._engines.popitem()
            if self._owned:
                _close(engine)


def _close(engine: Engine) -> None:
    close = getattr(engine, "close", None)  # the protocol does not require it (fakes, shared)
    if callable(close):
        close()


def llama_factory(
    settings: Settings, progress: bool = True, prefix_cache: PrefixCache | None = None
) -> EngineFactory:
    """Loads GGUF files with the settings' threads and context; with ``prefix_cache``,
    threads' prompt states are kept between their runs (see ``llama``)."""

    def load(path: Path) -> Engine:
        return LlamaEngine(
            path,
            n_threads=settings.n_threads,
            threads=ThreadAdvisor(settings.n_threads) if settings.adaptive_threads else None,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            chat_template=settings.chat_template,
            progress=progress,
            prefix_cache=prefix_cache,
        )

    return load
