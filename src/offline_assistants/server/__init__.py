"""The HTTP face: an OpenAI-compatible server over the same service layer as the Python API.

``create_app`` is imported on first use, so that ``server.security`` (what the command
line needs before it starts the model's load) comes without the whole app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
