"""The user's answers to MCP approval requests: the approved calls made, the denied told.

A call of an MCP tool that asks for approval (``mcp_tools.py``) stops its run in
``requires_action``, like an app's function call, and its response shows an
``mcp_approval_request`` (``mcpr_X`` for the call ``call_X``). The next request's
``mcp_approval_response`` items come here before the run goes on: an approved
call is made now (``runs/mcp_calls.py``) and its output, or what failed, is the
call's output; a denied one's output tells the model the user said no. What is
kept beside the call (``approval``: approved or denied, and the error) lets the
new response show the call as its ``mcp_call`` (``views.py``).
"""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.run import Run

from ...errors import InvalidRequestError
from ...runs.mcp_calls import McpCalls, model_reads
from ...store import Store
from ...tools.mcp import McpClients
from .input_items import InputApproval

DENIED = "The user denied this MCP tool call{why}; do not call it again for this."
Answered = dict[str, tuple[str, dict[str, Any]]]  # call id → (output, kept beside the call)


class McpApprovals:
    def __init__(self, store: Store, clients: McpClients | None) -> None:
        self.store = store
        self.calls = McpCalls(clients) if clients is not None else None

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
        for approval in approvals:
            call = calls.get(approval.call_id)
            served = (call.model_extra or {}).get("mcp") if call is not None else None
            if call is None or not isinstance(served, dict) or served.get("approval") is None:
                raise InvalidRequestError(
                    f"Invalid 'input': mcpr_{approval.call_id[5:]} is not an MCP approval "
                    "request; answer a function call with a function_call_output.",
                    param="input",
                )
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
