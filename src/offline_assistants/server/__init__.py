"""The HTTP face: an OpenAI-compatible server over the same service layer as the Python API."""

from .app import create_app

__all__ = ["create_app"]
