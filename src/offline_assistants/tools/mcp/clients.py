"""The runtime's MCP client: lists and calls the tools of MCP servers, with the official SDK.

A Responses request's ``mcp`` tool names a server by a label and maybe a URL:
one reached at a URL (Streamable HTTP), or one declared to the runtime under
that label (``serve --mcp NAME=COMMAND``, :mod:`.declared`). :class:`McpClients`
owns one event loop on a thread of its own; the service and the run executor
call it from their threads and wait for the answer.

- A stdio server is started on first use and kept alive: one task holds its
  ``mcp.Client`` open and serves the requests for it one at a time. A server
  that died, broke the protocol or overran the timeout is stopped and started
  again for the next request. ``close`` stops them all.
- A URL server is connected for each request (headers, such as authorization,
  are the request's own), so nothing of one request's credentials stays: over
  Streamable HTTP, or over the older SSE transport where the URL's path ends in
  ``/sse`` (as those servers publish it).

Whatever a server answers is bounded: a call's text output is cut at
``MAX_OUTPUT_CHARS``, a call or a listing past ``timeout`` seconds is given up
(an endless stream included), undecodable bytes on a stdio pipe are replaced.
A failed call is an :class:`McpOutcome` with an ``error`` in the hosted API's
shapes (``mcp_tool_execution_error``, ``mcp_protocol_error``, ``http_error``);
only a listing that fails raises (:class:`McpUnavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .declared import Declared

if TYPE_CHECKING:  # the MCP library (~0.2 s to import) is loaded on the first call
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

log = logging.getLogger(__name__)
MAX_OUTPUT_CHARS = 20_000  # of one call's text: what the model reads back, and the item
CUT = "\n[output cut at {limit} characters]"
T = TypeVar("T")
Job = Callable[["Client"], Awaitable[Any]]
# JSON-RPC codes of MCP (mcp_types.jsonrpc): the connection closed, a request timed out;
# both mean the server is not there
CONNECTION_CLOSED, REQUEST_TIMEOUT = -32000, -32001
GONE = (CONNECTION_CLOSED, REQUEST_TIMEOUT)


class McpUnavailable(Exception):
    """A server could not be reached or could not list its tools; the message says why."""


@dataclass(frozen=True)
class McpOutcome:
    """A call's result: its text ``output``, or an ``error`` item field (then no output)."""

    output: str | None
    error: dict[str, Any] | None = None


