"""What the API accepts beyond the SDK's request types: the keys real clients send or omit.

The SDK's ``*_params`` TypedDicts are the shapes :mod:`.params` checks requests
against, but they describe what the official SDK *sends*, not what the API
*accepts*. Two rules bridge the gap:

- a key marked ``Required`` whose type is nullable (``Required[Optional[X]]``:
  a function tool's ``strict`` and ``parameters``) is one the SDK always sends
  and the API accepts omitted; :func:`.param_types.fields_of` treats every such
  key as optional, for every API;
- the tables below name, per SDK type, the other keys the hosted API and the
  Open Responses specification accept omitted (:data:`OPTIONAL`), and the keys
  clients send that the SDK's types lack (:data:`EXTRA`). Each entry names the
  client or the spec that needs it.

Extra keys are checked for their shape like any other and then read or ignored
by the service (``service/responses/request.py``); they never widen what a key
the SDK does declare may hold.
"""

from __future__ import annotations

from typing import Any, Literal

from openai.types.chat.chat_completion_assistant_message_param import (
    ChatCompletionAssistantMessageParam,
)
from openai.types.responses import response_input_item_param
from openai.types.responses.easy_input_message_param import EasyInputMessageParam
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from openai.types.responses.response_input_image_param import ResponseInputImageParam
from openai.types.responses.response_output_message_param import ResponseOutputMessageParam
from openai.types.responses.response_output_text_param import ResponseOutputTextParam
from openai.types.responses.response_reasoning_item_param import ResponseReasoningItemParam

__all__ = ["EXTRA", "OPTIONAL"]

_STATUS = Literal["in_progress", "completed", "incomplete"]

# Keys the SDK marks required that the API accepts omitted.
OPTIONAL: dict[Any, frozenset[str]] = {
    # Open Responses: an input_image's detail defaults to "auto".
    ResponseInputImageParam: frozenset({"detail"}),
    # Open Responses: a replayed reasoning item's id is optional (Codex, Agents SDKs).
    ResponseReasoningItemParam: frozenset({"id"}),
    # An assistant message replayed as history: Codex and LangChain send no status, the
    # Open Responses spec makes id and status optional, and output_text's annotations too.
    ResponseOutputMessageParam: frozenset({"id", "status"}),
    ResponseOutputTextParam: frozenset({"annotations"}),
}

# Keys clients send that the SDK's types do not declare: name → type.
EXTRA: dict[Any, dict[str, Any]] = {
    ResponseCreateParamsBase: {
        # Codex sends its turn metadata here on every request (string values).
        "client_metadata": dict[str, str] | None,
        # The Open Responses spec's sampling penalties (Chat Completions has them too).
        "presence_penalty": float | None,
        "frequency_penalty": float | None,
    },
    # Codex sends an id on every input message; the Open Responses spec allows id and status.
    EasyInputMessageParam: {"id": str | None, "status": _STATUS | None},
    response_input_item_param.Message: {"id": str | None},
    # A reasoning model's earlier reasoning sent back with its turn (vLLM's and llama.cpp's
    # servers accept it; Qwen3's template shows it for the turns of the current question).
    ChatCompletionAssistantMessageParam: {"reasoning_content": str | None},
}
