"""``POST /v1/responses/input_tokens``: how many tokens a Responses request's prompt would be.

The count is of the prompt a response made from the same request would give the
model: the request's settings read as ``responses.create`` reads them
(``request.py``), the history of ``previous_response_id`` or
``conversation`` from the thread, the input's messages and replayed calls, the
tools shown in the model's own tool format, all through the model's chat
template and tokenizer (``runs/prompt.py``, the executor's prompt builder).
Nothing is stored and nothing is generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai.types.beta.threads.run import Run
from openai.types.responses.input_token_count_params import InputTokenCountParams
from openai.types.responses.input_token_count_response import InputTokenCountResponse

from ...config import Settings
from ...engine import ChatMessage, EngineCache, ToolCall, resolve_model
from ...errors import InvalidRequestError, NotFoundError
from ...runs.generation import function_specs
from ...runs.prompt import Unit, conversation, system_text
from ...store import Store
from ..checks.params import check_params
from .input_items import (
    InputApproval,
    InputApprovalRequest,
    InputCall,
    InputInstruction,
    InputMessage,
    InputOutput,
    InputReasoning,
    InputToolList,
    Unseal,
    parse_input,
)
from .input_items import input_instructions as instructions_of
from .mcp_tools import McpPolicy
from .request import response_settings


class InputTokenCounter:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        engines: EngineCache,
        unseal: Unseal,
        mcp: McpPolicy | None = None,
    ) -> None:
        self.mcp = mcp  # an mcp tool's server is listed, as a response lists it
        self.store = store
        self.settings = settings
        self.engines = engines
        self.unseal = unseal

    def count(self, params: Mapping[str, Any]) -> InputTokenCountResponse:
        p = check_params(InputTokenCountParams, params)
        p.setdefault("model", "default")
        chosen = response_settings(p, self.settings, self.store, self.mcp)
        entries = parse_input(p.get("input"), unseal=self.unseal)
        run = Run.model_construct(**chosen.run_fields)
        history = thread_history(self.store, p) + input_units(entries)
        system = system_text(run, instructions_of(entries))
        head = [ChatMessage("system", system)] if system else []
        turns = [turn for unit in history for turn in unit]
        with self.engines.lease(resolve_model(run.model, self.settings)) as engine:
            tokens = engine.prompt_tokens(
                [*head, *turns], function_specs(run.tools), chosen.reasoning_effort
            )
        return InputTokenCountResponse(object="response.input_tokens", input_tokens=len(tokens))


def thread_history(store: Store, p: dict[str, Any]) -> list[Unit]:
    """The units the thread of ``previous_response_id`` or ``conversation`` holds."""
    conversation_id = p.get("conversation")
    if isinstance(conversation_id, dict):
        conversation_id = conversation_id.get("id")
    previous_id = p.get("previous_response_id")
    if conversation_id and previous_id:
        raise InvalidRequestError(
            "Mutually exclusive parameters: give either 'previous_response_id' or "
            "'conversation', not both.",
            param="previous_response_id",
        )
    until: int | None = None
    if conversation_id:
        if not conversation_id.startswith("conv_") or not store.threads.exists(conversation_id):
            raise NotFoundError(
                f"Conversation with id '{conversation_id}' not found.", param="conversation"
            )
        thread_id = conversation_id
    elif previous_id:
        previous = store.responses.get(previous_id)
        if previous is None:
            raise InvalidRequestError(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        thread_id = previous.thread_id
        later = [
            r.input_from
            for r in store.responses.in_thread(thread_id)
            if r.input_from > previous.output_from
        ]
        until = min(later, default=None)  # a branch: what the thread held then
    else:
        return []
    messages = [
        (seq, m)
        for seq, m in store.messages.in_thread_with_seq(thread_id)
        if until is None or seq < until
    ]
    steps = [
        (seq, s)
        for seq, s in store.steps.in_thread_with_seq(thread_id)
        if until is None or seq < until
    ]
    return [unit for _, unit in conversation(messages, steps, run_id="")]


def input_units(entries: list[Any]) -> list[Unit]:
    """The input's messages and replayed calls (with their outputs) as prompt turns."""
    outputs = {e.call_id: e.output for e in entries if isinstance(e, InputOutput)}
    units: list[Unit] = []
    reasoning: str | None = None  # sealed reasoning sent back, for the call after it
    for entry in entries:
        if isinstance(entry, InputReasoning):
            reasoning = entry.text
        elif isinstance(entry, InputMessage):
            units.append((ChatMessage(entry.role, entry.text),))
            reasoning = None
        elif isinstance(entry, InputCall):
            call = ToolCall(entry.call_id, entry.name, entry.arguments)
            units.append(
                (
                    ChatMessage("assistant", tool_calls=(call,), reasoning=reasoning),
                    ChatMessage(
                        "tool", outputs[entry.call_id], tool_call_id=entry.call_id, name=entry.name
                    ),
                )
            )
            reasoning = None
        elif not isinstance(
            entry,
            InputInstruction | InputOutput | InputApproval | InputApprovalRequest | InputToolList,
        ):
            raise AssertionError(f"unknown input entry {entry!r}")
        # An MCP approval and its request count nothing here: the call they lead to is made
        # only by the response, and its output is not known before.
    return units
