"""How a stored response reads: its output, status, usage and input items, from its thread.

A response's record (``store/responses.py``) says where its input and output lie
in the thread; everything the API shows is rendered from the thread's messages
and steps on every read (``items.py`` turns them into items), so a
response being written, finished, or resumed by a later one always reads true.
"""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.runs.run_step import RunStep
from openai.types.responses.response import Response
from openai.types.responses.response_error import ResponseError

from ...errors import InvalidRequestError
from ...runs.call_steps import served_by
from ...store import ResponseRecord, Store
from ..checks.validation import check_list_params
from .items import ENCRYPTED, Seal, container_id, mcp_call_item, thread_items
from .sealed import REASONING, Sealer
from .tools import namespaces, with_namespace

STATUS = {
    "queued": "queued",
    "in_progress": "in_progress",
    "cancelling": "in_progress",
    "requires_action": "completed",
    "completed": "completed",
    "incomplete": "incomplete",
    "failed": "failed",
    "cancelled": "cancelled",
    "expired": "completed",
}


class WireError(ResponseError):
    """A response's error with any code: the SDK's list lacks ``context_length_exceeded``,
    which the API sends and Codex reads to compact its history."""

    code: str  # type: ignore[assignment]


class WireResponse(Response):
    """A Response as the API sends it: timestamps stay integers (the SDK types them as
    floats; the API and the Open Responses spec send integers) and an error may carry
    any code. Events carry it as their ``response`` (serialised with ``serialize_as_any``)."""

    created_at: int
    completed_at: int | None = None
    error: WireError | None = None


