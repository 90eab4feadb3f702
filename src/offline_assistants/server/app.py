"""The FastAPI app factory: routes mirroring ``/v1`` paths over one :class:`Runtime`.

``create_app(runtime)`` wires the routes modules, the Dashboard page at ``/``
(``routes/dashboard.py``), the error envelope, the security guard (Host
allowlist, optional API key), the body-size cap and the
Assistants v1 translation (``OpenAI-Beta: assistants=v1``). CORS
is off unless origins are configured. The app closes the runtime when it shuts
down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ..service import Runtime
from ..service.files import MAX_FILE_BYTES
from . import errors
from .limits import MAX_JSON_BYTES, BodyLimit
from .routes import (
    assistants,
    chat,
    containers,
    conversations,
    dashboard,
    files,
    mcp_servers,
    messages,
    models,
    responses,
    responses_socket,
    runs,
    steps,
    threads,
    vector_store_files,
    vector_stores,
)
from .security import LOOPBACK_HOSTS, Guard
from .v1 import AssistantsV1


def create_app(
    runtime: Runtime,
    *,
    api_key: str | None = None,
    allowed_hosts: Iterable[str] = (),
    cors_origins: Iterable[str] = (),
    close_runtime: bool = True,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_runtime:
            runtime.close()

    app = FastAPI(
        title="offline-assistants",
        description="The OpenAI Assistants API (v2), Responses, Conversations, Chat Completions and Models, offline.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Offline means offline: no OpenTelemetry, not even if the environment asks for it.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.runtime = runtime
    errors.install(app)
    # threads.router first: its /v1/threads/runs must win over /v1/threads/{thread_id}.
    for router in (
        threads.router,
        assistants.router,
        messages.router,
        runs.router,
        steps.router,
        files.router,
        vector_stores.router,
        vector_store_files.router,
        chat.router,
        models.router,
        responses.router,
        responses_socket.router,
        conversations.router,
        containers.router,
        mcp_servers.router,
        dashboard.make_router(),
    ):
        app.include_router(router)
    origins = list(cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(AssistantsV1, runtime=runtime)
    app.add_middleware(BodyLimit, json_bytes=MAX_JSON_BYTES, upload_bytes=MAX_FILE_BYTES)
    app.add_middleware(
        Guard,
        allowed_hosts=frozenset(LOOPBACK_HOSTS | set(allowed_hosts)),
        api_key=api_key,
        public=dashboard.is_public,
    )
    app.add_middleware(errors.CatchAll)  # outermost of ours: whatever fails, an envelope
    return app
