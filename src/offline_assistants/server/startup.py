"""How ``serve`` (cli.py) imports the server: the part of a cold start that is Python's.

Importing the service layer makes ~190,000 objects, most of them the ``openai`` SDK's
pydantic classes, and nearly all of them live as long as the process. Python's cyclic
collector, left on, walks that growing heap again and again while it is built: 0.1-0.3 s
of a ~1.5 s import on the 2-core machine (``benchmarks/cold_start.py``). ``serve``
therefore pauses it before its first heavy import (:func:`pause_collector`) and, once the
app is built, moves everything made so far into the permanent generation and turns the
collector back on (:func:`freeze_startup`; a start that gives up only turns it on,
:func:`resume_collector`). Later collections then skip those objects: a
full collection over them took ~0.12 s, a pause a streamed answer would otherwise feel
whenever one came while serving.

:func:`import_sdk` imports the ``openai`` package with the optional ``aiohttp`` transport
it tries at import time (``openai._base_client``; ~0.1-0.15 s with ``attrs``) left out:
the server never makes a call through the SDK's HTTP client, it only uses its types.
``aiohttp`` stays importable afterwards for anything else that wants it.

It also defers the ``__init__`` of the SDK's type packages that import every type in
them (:data:`DEFERRED`): ``openai.types.beta``'s alone imports the Agents, ChatKit,
realtime and beta Responses types, ~0.2 s of a cold start, of which the server uses a
few dozen Assistants classes. Such a package starts as an empty module with the real
``__path__``, so ``openai.types.beta.threads.run`` and the other submodules import as
usual; the first name looked up on it that it lacks (``from openai.types.beta import
Assistant``, ``import *``) runs its real ``__init__`` in it, and from then on it is what
a plain import makes (:func:`defer_init`).
"""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

# The SDK's type packages whose ``__init__`` waits until a name is looked up on them.
DEFERRED = (
    "openai.types",
    "openai.types.beta",
    "openai.types.beta.threads",
    "openai.types.beta.threads.runs",
)


def pause_collector() -> None:
    """Turn the cyclic collector off until :func:`freeze_startup`."""
    gc.disable()


def import_sdk() -> None:
    """Import ``openai`` (if nothing has yet) without its optional aiohttp transport, the
    packages of :data:`DEFERRED` waiting for a name to be looked up on them."""
    if "openai" in sys.modules:
        return
    found = importlib.util.find_spec("openai")  # finds the package without running it
    if found is not None and found.submodule_search_locations:
        root = Path(next(iter(found.submodule_search_locations)))
        for name in DEFERRED:
            folder = root.joinpath(*name.split(".")[1:])
            if name in sys.modules or not (folder / "__init__.py").is_file():
                continue  # another SDK version may lay it out otherwise: imported as usual
            package = sys.modules[name] = defer_init(name, folder)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:  # as an import sets it (``openai`` itself sets types)
                setattr(sys.modules[parent], child, package)
    masked = "aiohttp" not in sys.modules
    if masked:
        sys.modules["aiohttp"] = None  # type: ignore[assignment]  # makes the import fail
    try:
        import openai  # noqa: F401 - imported for the side effect of loading it here
    finally:
        if masked and sys.modules.get("aiohttp", ...) is None:
            del sys.modules["aiohttp"]


def defer_init(name: str, folder: Path) -> ModuleType:
    """The package ``name`` in ``folder``, its ``__init__.py`` not yet run: that happens,
    once, when a name it lacks is first looked up on it."""
    init = folder / "__init__.py"
    loader = importlib.machinery.SourceFileLoader(name, str(init))
    spec = importlib.util.spec_from_file_location(
        name, init, loader=loader, submodule_search_locations=[str(folder)]
    )
    assert spec is not None
    package = importlib.util.module_from_spec(spec)
    lock = threading.RLock()  # a second thread waits for the first to finish it
    started = False

    def complete(attribute: str) -> Any:
        nonlocal started
        with lock:
            if not started:  # (the __init__'s own lookups, while it runs, only miss)
                started = True
                try:
                    loader.exec_module(package)
                finally:
                    package.__dict__.pop("__getattr__", None)
        try:
            return package.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    package.__getattr__ = complete  # type: ignore[method-assign]
    return package


def resume_collector() -> None:
    """Turn the collector back on without freezing anything: for a start that gives up."""
    gc.enable()


def freeze_startup() -> None:
    """Keep what startup made out of every later collection, and turn the collector on."""
    gc.freeze()
    gc.enable()
