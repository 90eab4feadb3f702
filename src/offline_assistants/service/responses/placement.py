"""Where a response's input goes: the thread it runs in, and the input stored there.

- ``conversation=`` → that conversation's thread (a conversation *is* a thread
  whose id starts ``conv_``, so ``beta.threads`` can read it too);
- ``previous_response_id=`` → the previous response's thread, when that response
  is the latest there and not a conversation's; otherwise (a branch) a copy of
  its history in a new thread;
- neither → a new thread of its own.

The request's file_search vector stores and code files become the thread's
``tool_resources``. The input's messages become thread messages; replayed calls
with their outputs become finished steps of the run, the first after reasoning sent
back sealed keeping it (``step_details.reasoning``, as the run's own steps do).
"""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.run import Run

from ...errors import InvalidRequestError, NotFoundError
from ...ids import new_id
from ...runs.journal import now, tool_calls_step, updated
from ...store import ResponseRecord, Store
from ..messages import new_user_message
from ..threads import ThreadService
from .input_items import InputCall, InputMessage, InputOutput, InputReasoning
from .request import ResponseSettings


class ResponsePlacement:
    def __init__(self, store: Store, threads: ThreadService) -> None:
        self.store = store
        self.threads = threads

    def thread_for(
        self, conversation_id: str | None, previous_id: str | None, chosen: ResponseSettings
    ) -> str:
        if conversation_id is not None:
            if not conversation_id.startswith("conv_") or not self.store.threads.exists(
                conversation_id
            ):
                raise NotFoundError(
                    f"Conversation with id '{conversation_id}' not found.", param="conversation"
                )
            thread_id = conversation_id
        elif previous_id is not None:
            previous = self.store.responses.get(previous_id)
            if previous is None:
                raise InvalidRequestError(
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            latest = self.store.responses.in_thread(previous.thread_id)[-1]
            if latest.id == previous.id and previous.conversation_id is None:
                thread_id = previous.thread_id
            else:
                thread_id = self._branch(previous)
        else:
            thread_id = self.threads.store_new(self.threads.build({})[0], []).id
        thread = self.threads.retrieve(thread_id)
        resources = thread.tool_resources.model_dump() if thread.tool_resources else {}
        if chosen.vector_store_ids:
            resources["file_search"] = {"vector_store_ids": chosen.vector_store_ids}
        if chosen.code_file_ids is not None:
            resources["code_interpreter"] = {"file_ids": chosen.code_file_ids}
        self.store.threads.update(updated(thread, tool_resources=resources))
        return thread_id

    def _branch(self, previous: ResponseRecord) -> str:
        """A new thread holding ``previous``'s history (what its thread held until the
        response after it began): answering from a response that is not the latest."""
        later = [
            r.input_from
            for r in self.store.responses.in_thread(previous.thread_id)
            if r.input_from > previous.output_from
        ]
        until = min(later, default=None)
        source = self.store.threads.get(previous.thread_id)
        thread = self.threads.store_new(
            updated(
                self.threads.build({})[0],
                tool_resources=source.tool_resources if source else {},
            ),
            [],
        )
        for seq, message in self.store.messages.in_thread_with_seq(previous.thread_id):
            if until is None or seq < until:
                self.store.messages.insert(updated(message, id=new_id("msg"), thread_id=thread.id))
        for seq, step in self.store.steps.in_thread_with_seq(previous.thread_id):
            before = until is None or seq < until
            if before and step.type == "tool_calls" and step.status == "completed":
                self.store.steps.insert(updated(step, id=new_id("step"), thread_id=thread.id))
        return thread.id

    def add_input(self, run: Run, entries: list[Any]) -> None:
        """Store the input's messages, and replayed calls with their outputs as finished
        steps of ``run`` (the first after sealed reasoning keeping it, as a run's would)."""
        outputs = {e.call_id: e.output for e in entries if isinstance(e, InputOutput)}
        reasoning: InputReasoning | None = None
        for entry in entries:
            if isinstance(entry, InputReasoning):
                reasoning = entry
            elif isinstance(entry, InputMessage):
                reasoning = None  # a message's is not kept: the templates drop it
                message = new_user_message(
                    run.thread_id,
                    role=entry.role,
                    content=entry.text,
                    attachments=None,
                    metadata=None,
                    param="input.",
                    file_exists=self.store.files.exists,
                )
                if entry.role == "assistant":
                    message = updated(message, run_id=run.id, assistant_id=run.assistant_id or None)
                self.store.messages.insert(message)
            elif isinstance(entry, InputCall):
                call = {
                    "id": entry.call_id,
                    "type": "function",
                    "function": {
                        "name": entry.name,
                        "arguments": entry.arguments,
                        "output": outputs[entry.call_id],
                    },
                }
                step = tool_calls_step(run, [call], None)
                if reasoning is not None:
                    details = step.step_details.model_dump()
                    details["reasoning"] = {
                        "id": reasoning.id or new_id("rs"),
                        "content": [{"type": "reasoning_text", "text": reasoning.text}],
                    }
                    step = updated(step, step_details=details)
                    reasoning = None
                self.store.steps.insert(updated(step, status="completed", completed_at=now()))
