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
"""

from __future__ import annotations

import gc
import sys


def pause_collector() -> None:
    """Turn the cyclic collector off until :func:`freeze_startup`."""
    gc.disable()


def import_sdk() -> None:
    """Import ``openai`` (if nothing has yet) without its optional aiohttp transport."""
    if "openai" in sys.modules:
        return
    masked = "aiohttp" not in sys.modules
    if masked:
        sys.modules["aiohttp"] = None  # type: ignore[assignment]  # makes the import fail
    try:
        import openai  # noqa: F401 - imported for the side effect of loading it here
    finally:
        if masked and sys.modules.get("aiohttp", ...) is None:
            del sys.modules["aiohttp"]


def resume_collector() -> None:
    """Turn the collector back on without freezing anything: for a start that gives up."""
    gc.enable()


def freeze_startup() -> None:
    """Keep what startup made out of every later collection, and turn the collector on."""
    gc.freeze()
    gc.enable()
