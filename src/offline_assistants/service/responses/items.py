"""Thread content as Responses items: how a response's output, its input items and a
conversation's items are read from the thread model.

- a user message → a ``message`` item with ``input_text``;
- an assistant message → a ``message`` item with ``output_text``. The thread
  text carries citation markers (``【0:1†paper.pdf, p. 3】``, the Assistants
  style); here the markers are taken out and each ``file_citation`` points at
  its place in the clean text (``index``), as the Responses API does. Files
  the code wrote stay linked in the text and become ``container_file_citation``
  annotations over the link;
- a step that keeps a reasoning model's reasoning (``step_details.reasoning``,
  ``runs/reasoning.py``) → a ``reasoning`` item with its ``reasoning_text``,
  before the step's message or calls;
- a ``tool_calls`` step → one item per call: ``function_call`` (and, for
  conversation and input listings, its ``function_call_output``), ``mcp_call``
  for a function an MCP server serves (the call keeps its ``mcp`` server label
  and error beside it, ``runs/mcp_calls.py``),
  ``code_interpreter_call`` (``outputs`` only when included) and
  ``file_search_call`` (``results`` only when included).

Item ids: messages keep theirs (``msg_...``); a call ``call_X`` is the item
``fc_X`` / ``mcp_X`` / ``ci_X`` / ``fs_X`` (its output ``fco_X``), so every item is found
again from the thread alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.runs.run_step import RunStep

from ...runs.call_steps import served_by
from ...runs.code_calls import container_id
from ...runs.prompt import message_text
from ...runs.reasoning import kept_reasoning

__all__ = [
    "container_id",
    "thread_items",
    "call_items",
    "message_item",
    "reasoning_item",
    "INCLUDABLE",
]
ENCRYPTED = "reasoning.encrypted_content"
RESULTS_INCLUDE = "file_search_call.results"
OUTPUTS_INCLUDE = "code_interpreter_call.outputs"
INCLUDABLE = (RESULTS_INCLUDE, OUTPUTS_INCLUDE)
FileName = Callable[[str], str]
Seal = Callable[[str], str]  # reasoning text → its encrypted_content handle


def message_item(message: Message, filename: FileName, container: str) -> dict[str, Any]:
    if message.role == "user":
        return {
            "id": message.id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_text", "text": message_text(message)}],
        }
    text, annotations = _output_text(message, filename, container)
    return {
        "id": message.id,
        "type": "message",
        "role": "assistant",
        "status": message.status,
        "content": [
            {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
        ],
    }


def _output_text(
    message: Message, filename: FileName, container: str
) -> tuple[str, list[dict[str, Any]]]:
    """The answer without citation markers, with annotations placed in that text."""
    block = next((b for b in reversed(message.content) if b.type == "text"), None)
    if block is None:
        return "", []
    raw = block.text.value
    marks = sorted(block.text.annotations, key=lambda a: a.start_index)
    pieces: list[str] = []
    annotations: list[dict[str, Any]] = []
    removed, at = 0, 0
    for mark in marks:
        if mark.start_index < at:
            continue  # overlapping marks cannot both be placed
        pieces.append(raw[at : mark.start_index])
        start = mark.start_index - removed
        if mark.type == "file_citation":
            file_id = mark.file_citation.file_id
            annotations.append(
                {
                    "type": "file_citation",
                    "file_id": file_id,
                    "filename": filename(file_id),
                    "index": start,
                }
            )
            removed += mark.end_index - mark.start_index
        else:  # file_path: the link stays, cited as a container file
            pieces.append(raw[mark.start_index : mark.end_index])
            file_id = mark.file_path.file_id
            annotations.append(
                {
                    "type": "container_file_citation",
                    "container_id": container,
                    "file_id": file_id,
                    "filename": filename(file_id),
                    "start_index": start,
                    "end_index": start + mark.end_index - mark.start_index,
                }
            )
        at = mark.end_index
    pieces.append(raw[at:])
    return "".join(pieces), annotations


def call_items(
    step: RunStep,
    *,
    include: Sequence[str],
    with_outputs: bool,
    query: str,
    container: str,
) -> list[dict[str, Any]]:
    """A tool_calls step's calls as items (with function outputs when ``with_outputs``)."""
    details = step.step_details
    if details.type != "tool_calls":
        return []
    done = step.status != "in_progress"
    items: list[dict[str, Any]] = []
    for call in details.tool_calls:
        suffix = call.id.split("_", 1)[-1]
        served = served_by(call)
        if call.type == "function" and isinstance(served, dict) and served.get("approval"):
            items.append(approval_request_item(call, served))
            if with_outputs and served["approval"] == "approved":
                items.append(mcp_call_item(call, served, done))
        elif call.type == "function" and isinstance(served, dict):
            items.append(mcp_call_item(call, served, done))
        elif call.type == "function":
            items.append(
                {
                    "id": f"fc_{suffix}",
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                    "status": "completed",
                }
            )
            if with_outputs and call.function.output is not None:
                items.append(
                    {
                        "id": f"fco_{suffix}",
                        "type": "function_call_output",
                        "call_id": call.id,
                        "output": call.function.output,
                        "status": "completed",
                    }
                )
        elif call.type == "code_interpreter":
            outputs = None
            if OUTPUTS_INCLUDE in include:
                outputs = [
                    {"type": "logs", "logs": output.logs}
                    if output.type == "logs"
                    else {"type": "image", "url": f"/v1/files/{output.image.file_id}/content"}
                    for output in call.code_interpreter.outputs
                ]
            items.append(
                {
                    "id": f"ci_{suffix}",
                    "type": "code_interpreter_call",
                    "code": call.code_interpreter.input,
                    "container_id": container,
                    "outputs": outputs,
                    "status": _call_status(step.status) if done else "interpreting",
                }
            )
        elif call.type == "file_search":
            results = None
            if RESULTS_INCLUDE in include:
                results = [
                    {
                        "file_id": result.file_id,
                        "filename": result.file_name,
                        "score": result.score,
                        "text": "".join(part.text or "" for part in result.content or []),
                        "attributes": {},
                    }
                    for result in call.file_search.results or []
                ]
            items.append(
                {
                    "id": f"fs_{suffix}",
                    "type": "file_search_call",
                    "queries": [query] if query else [],
                    "status": _call_status(step.status) if done else "searching",
                    "results": results,
                }
            )
    return items


