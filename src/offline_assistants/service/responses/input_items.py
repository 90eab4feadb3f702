"""A Responses ``input`` (shape already checked) as what the thread model stores.

The input is a string (one user message) or a list of items:

- messages: ``user`` and ``assistant`` ones become thread messages; ``system``
  and ``developer`` ones instruct this response (they join its instructions,
  as the thread model has no such messages);
- ``function_call`` items (an app replaying its history) and
  ``function_call_output`` items: the outputs answer the calls a previous
  response is waiting on, or, with the replayed call, form a finished call;
- ``compaction`` items (made by ``responses/compact``) are opened and their
  summary instructs the response;
- an ``mcp_call`` item an app replays is a finished call, with its output (or
  its error) as the call's output; an ``mcp_approval_response`` answers the
  approval request (``mcpr_X``) of the call ``call_X`` a previous response
  waits on, like a function call's output, or one replayed in the same input
  (an ``mcp_approval_request`` item, as apps that send the whole history do:
  ``mcp_approvals.py`` makes the call);
- an ``mcp_list_tools`` item an app replays tells which tool lists it has seen
  (``InputToolList``: the same list is not shown again, ``mcp_tools.py``);
- a ``reasoning`` item with ``encrypted_content`` (a handle this runtime sealed,
  ``sealed.py``; as Codex sends it with ``store: false``) is that reasoning again
  (``InputReasoning``): it goes back with the call that follows it, for the template
  to keep (gpt-oss's and Qwen3's, in a tool round) or drop;
- ``reasoning`` items without one, ``file_search_call`` and ``code_interpreter_call``
  items an app replays are records of earlier work whose result the following
  messages already carry; they are accepted and not shown to the model again.

Anything a text-only local model cannot read (images, files, audio) and item
kinds of tools this runtime does not have are refused, naming the item, as is
an input that leaves a waiting call unanswered or answers no call
(``check_answers``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from openai.types.beta.threads.run import Run

from ...errors import InvalidRequestError
from ..checks.formats import check_message_size
from .sealed import COMPACTION, REASONING

MAX_INPUT_ITEMS = 2048
REPLAYED_RECORDS = (
    "reasoning",
    "file_search_call",
    "code_interpreter_call",
)


@dataclass(frozen=True)
class InputMessage:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class InputInstruction:
    text: str


@dataclass(frozen=True)
class InputCall:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class InputReasoning:
    """Reasoning sent back sealed: the text the model wrote before what follows it, and
    the item's id (None: it had none)."""

    text: str
    id: str | None = None


@dataclass(frozen=True)
class InputOutput:
    call_id: str
    output: str


@dataclass(frozen=True)
class InputApproval:
    """The user's answer to an MCP call's approval request (the call ``call_id``)."""

    call_id: str
    approve: bool
    reason: str | None = None


@dataclass(frozen=True)
class InputApprovalRequest:
    """A replayed approval request: the MCP call ``call_id`` that asked the user."""

    call_id: str
    server_label: str
    name: str
    arguments: str


@dataclass(frozen=True)
class InputToolList:
    """A replayed ``mcp_list_tools`` item: a tool list the app has already seen."""

    item: dict[str, Any]


Entry = (
    InputMessage
    | InputInstruction
    | InputCall
    | InputOutput
    | InputReasoning
    | InputApproval
    | InputApprovalRequest
    | InputToolList
)


# A compaction item sent back: its summary instructs the response, like a developer message.
COMPACTED = "A summary of the conversation so far (earlier turns were compacted):\n{summary}"
Unseal = Callable[[str, str, str], dict[str, Any]]  # (kind, handle, param) → its payload


def parse_input(value: Any, unseal: Unseal | None = None) -> list[Entry]:
    """The input's entries; ``unseal`` (``Sealer.open``) opens compaction items (none are
    accepted without it) and checks reasoning items' handles."""
    if value is None:
        return []
    if isinstance(value, str):
        return [InputMessage("user", check_message_size(value, "input"))]
    if len(value) > MAX_INPUT_ITEMS:
        raise InvalidRequestError(
            f"Invalid 'input': at most {MAX_INPUT_ITEMS} items, got {len(value)}.", param="input"
        )
    entries: list[Entry] = []
    for index, item in enumerate(value):
        try:
            entries += _entries(item, f"input[{index}]", unseal)
        except KeyError as missing:  # a field the SDK's types let be omitted, needed here
            raise InvalidRequestError(
                f"Missing required parameter: 'input[{index}].{missing.args[0]}'.",
                param=f"input[{index}].{missing.args[0]}",
            ) from None
    _check_outputs(entries)
    return entries