class ResponseViews:
    def __init__(self, store: Store, sealer: Sealer | None = None) -> None:
        self.store = store
        self.sealer = sealer

    def seal(self, record: ResponseRecord) -> Seal | None:
        """How the response's reasoning items carry ``encrypted_content``: sealed, where
        the request included it (None: they carry none)."""
        sealer = self.sealer
        if sealer is None or ENCRYPTED not in record.request.get("include", []):
            return None
        return lambda text: sealer.seal(REASONING, {"text": text})

    def filename(self, file_id: str) -> str:
        file = self.store.files.get(file_id)
        return file.filename if file is not None else file_id

    def output_items(
        self, record: ResponseRecord, steps: list[tuple[int, RunStep]]
    ) -> list[dict[str, Any]]:
        """The response's output: the MCP servers' tool lists it made, then its run's
        assistant messages and calls in its stretch of the thread (``steps``: the
        thread's, with their sequence numbers)."""

        def keep(seq: int, obj: Any) -> bool:
            mine = getattr(obj, "run_id", None) == record.run_id
            assistant = getattr(obj, "role", "assistant") == "assistant"
            return mine and assistant and _in_output(record, seq)

        items = thread_items(
            self.store.messages.in_thread_with_seq(record.thread_id),
            steps,
            include=record.request.get("include", []),
            with_outputs=False,
            filename=self.filename,
            container=self.container(record),
            keep=keep,
            seal=self.seal(record),
        )
        names = namespaces(record.request.get("tools", []))
        made = approved_calls(record, steps) if record.answered else []
        return [*record.mcp_items, *made, *(with_namespace(item, names) for item in items)]

    def container(self, record: ResponseRecord) -> str:
        """The container the response's code runs in."""
        named = self.store.runs.options(record.run_id).container
        return named or container_id(record.thread_id)

    def render(self, record: ResponseRecord) -> Response:
        run = self.store.runs.get(record.run_id)
        status = (
            "completed" if record.output_until is not None or run is None else STATUS[run.status]
        )
        error = None
        incomplete = None
        if run is not None and record.output_until is None:
            if run.status == "failed" and run.last_error is not None:
                error = {"code": "server_error", "message": run.last_error.message}
            if run.status == "incomplete":
                reason = run.incomplete_details.reason if run.incomplete_details else None
                if reason == "max_prompt_tokens":
                    status = "failed"
                    error = {
                        "code": "context_length_exceeded",
                        "message": "The input does not fit the model's context window; "
                        "use truncation 'auto' to drop the oldest items.",
                    }
                else:
                    incomplete = {"reason": "max_output_tokens"}
        steps = self.store.steps.in_thread_with_seq(record.thread_id)
        body = {
            "id": record.id,
            "object": "response",
            "created_at": record.created_at,
            "status": status,
            "output": self.output_items(record, steps),
            "error": error,
            "incomplete_details": incomplete,
            "usage": _usage(record, steps),
            "conversation": {"id": record.conversation_id} if record.conversation_id else None,
            "previous_response_id": record.previous_response_id,
            "background": record.background,
            "completed_at": run.completed_at if run is not None and status == "completed" else None,
            **{k: v for k, v in record.request.items() if k != "include"},
        }
        return WireResponse.model_validate(body)

    def input_items(
        self,
        record: ResponseRecord,
        *,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        include: Any = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        params = check_list_params(limit, order or "desc", after, None)
        answered = set(record.answered)
        include_list = list(include or [])

        def keep(seq: int, obj: Any) -> bool:
            return record.input_from <= seq < record.output_from

        items = [
            {
                "id": "fco_" + call_id.split("_", 1)[-1],
                "type": "function_call_output",
                "call_id": call_id,
                "output": output,
                "status": "completed",
            }
            for call_id, output in self._outputs(record.run_id, answered)
        ]
        items += thread_items(
            self.store.messages.in_thread_with_seq(record.thread_id),
            self.store.steps.in_thread_with_seq(record.thread_id),
            include=include_list,
            with_outputs=True,
            filename=self.filename,
            container=self.container(record),
            keep=keep,
        )
        return page_of(items, params.limit, params.order, params.after)

    def _outputs(self, run_id: str, call_ids: set[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for step in self.store.steps.in_run(run_id):
            if step.step_details.type != "tool_calls":
                continue
            for call in step.step_details.tool_calls:
                if call.type == "function" and call.id in call_ids:
                    found.append((call.id, call.function.output or ""))
        return found


def page_of(
    items: list[dict[str, Any]], limit: int, order: str, after: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """A cursor page of in-memory items (``after`` is an item id in the listed order)."""
    ordered = items if order == "asc" else list(reversed(items))
    if after is not None:
        ids = [item["id"] for item in ordered]
        if after not in ids:
            raise InvalidRequestError(
                f"Invalid 'after': no item with id '{after}' in this list.", param="after"
            )
        ordered = ordered[ids.index(after) + 1 :]
    return ordered[:limit], len(ordered) > limit


def _in_output(record: ResponseRecord, seq: int) -> bool:
    """Whether an object made at ``seq`` lies in the response's output stretch."""
    return seq >= record.output_from and (record.output_until is None or seq < record.output_until)


def _usage(record: ResponseRecord, steps: list[tuple[int, RunStep]]) -> dict[str, Any]:
    """Token counts of the run's steps in the response's output stretch."""
    prompt = completion = reasoning = 0
    for seq, step in steps:
        if step.run_id == record.run_id and step.usage is not None and _in_output(record, seq):
            prompt += step.usage.prompt_tokens
            completion += step.usage.completion_tokens
            details = (step.usage.model_extra or {}).get("completion_tokens_details") or {}
            reasoning += int(details.get("reasoning_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def approved_calls(
    record: ResponseRecord, steps: list[tuple[int, RunStep]]
) -> list[dict[str, Any]]:
    """The MCP calls this response's input approved, as the ``mcp_call`` items it made
    (they were asked for in an earlier response: ``mcp_approvals.py``)."""
    made: list[dict[str, Any]] = []
    for _, step in steps:
        if step.run_id != record.run_id or step.step_details.type != "tool_calls":
            continue
        for call in step.step_details.tool_calls:
            served = served_by(call)
            if call.id in record.answered and served and served.get("approval") == "approved":
                made.append(mcp_call_item(call, served, done=True))
    return made
