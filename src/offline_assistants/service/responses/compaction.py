"""``POST /v1/responses/compact``: a conversation made short enough to go on with.

A client whose history nears the model's window (Codex, agents that run with
``store: false``) sends it here, as ``input`` items, after ``previous_response_id``,
or both. The answer, as the API and the Open Responses spec shape it, is the
conversation's user messages followed by one ``compaction`` item. Its
``encrypted_content`` holds a summary the model writes of the whole conversation
(its instructions, turns and tool results, oldest lines dropped where the
transcript does not fit the window), sealed (``sealed.py``) so the client can
neither read nor alter it. Sent back as an input item, it is opened and the
summary instructs the response (``input_items.py``). ``usage`` is the
summarising generation's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai.types.responses.response_compact_params import ResponseCompactParams

from ...config import Settings
from ...engine import ChatMessage, resolve_model
from ...errors import InvalidRequestError
from ...ids import new_id
from ...runs.journal import now
from ...store import Store
from ..chat_completions import ChatCompletionService
from ..checks.params import check_params
from ..checks.validation import MAX_MODEL_NAME, check_text
from .input_items import InputInstruction, parse_input
from .input_tokens import input_units, thread_history
from .sealed import COMPACTION, Sealer

SUMMARIZE = (
    "You compact a conversation between a user and an assistant so that it can go on "
    "without its full history. Write a summary of everything the assistant needs to "
    "continue: the user's goals and requests, decisions made, facts learned, tool calls "
    "and their results, and what remains to be done. Write only the summary."
)
SUMMARY_TOKENS = 512
TRIES = 6  # halvings of the transcript before giving up on a window too small


class ResponseCompactor:
    def __init__(
        self, store: Store, settings: Settings, chat: ChatCompletionService, sealer: Sealer
    ) -> None:
        self.store = store
        self.settings = settings
        self.chat = chat
        self.sealer = sealer

    def compact(self, params: Mapping[str, Any]) -> dict[str, Any]:
        p = check_params(ResponseCompactParams, params)
        model = check_text(p.get("model"), "model", MAX_MODEL_NAME, required=True)
        assert model is not None
        resolve_model(model, self.settings)
        entries = parse_input(p.get("input"), unseal=self.sealer.open)
        history = thread_history(self.store, p) + input_units(entries)
        instructions = [check_text(p.get("instructions"), "instructions", 256_000) or ""]
        instructions += [e.text for e in entries if isinstance(e, InputInstruction)]
        lines = [f"[instructions] {text}" for text in instructions if text]
        lines += [_line(turn) for unit in history for turn in unit]
        if not lines:
            raise InvalidRequestError(
                "Nothing to compact: give 'input' items or a 'previous_response_id'.",
                param="input",
            )
        summary, usage = self._summarize(model, lines)
        users = [
            {
                "id": new_id("msg"),
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_text", "text": turn.content}],
            }
            for unit in history
            for turn in unit
            if turn.role == "user"
        ]
        handle = self.sealer.seal(COMPACTION, {"summary": summary, "model": model})
        return {
            "id": new_id("resp"),
            "object": "response.compaction",
            "created_at": now(),
            "output": [
                *users,
                {"id": new_id("cmp"), "type": "compaction", "encrypted_content": handle},
            ],
            "usage": usage,
        }

    def _summarize(self, model: str, lines: list[str]) -> tuple[str, dict[str, Any]]:
        """The model's summary of the transcript; the oldest half of the lines dropped while
        the transcript does not fit the window."""
        for _ in range(TRIES):
            request = {
                "model": model,
                "messages": [
                    {"role": "system", "content": SUMMARIZE},
                    {"role": "user", "content": "\n".join(lines)},
                ],
                "temperature": 0,
                "max_completion_tokens": SUMMARY_TOKENS,
            }
            try:
                completion = self.chat.create(request)
            except InvalidRequestError as exc:
                if exc.code != "context_length_exceeded" or len(lines) <= 1:
                    raise
                lines = lines[len(lines) // 2 :]
                continue
            usage = completion.usage
            prompt = usage.prompt_tokens if usage else 0
            output = usage.completion_tokens if usage else 0
            return completion.choices[0].message.content or "", {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": prompt + output,
            }
        raise InvalidRequestError(
            "The conversation cannot be compacted: even its last turns do not fit the "
            "model's context window.",
            param="input",
        )


def _line(turn: ChatMessage) -> str:
    if turn.role == "tool":
        return f"[result of {turn.name}] {turn.content}"
    calls = "; ".join(f"{call.name}({call.arguments})" for call in turn.tool_calls)
    text = " ".join(part for part in (turn.content, f"[calls {calls}]" if calls else "") if part)
    return f"[{turn.role}] {text}"
