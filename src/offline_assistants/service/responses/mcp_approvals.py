"""The user's answers to MCP approval requests: the approved calls made, the denied told.

A call of an MCP tool that asks for approval (``mcp_tools.py``) stops its run in
``requires_action``, like an app's function call, and its response shows an
``mcp_approval_request`` (``mcpr_X`` for the call ``call_X``). The next request's
``mcp_approval_response`` items come here before the run goes on: an approved
call is made now (``runs/mcp_calls.py``) and its output, or what failed, is the
call's output; a denied one's output tells the model the user said no. What is
kept beside the call (``approval``: approved or denied, and the error) lets the
new response show the call as its ``mcp_call`` (``views.py``).

Apps that send the whole history each turn (the Agents SDK) replay the request
itself beside their answer, with no previous response waiting: :meth:`replayed`
makes such an approved call while the request is checked (the server as this
request's ``mcp`` tool names it), and the pair becomes a finished call in the
input, the made ``mcp_call`` the response's first output after the tool lists.
"""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.run import Run

from ...errors import InvalidRequestError
from ...runs.call_steps import served_by
from ...runs.mcp_calls import McpCalls, model_reads
from ...store import RunOptions, Store
from ...tools.mcp import McpClients
from .input_items import Entry, InputApproval, InputApprovalRequest, InputCall, InputOutput
from .mcp_tools import McpTools

DENIED = "The user denied this MCP tool call{why}; do not call it again for this."
Answered = dict[str, tuple[str, dict[str, Any]]]  # call id → (output, kept beside the call)


class McpApprovals:
    def __init__(self, store: Store, clients: McpClients | None) -> None:
        self.store = store
        self.calls = McpCalls(clients) if clients is not None else None

    def replayed(self, entries: list[Entry], mcp: McpTools) -> list[Entry]:
        """The input with each replayed request that has its answer beside it as a finished
        call (made now if approved, its item added to ``mcp.items``); the requests themselves
        are records, and answers to none of them are left for :meth:`answer`."""
        asked = {e.call_id: e for e in entries if isinstance(e, InputApprovalRequest)}
        out: list[Entry] = []
        for entry in entries:
            if isinstance(entry, InputApprovalRequest):
                continue
            request = asked.get(entry.call_id) if isinstance(entry, InputApproval) else None
            if request is None or not isinstance(entry, InputApproval):
                out.append(entry)
                continue
            if entry.approve and self.calls is not None and request.name in mcp.tools:
                options = RunOptions(mcp_servers=mcp.servers, mcp_tools=mcp.tools)
                outcome = self.calls.call(options, request.name, request.arguments)
                output = model_reads(outcome)
                mcp.items.append(made_call(entry.call_id, request, outcome.output, outcome.error))
            else:
                why = f" ({entry.reason})" if entry.reason else ""
                output = DENIED.format(why=why)
            out += [
                InputCall(entry.call_id, request.name, request.arguments),
                InputOutput(entry.call_id, output),
            ]
        return out

    def answer(self, run: Run, approvals: list[InputApproval]) -> Answered:
        """Each answered request's output and what its call keeps (a 400 for an answer to a
        call that asked for no approval)."""
        if not approvals:
            return {}
        options = self.store.runs.options(run.id)
        waiting = next(
            (
                s
                for s in reversed(self.store.steps.in_run(run.id))
                if s.type == "tool_calls" and s.status == "in_progress"
            ),
            None,
        )
        calls = (
            {c.id: c for c in getattr(waiting.step_details, "tool_calls", [])} if waiting else {}
        )
        answered: Answered = {}
        chosen = []
        for approval in approvals:  # every answer checked before any call is made
            call = calls.get(approval.call_id)
            served = served_by(call) if call is not None else None
            if call is None or served is None or served.get("approval") is None:
                raise InvalidRequestError(
                    f"Invalid 'input': mcpr_{approval.call_id[5:]} is not an MCP approval "
                    "request; answer a function call with a function_call_output.",
                    param="input",
                )
            chosen.append((approval, call))
        for approval, call in chosen:
            if not approval.approve or self.calls is None:
                why = f" ({approval.reason})" if approval.reason else ""
                kept = {"approval": "denied", "reason": approval.reason}
                answered[call.id] = (DENIED.format(why=why), kept)
                continue
            outcome = self.calls.call(options, call.function.name, call.function.arguments)
            answered[call.id] = (
                model_reads(outcome),
                {"approval": "approved", "error": outcome.error},
            )
        return answered


def made_call(
    call_id: str, request: InputApprovalRequest, output: str | None, error: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``mcp_call`` item of a call made for a replayed approval request."""
    suffix = call_id.split("_", 1)[-1]
    return {
        "id": f"mcp_{suffix}",
        "type": "mcp_call",
        "server_label": request.server_label,
        "name": request.name,
        "arguments": request.arguments,
        "output": output if error is None else None,
        "error": error,
        "approval_request_id": f"mcpr_{suffix}",
        "status": "failed" if error else "completed",
    }
