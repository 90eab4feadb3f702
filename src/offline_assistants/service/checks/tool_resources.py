"""The files a request hands to the tools: ``tool_resources`` and message ``attachments``.

Assistants and threads carry ``tool_resources`` (files for the Code Interpreter,
vector stores for file_search, or the helper that makes a store from file ids);
messages carry ``attachments``. Both are checked here for shape and limits, and
every id they name must exist (the callers pass ``file_exists``/``store_exists``
from the repositories), so a run never meets a dangling id it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import InvalidRequestError

MAX_CODE_FILES = 20


def check_tool_resources(
    value: Any,
    file_exists: Callable[[str], bool],
    store_exists: Callable[[str], bool],
    param: str = "tool_resources",
) -> dict[str, Any]:
    """``code_interpreter.file_ids`` and ``file_search.vector_store_ids`` that exist.

    ``file_search.vector_stores`` (the helper that creates a store from file ids) is
    checked and kept for the caller to create; see ``VectorStoreService.resolve_helper``.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError(f"Invalid '{param}': expected an object.", param=param)
    unknown = set(value) - {"code_interpreter", "file_search"}
    if unknown:
        raise InvalidRequestError(
            f"Invalid '{param}': unknown field '{sorted(unknown)[0]}'.", param=param
        )
    checked: dict[str, Any] = {}
    code = value.get("code_interpreter")
    if code is not None:
        where = f"{param}.code_interpreter"
        if not isinstance(code, dict) or set(code) - {"file_ids"}:
            raise InvalidRequestError(
                f"Invalid '{where}': expected {{\"file_ids\": [...]}}.", param=param
            )
        file_ids = _id_list(code.get("file_ids"), f"{where}.file_ids", MAX_CODE_FILES, param)
        _all_exist(file_ids, file_exists, f"{where}.file_ids", "file", param)
        checked["code_interpreter"] = {"file_ids": file_ids}
    search = value.get("file_search")
    if search is not None:
        checked["file_search"] = _file_search_resources(
            search, file_exists, store_exists, f"{param}.file_search", param
        )
    return checked


def _file_search_resources(
    value: Any,
    file_exists: Callable[[str], bool],
    store_exists: Callable[[str], bool],
    where: str,
    param: str,
) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"vector_store_ids", "vector_stores"}:
        raise InvalidRequestError(
            f"Invalid '{where}': expected {{\"vector_store_ids\": [...]}} or "
            '{"vector_stores": [{"file_ids": [...]}]}.',
            param=param,
        )
    ids = _id_list(value.get("vector_store_ids"), f"{where}.vector_store_ids", 1, param)
    _all_exist(ids, store_exists, f"{where}.vector_store_ids", "vector store", param)
    helpers = value.get("vector_stores") or []
    if not isinstance(helpers, list) or len(ids) + len(helpers) > 1:
        raise InvalidRequestError(
            f"Invalid '{where}': at most one vector store (vector_store_ids or vector_stores).",
            param=param,
        )
    checked: dict[str, Any] = {"vector_store_ids": ids}
    for index, helper in enumerate(helpers):
        spot = f"{where}.vector_stores[{index}]"
        if not isinstance(helper, dict) or set(helper) - {
            "file_ids",
            "chunking_strategy",
            "metadata",
        }:
            raise InvalidRequestError(
                f"Invalid '{spot}': expected file_ids, chunking_strategy, metadata.", param=param
            )
        file_ids = _id_list(helper.get("file_ids"), f"{spot}.file_ids", 10_000, param)
        _all_exist(file_ids, file_exists, f"{spot}.file_ids", "file", param)
        checked["vector_stores"] = [{**helper, "file_ids": file_ids}]
    return checked


def _id_list(value: Any, where: str, most: int, param: str) -> list[str]:
    value = value or []
    if not isinstance(value, list) or len(value) > most:
        raise InvalidRequestError(f"Invalid '{where}': a list of at most {most} ids.", param=param)
    return list(dict.fromkeys(value))


def _all_exist(
    ids: list[Any], exists: Callable[[str], bool], where: str, noun: str, param: str
) -> None:
    for item in ids:
        if not isinstance(item, str) or not exists(item):
            raise InvalidRequestError(
                f"Invalid '{where}': no {noun} with id {item!r}.", param=param
            )


def check_attachments(
    value: Any, file_exists: Callable[[str], bool], param: str = "attachments"
) -> list[dict[str, Any]]:
    """Message attachments: files for the code_interpreter and file_search tools."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CODE_FILES:
        raise InvalidRequestError(
            f"Invalid '{param}': a list of at most {MAX_CODE_FILES} attachments.", param=param
        )
    checked = []
    for index, item in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(item, dict) or set(item) - {"file_id", "tools"}:
            raise InvalidRequestError(
                f'Invalid \'{where}\': expected {{"file_id": ..., "tools": [...]}}.', param=param
            )
        file_id = item.get("file_id")
        if not isinstance(file_id, str) or not file_exists(file_id):
            raise InvalidRequestError(
                f"Invalid '{where}.file_id': no file with id {file_id!r}.", param=param
            )
        tools = item.get("tools") or []
        if not isinstance(tools, list) or any(
            not isinstance(t, dict) or t.get("type") not in ("code_interpreter", "file_search")
            for t in tools
        ):
            raise InvalidRequestError(
                f'Invalid \'{where}.tools\': a list of {{"type": "code_interpreter"}} or '
                '{"type": "file_search"} tools.',
                param=param,
            )
        kinds = list(dict.fromkeys(t["type"] for t in tools))
        checked.append({"file_id": file_id, "tools": [{"type": kind} for kind in kinds]})
    return checked
