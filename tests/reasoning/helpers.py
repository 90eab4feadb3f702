"""What the reasoning tests share besides fixtures: the budget, the checks, two requests.

The server (``conftest.py``) gives the distill's copy a reasoning budget of
:data:`BUDGET` tokens: the tiny weights never close their reasoning themselves,
so the runtime writes the closing tag, then the real model answers.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai

from ..conftest import EQUATION
from ..model_families import REASONING_FAMILIES

BUDGET = 12  # reasoning tokens before the runtime closes the tag for the model
TAGS = ("<think>", "</think>")
POINT = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "why": {"type": "string", "maxLength": 40}},
    "required": ["x", "why"],
    "additionalProperties": False,
}


def no_tags(text: str | None) -> None:
    """Neither think tag nor any template token of the families shows in ``text``."""
    markers = {*TAGS, *(m for family in REASONING_FAMILIES for m in family.markers)}
    assert not any(marker in (text or "") for marker in markers), text


def reasoning_of(obj: Any) -> str | None:
    return (obj.model_extra or {}).get("reasoning_content")


def solved(sdk: openai.OpenAI, **run: Any) -> tuple[Any, Any]:
    """A thread asking EQUATION and its run (of an assistant at temperature 0), polled."""
    beta = sdk.beta
    tutor = beta.assistants.create(model="default", temperature=0)
    thread = beta.threads.create(messages=[{"role": "user", "content": EQUATION}])
    return thread, beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=tutor.id, **run
    )


def point(sdk: openai.OpenAI, model: str) -> Any:
    """The answer to EQUATION under the POINT schema: checked to be valid."""
    shaped = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": EQUATION}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "point", "schema": POINT, "strict": True},
        },
        temperature=0,
        max_completion_tokens=120,
    )
    assert shaped.choices[0].finish_reason == "stop", shaped
    message = shaped.choices[0].message
    jsonschema.validate(json.loads(message.content or ""), POINT)
    return message
