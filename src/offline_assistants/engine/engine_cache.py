"""Model names → GGUF files, and the loaded engines the runs share.

``model`` on an assistant or run may be:

- ``"default"``: the configured default model (SmolLM2-135M-Instruct unless overridden);
- a path to a ``.gguf`` file (absolute, ``~``-relative, or relative to the working directory);
- a bare name ``NAME`` with ``NAME.gguf`` in the models directory;
- a name another program's store gives a file on this machine (``qwen3:8b`` in Ollama's,
  ``ORG/REPO/FILE`` in the Hugging Face cache: :mod:`.model_stores`), read in place;
- any other name (e.g. ``"gpt-4o"`` from an app written for the hosted API): the default
  model serves it, so such apps run unchanged.

A path that does not exist or is not GGUF is a :class:`ModelFileError` naming it.

With a serving engine configured (``Settings.engine_url``), a name resolves to a
:class:`RemoteModel` instead: a name the engine serves runs on that model, any other
name (``"default"``, ``"gpt-4o"``) on ``Settings.engine_model`` (default: the first it
lists), and the GGUF read for the prompt's template and tokenizer (never its weights)
is ``NAME.gguf`` in the models directory where there is one, else
``Settings.engine_tokenizer`` (default: the default model's file). See
:func:`remote_factory`.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import DEFAULT_MODEL_NAME, Settings
from ..errors import EngineError, ModelFileError
from .base import Engine
from .cpu_share import ThreadAdvisor
from .gguf_file import check_model_file
from .llama import LlamaEngine, vocabulary_prompt
from .model_stores import FoundModel, find_models
from .prefix_cache import PrefixCache


@dataclass(frozen=True)
class RemoteModel:
    """A model as a run names it, for the serving engine; ``tokenizer``: the GGUF that holds
    its template and tokenizer."""

    requested: str
    tokenizer: Path


ModelKey = Path | RemoteModel  # what a model name resolves to: an engine is loaded per key
EngineFactory = Callable[[ModelKey], Engine]


def looks_like_path(model: str) -> bool:
    return model.endswith(".gguf") or "/" in model or model.startswith("~")


def resolve_model(model: str, settings: Settings) -> ModelKey:
    """The GGUF file that serves ``model`` (or, with a serving engine, the model to ask it
    for), its file checked to exist and to be GGUF."""
    if settings.engine_url is not None:
        own = settings.models_dir / f"{model}.gguf"
        if looks_like_path(model):
            tokenizer = Path(model).expanduser().resolve()
        elif model != DEFAULT_MODEL_NAME and _is_file(own):
            tokenizer = own
        else:
            tokenizer = settings.engine_tokenizer or settings.default_model
        check_model_file(tokenizer)
        return RemoteModel(model, tokenizer)
    if model == DEFAULT_MODEL_NAME:
        path = settings.default_model
    elif _is_file(settings.models_dir / f"{model}.gguf"):
        path = settings.models_dir / f"{model}.gguf"
    elif model.endswith(".gguf") or model.startswith(("/", "~", ".")):
        path = Path(model).expanduser().resolve()
    elif (found := find_model(model, settings)) is not None:
        if found.problem is not None:
            raise ModelFileError(
                f"The model '{model}' ({found.path}) cannot be used: {found.problem}.",
                param="model",
                code="invalid_model",
            )
        path = found.path
    elif looks_like_path(model):
        path = Path(model).expanduser().resolve()
    else:
        path = settings.default_model
    check_model_file(path)
    return path


def find_model(model: str, settings: Settings) -> FoundModel | None:
    """The file another program's store (or a configured folder) keeps as ``model``."""
    return next((f for f in find_models(settings.stores) if f.name == model), None)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, say: not a model file
        return False