class McpClients:
    def __init__(self, declared: Mapping[str, Declared], timeout: float = 30.0) -> None:
        self.declared = dict(declared)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcp", daemon=True)
        self._thread.start()
        self._queues: dict[str, asyncio.Queue[tuple[Job, asyncio.Future[Any]] | None]] = {}
        self._keepers: dict[str, asyncio.Task[None]] = {}

    # -- what the service and the executor call ---------------------------------------------

    def list_tools(
        self, label: str, url: str | None = None, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The tools of the server at ``url`` (sent ``headers``), or, with no URL, of the one
        declared as ``label``: as ``mcp_list_tools`` lists them (name, description,
        input_schema, annotations)."""
        from mcp.shared.exceptions import MCPError

        async def listing(client: Client) -> list[dict[str, Any]]:
            tools: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools += [_listed(tool) for tool in page.tools]
                cursor = page.next_cursor
                if not cursor:
                    return tools

        try:
            listed: list[dict[str, Any]] = self._wait(label, url, headers, listing)
            return listed
        except MCPError as exc:
            raise McpUnavailable(f"it answered with an MCP error: {exc}") from None
        except TimeoutError:
            raise McpUnavailable(f"it did not answer within {self.timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - unreachable, refused, died: all say why
            raise McpUnavailable(_why(exc)) from None

    def call_tool(
        self,
        label: str,
        url: str | None,
        headers: Mapping[str, str] | None,
        name: str,
        arguments: dict[str, Any],
    ) -> McpOutcome:
        """Call the tool ``name`` of that server with ``arguments``."""
        import httpx2
        from mcp.shared.exceptions import MCPError

        async def calling(client: Client) -> Any:
            return await client.call_tool(name, arguments, read_timeout_seconds=self.timeout)

        try:
            result = self._wait(label, url, headers, calling)
        except MCPError as exc:
            return McpOutcome(None, _protocol_error(exc.error.code, exc.error.message))
        except TimeoutError:
            message = f"The MCP server did not answer within {self.timeout:g} s."
            return McpOutcome(None, _protocol_error(REQUEST_TIMEOUT, message))
        except httpx2.HTTPStatusError as exc:
            error = {"type": "http_error", "code": exc.response.status_code, "message": str(exc)}
            return McpOutcome(None, error)
        except Exception as exc:  # noqa: BLE001 - a server down or gone mid-call is an item
            return McpOutcome(None, _protocol_error(-32000, f"The MCP server failed: {_why(exc)}"))
        text = _bounded(_text(result.content, result.structured_content))
        if result.is_error:
            content = [{"type": "text", "text": text}]
            return McpOutcome(None, {"type": "mcp_tool_execution_error", "content": content})
        return McpOutcome(text)

    def servers(self) -> list[dict[str, Any]]:
        """The declared servers as the Dashboard lists them: label, transport, what starts
        or reaches them, and whether a stdio one is running now."""
        listed: list[dict[str, Any]] = []
        for label, declared in sorted(self.declared.items()):
            if isinstance(declared, str):
                listed.append({"label": label, "transport": "http", "url": declared})
                continue
            keeper = self._keepers.get(label)
            listed.append(
                {
                    "label": label,
                    "transport": "stdio",
                    "command": " ".join([declared.command, *declared.args]),
                    "running": keeper is not None and not keeper.done(),
                }
            )
        return listed

    def close(self, timeout: float = 10.0) -> None:
        """Stop the stdio servers and the loop."""
        if not self._loop.is_running():
            return

        async def stop_all() -> None:
            for queue in self._queues.values():
                queue.put_nowait(None)
            keepers = list(self._keepers.values())
            if keepers:
                _, pending = await asyncio.wait(keepers, timeout=timeout)
                for task in pending:
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop_all(), self._loop).result(timeout + 1)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    # -- the loop's side ----------------------------------------------------------------------

    def _wait(
        self, label: str, url: str | None, headers: Mapping[str, str] | None, job: Job
    ) -> Any:
        future = asyncio.run_coroutine_threadsafe(
            self._run(label, url, headers or {}, job), self._loop
        )
        try:
            return future.result(self.timeout + 5)
        except TimeoutError:
            future.cancel()
            raise

    async def _run(self, label: str, url: str | None, headers: Mapping[str, str], job: Job) -> Any:
        params = self.declared.get(label) if url is None else url
        if params is None:
            raise McpUnavailable(f"no MCP server {label!r} is declared to the runtime")
        if isinstance(params, str):
            return await asyncio.wait_for(self._once(params, headers, job), self.timeout)
        queue = self._queues.get(label)
        if queue is None:
            queue = self._queues[label] = asyncio.Queue()
        keeper = self._keepers.get(label)
        if keeper is None or keeper.done():
            self._keepers[label] = asyncio.get_running_loop().create_task(
                self._keep(label, params, queue)
            )
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await queue.put((job, answer))
        return await asyncio.wait_for(asyncio.shield(answer), self.timeout)

    async def _once(self, url: str, headers: Mapping[str, str], job: Job) -> Any:
        import httpx2
        from mcp import Client
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamable_http_client

        if urlsplit(url).path.rstrip("/").endswith("/sse"):
            transport = sse_client(url, headers=dict(headers), timeout=self.timeout)
            async with Client(transport) as client:
                return await job(client)
        async with (
            httpx2.AsyncClient(headers=dict(headers), timeout=self.timeout) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return await job(client)

    async def _keep(
        self,
        label: str,
        params: StdioServerParameters,
        queue: asyncio.Queue[tuple[Job, asyncio.Future[Any]] | None],
    ) -> None:
        """Serve ``label``'s requests over one connection; start it again after a failure."""
        from mcp import Client
        from mcp.shared.exceptions import MCPError

        waiting = await queue.get()
        while waiting is not None:
            try:
                async with Client(params, read_timeout_seconds=self.timeout) as client:
                    while waiting is not None:
                        job, answer = waiting
                        try:
                            result = await asyncio.wait_for(job(client), self.timeout)
                        except MCPError as exc:
                            _settle(answer, error=exc)
                            if exc.code in GONE:  # closed, or wedged: start it again
                                raise
                        else:
                            _settle(answer, result)
                        waiting = await queue.get()
            except Exception as exc:  # noqa: BLE001 - died, timed out, broke the protocol
                log.warning("MCP server %r stopped: %s", label, _why(exc))
                if waiting is not None:
                    _settle(waiting[1], error=exc)
                    waiting = await queue.get()  # started again for the next request
            except asyncio.CancelledError:
                raise


def _settle(
    answer: asyncio.Future[Any], result: Any = None, error: BaseException | None = None
) -> None:
    if answer.done():  # its caller gave up waiting
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)


def _listed(tool: Any) -> dict[str, Any]:
    annotations = (
        tool.annotations.model_dump(exclude_none=True, by_alias=True) if tool.annotations else None
    )
    return {
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.input_schema,
        "annotations": annotations,
    }


def _text(content: list[Any], structured: Any) -> str:
    """A result's content as the text the model reads: text blocks as they are, other
    blocks (images, resources) named by their kind; structured content as JSON when the
    server sent no text."""
    parts: list[str] = []
    for block in content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        else:
            parts.append(f"[{kind} content]")
    if not parts and structured is not None:
        return json.dumps(structured, ensure_ascii=False)
    return "\n".join(parts)


def _bounded(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[:MAX_OUTPUT_CHARS] + CUT.format(limit=MAX_OUTPUT_CHARS)


def _protocol_error(code: int, message: str) -> dict[str, Any]:
    return {"type": "mcp_protocol_error", "code": code, "message": message}


def _why(exc: BaseException) -> str:
    """An exception group's first cause (anyio wraps them), said plainly."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
