"""The wire of a serving engine's OpenAI-compatible API, as :mod:`.remote` reads it.

Three things: the SSE stream of a streamed ``/completions`` answer, turned into
events on a queue (:func:`read_stream`, which runs on a thread of its own so the
engine's reader can look at ``stop`` while it waits); the message inside an error
answer, in OpenAI's envelope or FastAPI's (:func:`error_message`); and the models
an engine lists (:func:`served_models`).
"""

from __future__ import annotations

import json
import queue
from typing import Any

import httpx

from ..errors import EngineError


def read_stream(
    timeout: float, response: httpx.Response, events: queue.Queue[tuple[str, Any]]
) -> None:
    """Put the stream's events on ``events``: ``("piece", text)`` per token, ``("usage",
    completion_tokens)`` where the engine counts, then ``("end", "stop" | "length")``, or
    ``("error", what happened)``, or ``("empty", ...)`` for a stream that ended before its
    first token without saying why."""
    finish: str | None = None
    usage: int | None = None
    count = 0
    try:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("error"):
                events.put(("error", f"stopped with an error: {_message(chunk['error'])}"))
                return
            for choice in chunk.get("choices") or ():
                if choice.get("text"):
                    count += 1
                    events.put(("piece", choice["text"]))
                finish = choice.get("finish_reason") or finish
            if isinstance(chunk.get("usage"), dict):
                usage = chunk["usage"].get("completion_tokens")
    except httpx.TimeoutException:
        events.put(("error", f"sent nothing for {timeout:g} s in the middle of an answer."))
        return
    except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
        if response.is_closed:
            return  # closed on purpose (stop): nobody reads any more
        events.put(("error", f"broke off its stream after {count} tokens ({exc})."))
        return
    if finish is None:
        events.put(
            (
                "empty" if count == 0 else "error",
                f"ended its stream after {count} tokens without finishing.",
            )
        )
        return
    if usage is not None:
        events.put(("usage", usage))
    events.put(("end", "length" if finish == "length" else "stop"))


def served_models(url: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The models the engine at ``url`` lists (its ``/v1/models`` entries);
    :class:`EngineError` when it cannot say."""
    root = url.rstrip("/")
    try:
        response = httpx.get(f"{root}/models", timeout=timeout)
    except httpx.TimeoutException as exc:
        raise EngineError(
            f"The engine at {root} did not answer within {timeout:g} s ({exc!r})."
        ) from exc
    except httpx.HTTPError as exc:
        raise EngineError(
            f"The engine at {root} could not be reached ({exc}). Is it running?"
        ) from exc
    try:
        entries = response.json().get("data") if response.status_code == 200 else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise EngineError(
            f"The engine at {root} did not list its models (GET /models: HTTP "
            f"{response.status_code}). Is {root} an OpenAI-compatible API root (often .../v1)?"
        )
    return [
        entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)
    ]


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict) and "error" in body:
        return _message(body["error"])
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:500]
    return str(body)[:500]


def _message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)[:500]
    return str(error)[:500]
