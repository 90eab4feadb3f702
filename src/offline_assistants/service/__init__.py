"""The service layer: validation + storage + run queueing, shared by the Python API and the server."""

from .runtime import Runtime

__all__ = ["Runtime"]