def _entries(item: Any, where: str, unseal: Unseal | None) -> list[Entry]:
    """What one input item adds: none for a replayed record, else one entry."""
    kind = item.get("type", "message")
    if kind == "message":
        text = content_text(item["content"], f"{where}.content")
        role = item["role"]
        if role in ("system", "developer"):
            return [InputInstruction(text)]
        return [InputMessage(role, text)]
    if kind == "function_call":
        return [InputCall(item["call_id"], item["name"], item["arguments"])]
    if kind == "function_call_output":
        output = item["output"]
        text = output if isinstance(output, str) else content_text(output, f"{where}.output")
        return [InputOutput(item["call_id"], text)]
    if kind == "mcp_list_tools":
        tools = item.get("tools") or []
        return [InputToolList({"server_label": item["server_label"], "tools": tools})]
    if kind == "mcp_approval_request":
        call_id = "call_" + str(item["id"]).split("_", 1)[-1]
        return [
            InputApprovalRequest(call_id, item["server_label"], item["name"], item["arguments"])
        ]
    if kind == "mcp_approval_response":
        request_id = str(item["approval_request_id"])
        call_id = "call_" + request_id.split("_", 1)[-1]
        return [InputApproval(call_id, bool(item["approve"]), item.get("reason"))]
    if kind == "mcp_call":
        call_id = "call_" + str(item["id"]).split("_", 1)[-1]
        output = item.get("output")
        if output is None:
            error = item.get("error")
            output = f"The MCP tool call failed: {json.dumps(error)}" if error else ""
        return [InputCall(call_id, item["name"], item["arguments"]), InputOutput(call_id, output)]
    if kind == "reasoning" and item.get("encrypted_content") and unseal is not None:
        opened = unseal(REASONING, item["encrypted_content"], f"{where}.encrypted_content")
        given = item.get("id")
        kept_id = given if isinstance(given, str) and 0 < len(given) <= 128 else None
        return [InputReasoning(str(opened.get("text") or ""), kept_id)]
    if kind in REPLAYED_RECORDS:
        return []
    if kind == "compaction" and unseal is not None:
        opened = unseal(COMPACTION, item["encrypted_content"], f"{where}.encrypted_content")
        summary = opened.get("summary")
        return [InputInstruction(COMPACTED.format(summary=summary or ""))]
    raise InvalidRequestError(
        f"Invalid '{where}.type': {kind!r} items are not supported by this runtime "
        "(supported: message, function_call, function_call_output, mcp_call, compaction; "
        "reasoning, file_search_call, code_interpreter_call and mcp_list_tools are accepted "
        "as records).",
        param=f"{where}.type",
    )


def content_text(content: Any, where: str) -> str:
    """A string, or the text of ``input_text`` / ``output_text`` / ``refusal`` parts."""
    if isinstance(content, str):
        return check_message_size(content, where)
    parts: list[str] = []
    for index, part in enumerate(content):
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append(part["text"])
        elif kind == "refusal":
            parts.append(part["refusal"])
        else:
            raise InvalidRequestError(
                f"Invalid '{where}[{index}].type': {kind!r} content is not supported; the local "
                "models read text only.",
                param=f"{where}[{index}].type",
            )
    return check_message_size("\n".join(parts), where)


def _check_outputs(entries: list[Entry]) -> None:
    """A replayed call needs its output in the same input, and no call is answered twice."""
    answered: set[str] = set()
    for entry in entries:
        if isinstance(entry, InputOutput):
            if entry.call_id in answered:
                raise InvalidRequestError(
                    f"Duplicate function_call_output for call_id {entry.call_id!r}.",
                    param="input",
                )
            answered.add(entry.call_id)
    for entry in entries:
        if isinstance(entry, InputCall) and entry.call_id not in answered:
            raise InvalidRequestError(
                f"No tool output found for function call {entry.call_id}.", param="input"
            )


def waiting_calls(run: Run | None) -> list[str]:
    """The calls a run waits for (none when there is no waiting run)."""
    if run is None or run.required_action is None:
        return []
    return [call.id for call in run.required_action.submit_tool_outputs.tool_calls]


def check_answers(entries: list[Any], pending: list[str]) -> None:
    """Every waiting call answered, and every output answering a call: a waiting one or
    one replayed in the same input."""
    outputs = [e.call_id for e in entries if isinstance(e, InputOutput | InputApproval)]
    replayed = {e.call_id for e in entries if isinstance(e, InputCall)}
    for call_id in pending:
        if call_id not in outputs:
            raise InvalidRequestError(
                f"No tool output found for function call {call_id} (or, for an MCP call that "
                f"asks for approval, no mcp_approval_response for mcpr_{call_id[5:]}).",
                param="input",
            )
    for entry in entries:
        if isinstance(entry, InputApproval) and entry.call_id not in pending:
            raise InvalidRequestError(
                f"No MCP approval request mcpr_{entry.call_id[5:]} waits for an answer.",
                param="input",
            )
    for call_id in outputs:
        if call_id not in pending and call_id not in replayed:
            raise InvalidRequestError(
                f"No tool call found for function call output with call_id {call_id}.",
                param="input",
            )


def input_instructions(entries: list[Any]) -> str | None:
    texts = [e.text for e in entries if isinstance(e, InputInstruction)]
    return "\n\n".join(texts) or None
