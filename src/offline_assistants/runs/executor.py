"""The run loop: take a run from queued (or resumed) to its next resting status.

    queued → in_progress → turn ─┬─ message → completed | incomplete (max tokens)
                                 ├─ calls   → code runs, then another turn, or
                                 │            requires_action (waits for tool outputs)
                                 ├─ cancel  → cancelled
                                 └─ error   → failed (last_error)

A turn's calls (code and functions alike) are one ``tool_calls`` step, taken in
the order the model wrote them: each code call runs when its turn comes, and so
does each call of a response's MCP tool (``mcp_calls.py``): only the app's own
functions wait for it. After
``submit_tool_outputs`` the run is submitted to the scheduler again and resumes here
with the outputs in its prompt. The executor composes the store
(through the journal), the engine, the prompt builder and the turn runner; any
exception fails the run with ``last_error`` and closes its step and message,
so no run is ever left ``in_progress``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from ..config import Settings
from ..engine import EngineCache, ToolChoice, resolve_model
from ..errors import ModelFileError, UpstreamError
from ..store import Store
from ..tools.code_interpreter import CODE_FUNCTION
from .call_steps import CallStep, StreamedCall
from .code_calls import CODE_SPEC, CodeCalls, RunFile
from .generation import function_specs, output_grammar, reasoning_budget
from .journal import RunJournal, now, updated
from .mcp_calls import McpCalls, model_reads
from .prompt import build_prompt, conversation
from .search_calls import SearchCalls, has_file_search
from .turn import Draft, RuntimeShutDown, Turn, TurnResult, TurnRunner, with_text

log = logging.getLogger(__name__)
# Code rounds per run before the model must answer in words (it loops on errors otherwise).
MAX_CODE_ROUNDS = 4


class RunExecutor:
    def __init__(
        self,
        store: Store,
        journal: RunJournal,
        engines: EngineCache,
        settings: Settings,
        cancel_requested: Callable[[str], bool],
        stopping: Callable[[], bool],
        code: CodeCalls | None = None,
        search: SearchCalls | None = None,
        mcp: McpCalls | None = None,
    ) -> None:
        self.store = store
        self.code = code
        self.search = search
        self.mcp = mcp
        self.cancel_requested = cancel_requested
        self.journal = journal
        self.engines = engines
        self.settings = settings
        self.turns = TurnRunner(journal, settings, cancel_requested, stopping)

    def execute(self, run_id: str) -> None:
        """Run a ``queued`` run (it turns ``in_progress`` once work starts on it: the model
        took its prompt, or a tool began) or go on with one resumed after tool outputs."""
        run = self.store.runs.get(run_id)
        if run is None or run.status not in ("queued", "in_progress"):  # cancelled while queued
            self._settle_unstarted(run_id)
            return
        opened: list[Draft] = []  # the draft, once there is one, for the failure path
        try:
            self._turn(run, opened)
        except RuntimeShutDown as exc:
            self.fail(run_id, str(exc), opened[0] if opened else None)
        except (
            ModelFileError,
            UpstreamError,
        ) as exc:  # a base model without a template; a server down
            self.fail(run_id, exc.message, opened[0] if opened else None)
        except Exception as exc:  # noqa: BLE001 - every failure must close the run
            log.exception("run %s failed", run_id)
            self.fail(run_id, f"{type(exc).__name__}: {exc}", opened[0] if opened else None)

    def _begin(self, run_id: str) -> None:
        """``queued`` → ``in_progress``, once: the model has a slot for it (until then it
        waited behind other runs), or a tool starts working for it."""
        self.journal.try_transition(run_id, "queued", "in_progress")

    def _interrupted(self, run_id: str) -> bool:
        return self.cancel_requested(run_id) or self.turns.stopping()

    def _settle_unstarted(self, run_id: str) -> None:
        current = self.store.runs.get(run_id)
        if current is not None and current.status == "cancelling":
            self.journal.transition(run_id, "cancelled")

    def shut_down(self, run_id: str) -> None:
        """Close a run the scheduler will never start because the runtime is stopping."""
        current = self.store.runs.get(run_id)
        if current is None:
            return
        if current.status == "cancelling":
            self.journal.transition(run_id, "cancelled")
        elif current.status in ("queued", "in_progress"):
            self.fail(run_id, "The runtime shut down before this run could continue.")

    def _turn(self, run: Run, opened: list[Draft]) -> None:
        model = resolve_model(run.model, self.settings)
        options = self.store.runs.options(run.id)
        messages = self.store.messages.in_thread_with_seq(run.thread_id)
        choice = tool_choice(run)
        instructions = options.additional_instructions
        if self.search is not None and has_file_search(run) and choice.mode != "none":
            self._begin(run.id)
            self.search.search(run, [m for _, m in messages], lambda: self._interrupted(run.id))
            excerpts = self.search.instructions(run.id)
            instructions = "\n\n".join(p for p in (instructions, excerpts) if p) or None
        thread_steps = self.store.steps.in_thread_with_seq(run.thread_id)
        steps = [step for _, step in thread_steps if step.run_id == run.id]
        if choice.mode in ("required", "function") and any(_calls_tools(s) for s in steps):
            choice = ToolChoice("auto")  # the call was made; now the model may answer
        functions = function_specs(run.tools) if choice.mode != "none" else []
        files: list[RunFile] = []
        if self.code is not None and has_code_interpreter(run):
            code_rounds = sum(1 for s in steps if _is_code_step(s))
            if choice.mode != "none" and code_rounds < MAX_CODE_ROUNDS:
                functions.append(CODE_SPEC)
            elif choice.mode == "function" and choice.function == CODE_FUNCTION:
                choice = ToolChoice("auto")
            self.code.sessions.warm()  # a kernel starts while the model writes its call
            files = self.code.input_files(run, [message for _, message in messages])
            listed = self.code.instructions(files)
            instructions = "\n\n".join(p for p in (instructions, listed) if p) or None
        history = conversation(messages, thread_steps, run.id)
        used = usage_so_far(steps)
        with self.engines.lease(model) as engine:  # the model stays loaded while it works
            prompt = build_prompt(
                engine, run, instructions, history, functions, options.reasoning_effort
            )
            if prompt is None:
                self._finish(run.id, None, "incomplete", used, reason="max_prompt_tokens")
                return
            room = engine.context_length - len(prompt.tokens)
            budget = run.max_completion_tokens - used[1] if run.max_completion_tokens else room
            if budget <= 0:
                self._finish(run.id, None, "incomplete", used, reason="max_completion_tokens")
                return
            turn = Turn(
                run=run,
                engine=engine,
                prompt=prompt.tokens,
                max_tokens=min(budget, room),
                grammar=output_grammar(
                    engine, functions, choice, run.parallel_tool_calls, run.response_format
                ),
                functions=functions,
                penalties=(options.presence_penalty, options.frequency_penalty),
                reasoning_budget=reasoning_budget(
                    options.reasoning_effort, self.settings.reasoning_budget
                ),
                reasoning_summary=options.reasoning_summary,
                on_start=lambda: self._begin(run.id),
                servers=options.mcp_tools if self.mcp is not None else {},
            )
            result = self.turns.run(turn, opened)
        total = (used[0] + result.prompt_tokens, used[1] + result.completion_tokens)
        current = self.store.runs.get(run.id)
        if current is not None and current.status == "cancelling":
            result.outcome = "cancelled"  # cancelled while the last tokens were generated
        if result.outcome == "calls":
            self._calls(run, result, files, opened)
            return
        if result.call_step is not None:  # generation stopped inside a call
            turn_usage = _usage(result.prompt_tokens, result.completion_tokens)
            result.call_step.stop(turn_usage if result.draft is None else _usage(0, 0))
        if result.outcome == "cancelled":
            self._finish(run.id, result.draft, "cancelled", total, turn=result)
        elif result.outcome == "length":
            # Which budget ran out: the run's own, or the context window it shares with the
            # prompt (the API knows only these two reasons).
            reason = "max_completion_tokens" if budget <= room else "max_prompt_tokens"
            self._finish(run.id, result.draft, "incomplete", total, turn=result, reason=reason)
        else:
            self._finish(run.id, result.draft, "completed", total, turn=result)

    def _calls(
        self, run: Run, result: TurnResult, files: list[RunFile], opened: list[Draft]
    ) -> None:
        """The turn's calls, in the order the model wrote them: code runs now, function
        calls go to the app (requires_action); with code only, the model goes on."""
        step = result.call_step
        assert step is not None
        usage = _usage(result.prompt_tokens, result.completion_tokens) | _reasoning_usage(result)
        options = self.store.runs.options(run.id)
        # The app's functions, and MCP calls that wait for the user's approval, wait for it.
        functions = [
            call
            for call in result.calls
            if not call.is_code and (call.server is None or call.name in options.mcp_asking)
        ]
        if any(call.is_code for call in result.calls):
            if self.code is None:
                raise RuntimeError("the model called the Code Interpreter, which is not enabled")
            self.code.place_inputs(run, files)
        for call in result.calls:
            step.release(call)  # created and input deltas, then (code) its outputs
            if call.is_code and self.code is not None:
                step.record_outputs(call, self.code.run_cell(run, call.code))
            elif call.server is not None and call.name in options.mcp_asking:
                step.ask(call)
            elif call.server is not None and self.mcp is not None:
                outcome = self.mcp.call(options, call.name, call.arguments_text)
                step.record_result(call, model_reads(outcome), outcome.error)
        if functions:
            self._require_action(run, step, functions, usage)
            return
        step.complete(usage)
        current = self.store.runs.get(run.id)
        if current is not None and current.status == "in_progress":
            self._turn(current, opened)  # the model reads the output and goes on
        else:
            self._settle_unstarted(run.id)  # cancelled while the code ran

    def _require_action(
        self, run: Run, step: CallStep, functions: list[StreamedCall], usage: dict[str, int]
    ) -> None:
        calls = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text},
            }
            for call in functions
        ]
        with self.store.db.transaction():
            step.save_usage(usage)
            self.journal.transition(
                run.id,
                "requires_action",
                required_action={
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {"tool_calls": calls},
                },
                expires_at=now() + self.settings.run_expiry_seconds,
            )

    def _finish(
        self,
        run_id: str,
        draft: Draft | None,
        status: str,
        usage: tuple[int, int],
        *,
        turn: TurnResult | None = None,
        reason: str | None = None,
    ) -> None:
        run_usage: dict[str, Any] = _usage(*usage)
        if turn is not None and turn.reasoning is not None:
            run_usage |= _reasoning_usage(turn)
        with self.store.db.transaction():
            self._begin(run_id)  # ended before any work began (no room, an engine silent)
            if draft is not None and turn is not None:
                self._close_draft(run_id, draft, status, turn)
            fields: dict[str, Any] = {"usage": run_usage}
            if status == "incomplete":
                fields["incomplete_details"] = {"reason": reason}
            current = self.store.runs.get(run_id)
            if status == "cancelled" and current is not None and current.status == "in_progress":
                self.journal.transition(run_id, "cancelling")
            self.journal.transition(run_id, status, **fields)  # type: ignore[arg-type]

    def _close_draft(self, run_id: str, draft: Draft, status: str, turn: TurnResult) -> None:
        usage = _usage(turn.prompt_tokens, turn.completion_tokens) | _reasoning_usage(turn)
        message = with_text(draft.message, "".join(draft.text))
        if self.code is not None:
            message = self.code.finish_message(run_id, message)
        if self.search is not None:
            message = self.search.finish_message(run_id, message)
        if status == "completed":
            message = updated(message, status="completed", completed_at=now())
        else:
            why = {"cancelled": "run_cancelled", "incomplete": "max_tokens"}.get(
                status, "run_failed"
            )
            message = updated(
                message,
                status="incomplete",
                incomplete_at=now(),
                incomplete_details={"reason": why},
            )
        draft.message = message
        self.journal.message_finished(run_id, message)
        step_status = {"cancelled": "cancelled", "failed": "failed"}.get(status, "completed")
        draft.step = self.journal.step_finished(draft.step, step_status, usage=usage)

    def fail(self, run_id: str, reason: str, draft: Draft | None = None) -> None:
        """Close the run as failed with ``last_error``; never raises."""
        error = {"code": "server_error", "message": reason}
        self._forget(run_id)
        try:
            with self.store.db.transaction():
                if draft is not None and draft.message.status == "in_progress":
                    message = updated(
                        with_text(draft.message, "".join(draft.text)),
                        status="incomplete",
                        incomplete_at=now(),
                        incomplete_details={"reason": "run_failed"},
                    )
                    self.journal.message_finished(run_id, message)
                self.journal.close_open_steps(run_id, "failed", last_error=error)
                self.journal.transition(run_id, "failed", last_error=error)
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure of run %s", run_id)

    def _forget(self, run_id: str) -> None:
        """Drop what the tools kept in memory for a run that will not write its answer."""
        if self.search is not None:
            self.search.forget(run_id)

    def expire_due(self) -> list[str]:
        """Expire runs that waited for tool outputs past ``expires_at``."""
        expired = []
        moment = now()
        for run in self.store.runs.active():
            if (
                run.status == "requires_action"
                and run.expires_at is not None
                and run.expires_at <= moment
            ):
                with self.store.db.transaction():
                    self.journal.close_open_steps(run.id, "expired")
                    self.journal.transition(run.id, "expired", required_action=None)
                self._forget(run.id)
                expired.append(run.id)
        return expired


def tool_choice(run: Run) -> ToolChoice:
    choice = run.tool_choice
    if choice is None or choice == "auto":
        return ToolChoice("auto")
    if isinstance(choice, str):
        return ToolChoice(choice)
    if choice.type == "function" and choice.function is not None:
        return ToolChoice("function", choice.function.name)
    if choice.type == "code_interpreter":
        return ToolChoice("function", CODE_FUNCTION)
    return ToolChoice("auto")


def has_code_interpreter(run: Run) -> bool:
    return any(tool.type == "code_interpreter" for tool in run.tools)


def _calls_tools(step: RunStep) -> bool:
    """A step with function or code calls (a file_search step does not answer ``required``)."""
    details = step.step_details
    return details.type == "tool_calls" and any(
        call.type in ("function", "code_interpreter") for call in details.tool_calls
    )


def _is_code_step(step: RunStep) -> bool:
    details = step.step_details
    return details.type == "tool_calls" and any(
        call.type == "code_interpreter" for call in details.tool_calls
    )


def usage_so_far(steps: list[RunStep]) -> tuple[int, int]:
    prompt = sum(s.usage.prompt_tokens for s in steps if s.usage is not None)
    completion = sum(s.usage.completion_tokens for s in steps if s.usage is not None)
    return prompt, completion


def _reasoning_usage(turn: TurnResult) -> dict[str, Any]:
    """A reasoning model's count of reasoning tokens, for a step's or a run's usage."""
    if turn.reasoning is None:
        return {}
    return {"completion_tokens_details": {"reasoning_tokens": turn.reasoning_tokens}}


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
