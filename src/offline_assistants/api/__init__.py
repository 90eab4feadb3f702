"""The Python API: a resource tree mirroring the ``openai`` SDK's, running in process."""

from ._common import CursorPage
from .client import Beta, Client

__all__ = ["Beta", "Client", "CursorPage"]
