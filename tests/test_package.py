"""The public surface: exports, the SDK-shaped resource tree, the error tree."""

from __future__ import annotations

import pytest

import offline_assistants
from offline_assistants import (
    Client,
    ConflictError,
    DataDirLockedError,
    InsufficientStorageError,
    InternalError,
    InvalidRequestError,
    ModelFileError,
    NotFoundError,
    OfflineAssistantsError,
    PayloadTooLargeError,
)


def test_all_is_exact() -> None:
    assert sorted(offline_assistants.__all__) == sorted(
        [
            "Client",
            "ConflictError",
            "CursorPage",
            "DataDirLockedError",
            "EngineError",
            "InsufficientStorageError",
            "InternalError",
            "InvalidRequestError",
            "ModelFileError",
            "NotFoundError",
            "OfflineAssistantsError",
            "PayloadTooLargeError",
            "UpstreamError",
            "VectorIndexError",
            "Settings",
            "__version__",
        ]
    )
    for name in offline_assistants.__all__:
        assert getattr(offline_assistants, name) is not None


def test_resource_tree_mirrors_the_sdk(client: Client) -> None:
    beta = client.beta
    for path in [
        "assistants.create", "assistants.retrieve", "assistants.update", "assistants.delete",
        "assistants.list", "threads.create", "threads.retrieve", "threads.update",
        "threads.delete", "threads.create_and_run", "threads.create_and_run_poll",
        "threads.messages.create", "threads.messages.retrieve", "threads.messages.update",
        "threads.messages.delete", "threads.messages.list", "threads.runs.create",
        "threads.runs.create_and_poll", "threads.runs.poll", "threads.runs.retrieve",
        "threads.runs.update", "threads.runs.list", "threads.runs.cancel",
        "threads.runs.steps.retrieve", "threads.runs.steps.list",
    ]:  # fmt: skip
        target: object = beta
        for part in path.split("."):
            target = getattr(target, part)
        assert callable(target), path


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequestError, 400, "invalid_request_error"),
        (ModelFileError, 400, "invalid_request_error"),
        (ConflictError, 400, "invalid_request_error"),
        (NotFoundError, 404, "invalid_request_error"),
        (DataDirLockedError, 409, "invalid_request_error"),
        (PayloadTooLargeError, 413, "invalid_request_error"),
        (InsufficientStorageError, 507, "server_error"),
        (InternalError, 500, "server_error"),
    ],
)
def test_error_tree(error: type[OfflineAssistantsError], status: int, kind: str) -> None:
    assert issubclass(error, OfflineAssistantsError)
    raised = error("something is wrong", param="p", code="c")
    assert raised.status_code == status and raised.type == kind
    assert raised.to_dict() == {
        "error": {"message": "something is wrong", "type": kind, "param": "p", "code": "c"}
    }
