"""Checks for ``submit_tool_outputs``: every pending call answered once, with a string of sane size."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRequestError

# The hosted API's limit on one output; larger ones are refused, not silently cut.
MAX_OUTPUT_BYTES = 512 * 1024


def check_tool_outputs(tool_outputs: Any, pending: list[str]) -> dict[str, str]:
    """``{tool_call_id: output}`` for exactly the ``pending`` call ids, or a clear error."""
    param = "tool_outputs"
    if not isinstance(tool_outputs, list | tuple) or not tool_outputs:
        raise InvalidRequestError(
            f"Invalid '{param}': expected a non-empty list of {{tool_call_id, output}}.",
            param=param,
        )
    outputs: dict[str, str] = {}
    for index, item in enumerate(tool_outputs):
        where = f"{param}[{index}]"
        if not isinstance(item, dict):
            raise InvalidRequestError(f"Invalid '{where}': expected an object.", param=param)
        call_id, output = item.get("tool_call_id"), item.get("output")
        if call_id not in pending:
            raise InvalidRequestError(
                f"Invalid '{where}.tool_call_id': no pending tool call with id {call_id!r}; "
                f"this run waits for {pending}.",
                param=param,
            )
        if call_id in outputs:
            raise InvalidRequestError(
                f"Invalid '{where}.tool_call_id': {call_id} was given more than once.", param=param
            )
        if not isinstance(output, str):
            raise InvalidRequestError(
                f"Invalid '{where}.output': expected a string (serialise structured results, "
                f"e.g. with json.dumps), got {type(output).__name__}.",
                param=param,
            )
        size = len(output.encode("utf-8"))
        if size > MAX_OUTPUT_BYTES:
            raise InvalidRequestError(
                f"Invalid '{where}.output': {size} bytes is more than the {MAX_OUTPUT_BYTES} "
                "allowed; summarise or truncate it before submitting.",
                param=param,
                code="string_above_max_length",
            )
        outputs[call_id] = output
    missing = [call_id for call_id in pending if call_id not in outputs]
    if missing:
        raise InvalidRequestError(
            f"Expected tool outputs for call_ids {pending}, got {list(outputs)}; missing {missing}.",
            param=param,
        )
    return outputs
