"""One exception tree for the whole runtime; each error knows its HTTP status and OpenAI type.

    OfflineAssistantsError            500  server_error           (base; never raised bare)
    ├── InvalidRequestError           400  invalid_request_error  (bad parameter: names `param`)
    │   ├── ModelFileError            400  invalid_request_error  (missing or invalid .gguf; names the path)
    │   └── ConflictError             400  invalid_request_error  (object busy: a run is active, as OpenAI answers)
    │   └── PayloadTooLargeError      413  invalid_request_error  (a body or upload over the cap)
    ├── NotFoundError                 404  invalid_request_error  (unknown id)
    ├── DataDirLockedError            409  invalid_request_error  (another process owns the database)
    ├── InsufficientStorageError      507  server_error           (the data directory's disk is full)
    ├── UpstreamError                 502  server_error           (a server this runtime uses failed; names it)
    │   ├── EngineError               502  server_error           (the serving engine: --engine-url)
    │   ├── VectorIndexError          502  server_error           (the Chroma server: --chroma-url)
    │   └── McpServerError            424  external_connector_error (an MCP server's tools: tools[i])
    └── InternalError                 500  server_error

The Python API raises these; the HTTP server turns them into OpenAI's envelope
``{"error": {"message", "type", "param", "code"}}`` with ``status_code``, so the
official client raises its own matching class (BadRequestError, NotFoundError, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar


class OfflineAssistantsError(Exception):
    """Base of every error this package raises on purpose."""

    status_code: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The error in OpenAI's wire envelope."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, param={self.param!r}, code={self.code!r})"


class InvalidRequestError(OfflineAssistantsError):
    """A parameter is missing, malformed or out of range; ``param`` names it."""

    status_code = 400
    type = "invalid_request_error"


class ModelFileError(InvalidRequestError):
    """A model path that does not exist or is not a GGUF file; the message names the path."""


class PayloadTooLargeError(InvalidRequestError):
    """A request body or an upload larger than the server accepts; the message gives the cap."""

    status_code = 413


class NotFoundError(OfflineAssistantsError):
    """No object with that id (in that parent)."""

    status_code = 404
    type = "invalid_request_error"


class ConflictError(InvalidRequestError):
    """The object exists but is busy: e.g. adding a message while a run is active.

    OpenAI answers these with 400, so we do too; ``code`` is ``"active_run"``.
    """

    def __init__(self, message: str, *, param: str | None = None, code: str | None = "active_run"):
        super().__init__(message, param=param, code=code)


class DataDirLockedError(OfflineAssistantsError):
    """Another process already has the data directory's database open."""

    status_code = 409
    type = "invalid_request_error"


class InsufficientStorageError(OfflineAssistantsError):
    """The data directory's disk is full: nothing was written; free space and retry.

    The database reopens itself once space is back; no restart is needed.
    """

    status_code = 507
    type = "server_error"

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = "insufficient_storage"
    ) -> None:
        super().__init__(message, param=param, code=code)


class UpstreamError(OfflineAssistantsError):
    """A server this runtime relies on failed: it could not be reached, answered too slowly,
    refused the request or broke off. The message names the server and the cause."""

    status_code = 502
    type = "server_error"
    default_code: ClassVar[str] = "upstream_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, param=param, code=code or self.default_code)


class EngineError(UpstreamError):
    """The serving engine that generates for this runtime (``--engine-url``)."""

    default_code = "engine_error"


class VectorIndexError(UpstreamError):
    """The Chroma server that holds the vector index (``--chroma-url``)."""

    default_code = "vector_index_error"


class McpServerError(UpstreamError):
    """An MCP server a request's ``mcp`` tool names could not list its tools: 424, as the
    hosted API answers (a failed call is an ``mcp_call`` item with an ``error``, not this)."""

    status_code = 424
    type = "external_connector_error"
    default_code = "mcp_server_error"


class InternalError(OfflineAssistantsError):
    """A bug or an unexpected failure inside the runtime."""

    status_code = 500
    type = "server_error"


__all__ = [
    "ConflictError",
    "DataDirLockedError",
    "EngineError",
    "InsufficientStorageError",
    "InternalError",
    "InvalidRequestError",
    "ModelFileError",
    "NotFoundError",
    "OfflineAssistantsError",
    "PayloadTooLargeError",
    "UpstreamError",
    "VectorIndexError",
    "McpServerError",
]
