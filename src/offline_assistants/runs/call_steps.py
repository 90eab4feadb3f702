"""A turn's ``tool_calls`` step, streamed call by call while the model writes it.

The turn feeds the model's call text here (through a :class:`CallScanner`).
The step is stored and announced (``thread.run.step.created``, empty) as soon
as the first call has a name, and each call then appears in the stream the
way the hosted API sent it: a first delta with its ``index``, ``id`` and
``type`` (``on_tool_call_created`` in the SDK's handler), then deltas carrying
only what is new, the Code Interpreter's ``input`` as the code is generated
(``on_tool_call_delta``) or a function's ``arguments`` text.

The SDK's handlers (Python and Node) follow one call at a time, by ``index``:
a delta for an earlier index after a later one starts that call over. So only
the first call streams live while the model writes; later calls are held and
*released* in index order after generation (``release``), each just before
the executor runs it (code) or hands it to the app (functions), so that every
call's created, input and output deltas arrive together and in order.

The step is written with its calls when generation ends (``settle``), updated
with each code call's outputs (``record_outputs``), and finished completed, or
cancelled when generation stopped inside a call (``stop``: a call cut off by
``max_completion_tokens`` or a cancel is shown, never handed to the app).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from ..engine.base import CallReader
from ..engine.call_scanner import Arguments, CallEvent, CallScanner, Code, Started
from ..ids import new_id
from ..tools.code_interpreter import CODE_FUNCTION
from .journal import RunJournal, tool_calls_step, updated


@dataclass
class StreamedCall:
    """One call of the step as generated so far (and, once parsed, its arguments)."""

    index: int
    id: str
    name: str
    arguments_text: str = ""
    code: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    released: bool = False
    server: str | None = None  # the MCP server that serves this function (runs/mcp_calls.py)
    output: str | None = None  # an MCP call's output, as the model reads it
    error: dict[str, Any] | None = None  # an MCP call's failure
    approval: str | None = None  # "requested": an MCP call that waits for the user's approval

    @property
    def is_code(self) -> bool:
        return self.name == CODE_FUNCTION

    def wire(self) -> dict[str, Any]:
        """The call as the step stores it."""
        if self.is_code:
            return {
                "id": self.id,
                "type": "code_interpreter",
                "code_interpreter": {"input": self.code, "outputs": self.outputs},
            }
        wired: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {
                "name": self.name,
                "arguments": self.arguments_text,
                "output": self.output,
            },
        }
        if self.server is not None:  # kept beside the call: Responses shows it as an mcp_call
            wired["mcp"] = {"server_label": self.server, "error": self.error}
            if self.approval is not None:
                wired["mcp"]["approval"] = self.approval
        return wired

    def created_delta(self) -> dict[str, Any]:
        """The first delta of the call: what ``on_tool_call_created`` receives."""
        if self.is_code:
            body: dict[str, Any] = {"input": "", "outputs": []}
            return {
                "index": self.index,
                "id": self.id,
                "type": "code_interpreter",
                "code_interpreter": body,
            }
        function = {"name": self.name, "arguments": ""}
        return {"index": self.index, "id": self.id, "type": "function", "function": function}

    def input_delta(self, text: str) -> dict[str, Any]:
        if self.is_code:
            return {
                "index": self.index,
                "type": "code_interpreter",
                "code_interpreter": {"input": text},
            }
        return {"index": self.index, "type": "function", "function": {"arguments": text}}


class CallStep:
    def __init__(
        self,
        journal: RunJournal,
        run: Run,
        reasoning: dict[str, Any] | None = None,
        servers: Mapping[str, str] | None = None,
        scanner: CallReader | None = None,
    ) -> None:
        self.journal = journal
        self.run = run
        self.reasoning = reasoning  # the reasoning before the calls, kept on the step
        self.servers = servers or {}  # function name → the MCP server that serves it
        # The tool format's reader of calls as they stream (JSON calls by default).
        self.scanner = scanner or CallScanner(code_function=CODE_FUNCTION)
        self.calls: list[StreamedCall] = []
        self.step: RunStep | None = None

    # -- while the model writes --------------------------------------------------------------

    def feed(self, text: str) -> None:
        for event in self.scanner.feed(text):
            self._apply(event)

    def _apply(self, event: CallEvent) -> None:
        if isinstance(event, Started):
            call = StreamedCall(event.index, new_id("call"), event.name)
            call.server = self.servers.get(event.name)
            self.calls.append(call)
            if self.step is None:
                self._open()
            if event.index == 0:
                self._publish([call.created_delta()])
                call.released = True
            return
        if not 0 <= event.index < len(self.calls):
            return
        call = self.calls[event.index]
        if isinstance(event, Arguments):
            call.arguments_text += event.text
            if call.released and not call.is_code:
                self._publish([call.input_delta(event.text)])
        elif isinstance(event, Code):
            call.code += event.text
            if call.released:
                self._publish([call.input_delta(event.text)])

    def _open(self) -> None:
        step = tool_calls_step(self.run, [], None)
        if self.reasoning is not None:
            step = updated(step, step_details=self._details())
        with self.journal.store.db.transaction():
            self.journal.step_created(step)
        self.step = step

    def _publish(self, deltas: list[dict[str, Any]]) -> None:
        assert self.step is not None
        self.journal.tool_calls_delta(self.step, deltas)

    # -- after generation ------------------------------------------------------------------

    def settle(self, parsed: list[tuple[str, dict[str, Any]]]) -> list[StreamedCall]:
        """Match the calls parsed from the whole text to the streamed ones and store them."""
        for index, (name, arguments) in enumerate(parsed):
            if index >= len(self.calls):  # not seen while streaming (should not happen)
                self._apply(Started(index, name))
            call = self.calls[index]
            call.name, call.arguments = name, arguments
            call.server = self.servers.get(name)
            if call.is_code:
                code = arguments.get("code")
                call.code = code if isinstance(code, str) else str(code)
            elif not _same_json(call.arguments_text, arguments):
                # What the app gets is what the model wrote; only a call the stream did not
                # see whole is written out again.
                call.arguments_text = json.dumps(arguments, ensure_ascii=False)
        del self.calls[len(parsed) :]
        self._save()
        return self.calls

    def release(self, call: StreamedCall) -> None:
        """Show a held call: its created delta and everything generated for it, at once."""
        if call.released:
            return
        call.released = True
        text = call.code if call.is_code else call.arguments_text
        deltas = [call.created_delta()]
        if text:
            deltas.append(call.input_delta(text))
        self._publish(deltas)

    def record_outputs(self, call: StreamedCall, outputs: list[dict[str, Any]]) -> None:
        """A code call's outputs: published as one delta (each with its index) and stored."""
        call.outputs = outputs
        indexed = [{**output, "index": i} for i, output in enumerate(outputs)]
        self._publish(
            [
                {
                    "index": call.index,
                    "type": "code_interpreter",
                    "code_interpreter": {"outputs": indexed},
                }
            ]
        )
        self._save()

    def record_result(
        self, call: StreamedCall, output: str, error: dict[str, Any] | None = None
    ) -> None:
        """An MCP call's result: the output the model reads (what went wrong, on a failure)
        and the failure itself, stored on the call."""
        call.output, call.error = output, error
        self._save()

    def ask(self, call: StreamedCall) -> None:
        """An MCP call that waits for the user's approval (Responses: an approval request)."""
        call.approval = "requested"
        self._save()

    def save_usage(self, usage: dict[str, int]) -> None:
        """The turn's usage on a step that waits for tool outputs (it completes later)."""
        assert self.step is not None
        self.step = updated(self.step, usage=usage)
        self.journal.step_saved(self.step)

    def complete(self, usage: dict[str, int]) -> RunStep:
        for call in self.calls:
            self.release(call)
        return self._finish("completed", usage)

    def stop(self, usage: dict[str, int]) -> RunStep | None:
        """Generation ended inside a call (token budget, cancel): the step ends cancelled."""
        if self.step is None:
            return None
        for call in self.calls:
            self.release(call)
        return self._finish("cancelled", usage)

    def _finish(self, status: str, usage: dict[str, int]) -> RunStep:
        assert self.step is not None
        with self.journal.store.db.transaction():
            self.step = self.journal.step_finished(
                self.step, status, step_details=self._details(), usage=usage
            )
        return self.step

    def _save(self) -> None:
        assert self.step is not None
        self.step = updated(self.step, step_details=self._details())
        self.journal.step_saved(self.step)

    def _details(self) -> dict[str, Any]:
        details = {"type": "tool_calls", "tool_calls": [call.wire() for call in self.calls]}
        return details if self.reasoning is None else {**details, "reasoning": self.reasoning}


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def served_by(call: Any) -> dict[str, Any] | None:
    """What a stored function call of an MCP tool keeps beside it (``server_label``,
    ``error``, and ``approval`` for one that asked the user); None: any other call."""
    if getattr(call, "type", None) != "function":
        return None
    served = (call.model_extra or {}).get("mcp")
    return served if isinstance(served, dict) else None