def mcp_call_item(call: Any, served: dict[str, Any], done: bool) -> dict[str, Any]:
    """A call of an MCP server's tool, as ``mcp_call``: its output, or its error."""
    error = served.get("error")
    finished = call.function.output is not None
    suffix = call.id.split("_", 1)[-1]
    return {
        "id": f"mcp_{suffix}",
        "type": "mcp_call",
        "server_label": served.get("server_label", ""),
        "name": call.function.name,
        "arguments": call.function.arguments,
        "output": call.function.output if finished and error is None else None,
        "error": error,
        "approval_request_id": f"mcpr_{suffix}" if served.get("approval") else None,
        "status": ("failed" if error else "completed")
        if finished
        else ("incomplete" if done else "calling"),
    }


def approval_request_item(call: Any, served: dict[str, Any]) -> dict[str, Any]:
    """An MCP call that asked the user first, as the request it made."""
    return {
        "id": f"mcpr_{call.id.split('_', 1)[-1]}",
        "type": "mcp_approval_request",
        "server_label": served.get("server_label", ""),
        "name": call.function.name,
        "arguments": call.function.arguments,
    }


def reasoning_item(step: RunStep, seal: Seal | None = None) -> dict[str, Any] | None:
    """The reasoning a step keeps, as a ``reasoning`` item (None: it keeps none), with its
    ``encrypted_content`` where ``seal`` makes one."""
    kept = kept_reasoning(step)
    if kept is None:
        return None
    item = {
        "id": kept["id"],
        "type": "reasoning",
        "summary": kept.get("summary", []),
        "content": kept["content"],
        "status": "incomplete" if step.status in ("cancelled", "failed") else "completed",
    }
    if seal is not None:
        item["encrypted_content"] = seal("".join(part["text"] for part in kept["content"]))
    return item


def _call_status(step_status: str) -> str:
    return {"completed": "completed", "failed": "failed", "cancelled": "incomplete"}.get(
        step_status, "incomplete"
    )


def thread_items(
    messages: Sequence[tuple[int, Message]],
    steps: Sequence[tuple[int, RunStep]],
    *,
    include: Sequence[str],
    with_outputs: bool,
    filename: FileName,
    container: str,
    keep: Callable[[int, Message | RunStep], bool] = lambda seq, obj: True,
    seal: Seal | None = None,
) -> list[dict[str, Any]]:
    """Messages and calls in creation order (those ``keep`` accepts), as items."""
    merged: list[tuple[int, Message | RunStep]] = [*messages, *steps]
    merged.sort(key=lambda pair: pair[0])
    items: list[dict[str, Any]] = []
    query = ""
    for seq, obj in merged:
        if isinstance(obj, Message):
            if obj.role == "user":
                query = message_text(obj)
            if keep(seq, obj):
                items.append(message_item(obj, filename, container))
        elif keep(seq, obj):
            if (reasoning := reasoning_item(obj, seal)) is not None:
                items.append(reasoning)
            items += call_items(
                obj, include=include, with_outputs=with_outputs, query=query, container=container
            )
    return items