class EngineCache:
    """Loaded engines by file, least recently used dropped first; safe to use from the
    runs' threads. At most ``capacity`` stay loaded, and with ``budget`` (bytes, each
    model's from ``size_of``: :mod:`.model_memory`) no more than fit in it.

    A run holds an engine through :meth:`lease` while it builds its prompt and
    generates. An engine dropped while leased (another model was needed) is closed
    when its last lease ends, so no generation loses its model under it. With
    ``owned`` (the engines come from our own loader), a dropped engine is closed,
    freeing its model at once; a caller's factory keeps ownership of what it returns.
    """

    def __init__(
        self,
        factory: EngineFactory,
        capacity: int = 1,
        *,
        owned: bool = True,
        budget: int | None = None,
        size_of: Callable[[ModelKey], int] | None = None,
    ) -> None:
        self._factory = factory
        self._capacity = capacity
        self._owned = owned
        self._budget = budget  # bytes the loaded models may take together; None: no limit
        self._size_of = size_of or (lambda key: 0)
        self._engines: OrderedDict[ModelKey, Engine] = OrderedDict()
        self._sizes: dict[int, int] = {}  # id(engine) → its bytes, until it is closed
        self._leases: dict[int, int] = {}  # id(engine) → runs using it
        self._dropped: dict[int, Engine] = {}  # dropped while leased: closed when free
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)  # a lease ended: room may be free
        self._loading = threading.Lock()  # one model loads at a time

    def get(self, path: ModelKey) -> Engine:
        """The engine for ``path``, loaded if need be (without a lease). Loading makes room
        first, unloading the least recently used models no run holds; where only models
        runs hold stand in the way of the budget, it waits for one of those runs to end."""
        need: int | None = None  # read from the file's header only when it must load
        while True:
            with self._loading:
                with self._lock:
                    if path in self._engines:
                        self._engines.move_to_end(path)
                        return self._engines[path]
                if need is None:
                    need = self._size_of(path) if self._budget is not None else 0
                with self._lock:
                    fits = self._make_room(need)
                if fits:
                    engine = self._factory(path)
                    with self._lock:
                        self._engines[path] = engine
                        self._sizes[id(engine)] = need
                    return engine
            with self._lock:
                self._released.wait(timeout=1.0)

    def loaded(self) -> list[ModelKey]:
        """The models loaded now, least recently used first."""
        with self._lock:
            return list(self._engines)

    def _make_room(self, need: int) -> bool:
        """Unload what must go for a model of ``need`` bytes (the lock is held); False when
        models that runs hold leave too little room (they are never unloaded for it)."""
        while len(self._engines) >= self._capacity:
            _, evicted = self._engines.popitem(last=False)
            self._drop(evicted)
        if self._budget is None:
            return True
        used = sum(self._sizes.values())
        for key, engine in list(self._engines.items()):
            if used + need <= self._budget:
                break
            if not self._leases.get(id(engine)):
                del self._engines[key]
                used -= self._sizes.get(id(engine), 0)
                self._drop(engine)
        alone = not self._engines and not self._dropped
        return used + need <= self._budget or alone  # one model over the budget still loads

    @contextlib.contextmanager
    def lease(self, path: ModelKey) -> Iterator[Engine]:
        """The engine for ``path``, kept loaded until the block ends."""
        while True:
            engine = self.get(path)
            with self._lock:
                if self._engines.get(path) is engine:  # not dropped in between
                    self._leases[id(engine)] = self._leases.get(id(engine), 0) + 1
                    break
        try:
            yield engine
        finally:
            with self._lock:
                left = self._leases[id(engine)] - 1
                if left:
                    self._leases[id(engine)] = left
                else:
                    del self._leases[id(engine)]
                retired = self._dropped.pop(id(engine), None) if not left else None
                if retired is not None:
                    self._sizes.pop(id(retired), None)
                self._released.notify_all()
            if retired is not None and self._owned:
                _close(retired)

    def _drop(self, engine: Engine) -> None:
        """Close ``engine`` now, or when its last lease ends (the lock is held)."""
        if self._leases.get(id(engine)):
            self._dropped[id(engine)] = engine
            return
        self._sizes.pop(id(engine), None)
        if self._owned:
            _close(engine)

    def close(self) -> None:
        """Free every loaded model (call when no run uses them any more)."""
        with self._lock:
            engines = list(self._engines.values()) + list(self._dropped.values())
            self._engines.clear()
            self._dropped.clear()
            self._sizes.clear()
        if self._owned:
            for engine in engines:
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

    def load(path: ModelKey) -> Engine:
        assert isinstance(path, Path), "a serving engine's model, without an engine_url"
        return LlamaEngine(
            path,
            n_threads=settings.n_threads,
            threads=ThreadAdvisor(settings.n_threads) if settings.adaptive_threads else None,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            chat_template=settings.chat_template,
            progress=progress,
            prefix_cache=prefix_cache,
            parallel=settings.parallel,
            flash_attention=settings.flash_attention,
            kv_cache_type=settings.kv_cache_type,
        )

    return load


def remote_factory(settings: Settings) -> EngineFactory:
    """Engines that send generation to ``settings.engine_url``: the model a run names if the
    engine lists it, else ``settings.engine_model`` (or the first it lists), with prompts
    made from the model's GGUF (vocabulary only) and a context no longer than the
    settings', the file's or the engine's (``max_model_len``, where it lists one)."""
    url = settings.engine_url
    assert url is not None
    # Here, not at the top: httpx is only needed with an engine elsewhere, and importing
    # it costs every cold start ~50 ms on the import thread.
    from .remote import RemoteEngine
    from .remote_wire import served_models

    def load(model: ModelKey) -> Engine:
        assert isinstance(model, RemoteModel)
        listed = served_models(url, settings.engine_timeout)
        names = [entry["id"] for entry in listed]
        fallback = settings.engine_model or (names[0] if names else None)
        name = model.requested if model.requested in names else fallback
        entry = next((e for e in listed if e["id"] == name), None)
        if entry is None:
            known = ", ".join(e["id"] for e in listed) or "none"
            raise EngineError(
                f"The engine at {url} does not serve model {name!r} (it lists: {known})."
            )
        prompt, trained = vocabulary_prompt(model.tokenizer, settings.chat_template)
        limits = [settings.n_ctx, trained, int(entry.get("max_model_len") or 0)]
        return RemoteEngine(
            url,
            str(entry["id"]),
            prompt,
            context_length=min(limit for limit in limits if limit > 0),
            constraint=settings.engine_constraint,
            timeout=settings.engine_timeout,
        )

    return load
