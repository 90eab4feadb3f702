"""Assistants v1 on the wire: requests sent with ``OpenAI-Beta: assistants=v1``.

The Assistants API's first edition (openai-python 1.2.3, the overview notebook as
first published) named files directly: ``file_ids`` on assistants and messages, and
a ``retrieval`` tool that searched them. v2 moved files into ``tool_resources``
(vector stores for ``file_search``) and message ``attachments``. This middleware
lets a v1 client run unchanged by translating at the edge, leaving the service,
the store and the executor v2-only:

- requests: ``{"type": "retrieval"}`` becomes ``{"type": "file_search"}``; an
  assistant's ``file_ids`` become its Code Interpreter files *and* a new vector
  store for file_search (v1 offered an assistant's files to both tools); a
  message's ``file_ids`` become attachments for both tools;
- answers (JSON objects, list pages and stream events alike): ``file_search``
  tools and calls read ``retrieval`` again, assistants, messages and runs carry
  ``file_ids``, and the v2-only fields are left out, so objects look as the v1
  API returned them.

Requests without the header are passed through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from ..errors import OfflineAssistantsError
from ..service import Runtime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BOTH_TOOLS = [{"type": "code_interpreter"}, {"type": "file_search"}]
# Fields v2 added to each object; a v1 answer leaves them out.
V2_ONLY: dict[str, tuple[str, ...]] = {
    "assistant": ("tool_resources", "response_format", "temperature", "top_p", "reasoning_effort"),
    "thread": ("tool_resources",),
    "thread.message": ("attachments", "status", "incomplete_details", "completed_at", "incomplete_at"),
    "thread.run": (
        "max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "response_format",
        "tool_choice", "parallel_tool_calls", "incomplete_details", "temperature", "top_p",
        "reasoning_effort",
    ),
}  # fmt: skip


def is_v1(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"openai-beta" and b"assistants=v1" in value.lower():
            return True
    return False


class AssistantsV1:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_v1(scope):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and _is_json(scope):
            receive = await self._translated_request(scope, receive)
        await self.app(scope, receive, _Answers(send, self).send)

    async def _translated_request(self, scope: Scope, receive: Receive) -> Receive:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = None  # malformed: let the app say so
        if isinstance(body, dict):
            body = await anyio.to_thread.run_sync(self.request_to_v2, scope["path"], body)
            raw = json.dumps(body).encode()
        scope["headers"] = [
            (k, v) for k, v in scope["headers"] if k.lower() != b"content-length"
        ] + [(b"content-length", str(len(raw)).encode())]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        return replay

    def request_to_v2(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A v1 request body in v2 shape (by route: assistants, threads, messages, runs)."""
        body = dict(body)
        if "tools" in body:
            body["tools"] = _tools_to_v2(body["tools"])
        parts = path.rstrip("/").split("/")  # "", "v1", "assistants", ...
        if parts[2:3] == ["assistants"] and "file_ids" in body:
            body["tool_resources"] = self._resources(body.pop("file_ids"))
        if parts[2:3] == ["threads"]:
            if len(parts) == 5 and parts[4] == "messages":
                body = _message_to_v2(body)
            thread = body.get("thread") if parts[3:4] == ["runs"] else body
            if isinstance(thread, dict) and isinstance(thread.get("messages"), list):
                thread["messages"] = [_message_to_v2(m) for m in thread["messages"]]
        return body

    def _resources(self, file_ids: Any) -> Any:
        """v1 gave an assistant's files to both tools: the Code Interpreter's files, and a
        vector store of them for file_search (made here: v2's update takes only ids)."""
        if not isinstance(file_ids, list) or not file_ids:
            return {
                "code_interpreter": {"file_ids": file_ids},
                "file_search": {"vector_store_ids": []},
            }
        try:
            store = self.runtime.vector_stores.create(
                {"name": "assistant files (v1)", "file_ids": file_ids}
            )
        except OfflineAssistantsError:  # bad ids: the service says so, naming them
            return {"code_interpreter": {"file_ids": file_ids}}
        return {
            "code_interpreter": {"file_ids": file_ids},
            "file_search": {"vector_store_ids": [store.id]},
        }

    # -- answers -------------------------------------------------------------------------

    def object_to_v1(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        kind = value.get("object")
        if kind == "list" and isinstance(value.get("data"), list):
            return {**value, "data": [self.object_to_v1(item) for item in value["data"]]}
        if kind == "assistant":
            value = {
                **value,
                "tools": _tools_to_v1(value.get("tools")),
                "file_ids": self._files(value),
            }
        elif kind == "thread.message":
            value = {
                **value,
                "file_ids": [
                    a["file_id"] for a in value.get("attachments") or [] if "file_id" in a
                ],
            }
        elif kind == "thread.run":
            value = {
                **value,
                "tools": _tools_to_v1(value.get("tools")),
                "file_ids": self._assistant_files(value.get("assistant_id")),
            }
        elif kind in ("thread.run.step", "thread.run.step.delta"):
            value = _step_to_v1(value)
        for field in V2_ONLY.get(str(kind), ()):
            value.pop(field, None)
        return value

    def _files(self, assistant: dict[str, Any]) -> list[str]:
        """v1's ``file_ids``: the Code Interpreter's files and the file_search store's."""
        resources = assistant.get("tool_resources") or {}
        ids = list((resources.get("code_interpreter") or {}).get("file_ids") or [])
        for store_id in (resources.get("file_search") or {}).get("vector_store_ids") or []:
            ids += [row.id for row in self.runtime.store.vector_stores.files_in(store_id)]
        return list(dict.fromkeys(ids))

    def _assistant_files(self, assistant_id: Any) -> list[str]:
        found = self.runtime.store.assistants.get(assistant_id) if assistant_id else None
        if found is None:
            return []
        return self._files(found.model_dump(mode="json"))


class _Answers:
    """Rewrites the app's answer: a JSON body whole, an event stream frame by frame."""

    def __init__(self, send: Send, v1: AssistantsV1) -> None:
        self._send = send
        self._v1 = v1
        self._start: Message | None = None
        self._chunks: list[bytes] = []
        self._mode = "raw"  # "json" (rewritten whole), "events" (frame by frame) or "raw"

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            content_type = headers.get(b"content-type", b"")
            if content_type.startswith(b"application/json"):
                self._mode, self._start = "json", message
                return
            if content_type.startswith(b"text/event-stream"):
                self._mode = "events"
            await self._send(message)
            return
        if message["type"] != "http.response.body" or self._mode == "raw":
            await self._send(message)
            return
        if self._mode == "events":
            frames = await anyio.to_thread.run_sync(self._frames, message.get("body", b""))
            await self._send({**message, "body": frames})
            return
        self._chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = await anyio.to_thread.run_sync(self._rewritten, b"".join(self._chunks))
        assert self._start is not None
        kept = [(k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"]
        await self._send(
            {**self._start, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        )
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    def _rewritten(self, body: bytes) -> bytes:
        try:
            return json.dumps(self._v1.object_to_v1(json.loads(body))).encode()
        except ValueError:
            return body

    def _frames(self, chunk: bytes) -> bytes:
        lines = []
        for line in chunk.split(b"\n"):
            if line.startswith(b"data: {"):
                try:
                    data = self._v1.object_to_v1(json.loads(line[6:]))
                    line = b"data: " + json.dumps(data).encode()
                except ValueError:
                    pass
            lines.append(line)
        return b"\n".join(lines)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            return bool(value.lower().startswith(b"application/json"))
    return True  # no content type: the JSON routes parse it anyway


def _message_to_v2(message: Any) -> Any:
    if not isinstance(message, dict) or "file_ids" not in message:
        return message
    message = dict(message)
    file_ids = message.pop("file_ids")
    if isinstance(file_ids, list):
        message["attachments"] = [{"file_id": f, "tools": BOTH_TOOLS} for f in file_ids]
    else:
        message["attachments"] = file_ids
    return message


def _tools_to_v2(tools: Any) -> Any:
    if not isinstance(tools, list):
        return tools
    return [
        {"type": "file_search"} if isinstance(t, dict) and t.get("type") == "retrieval" else t
        for t in tools
    ]


def _tools_to_v1(tools: Any) -> Any:
    if not isinstance(tools, list):
        return tools
    return [
        {"type": "retrieval"} if isinstance(t, dict) and t.get("type") == "file_search" else t
        for t in tools
    ]


def _step_to_v1(step: dict[str, Any]) -> dict[str, Any]:
    holder = step.get("delta", step)
    details = holder.get("step_details") if isinstance(holder, dict) else None
    if not isinstance(details, dict) or not isinstance(details.get("tool_calls"), list):
        return step
    calls = [
        {
            k: v
            for k, v in {**call, "type": "retrieval", "retrieval": {}}.items()
            if k != "file_search"
        }
        if isinstance(call, dict) and call.get("type") == "file_search"
        else call
        for call in details["tool_calls"]
    ]
    details = {**details, "tool_calls": calls}
    if "delta" in step:
        return {**step, "delta": {**step["delta"], "step_details": details}}
    return {**step, "step_details": details}
