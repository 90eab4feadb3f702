"""Every pair of run statuses: the legal ones pass, every other one is refused."""

from __future__ import annotations

import itertools
import typing

import pytest
from openai.types.beta.threads.run_status import RunStatus

from offline_assistants.runs.states import (
    POLL_STOP,
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    check_transition,
)

STATUSES: tuple[str, ...] = typing.get_args(RunStatus)

# Written out by hand from the Assistants API's run lifecycle, not derived from the table.
LEGAL = {
    ("queued", "in_progress"),
    ("queued", "cancelling"),
    ("queued", "failed"),
    ("queued", "expired"),
    ("in_progress", "requires_action"),
    ("in_progress", "completed"),
    ("in_progress", "incomplete"),
    ("in_progress", "failed"),
    ("in_progress", "cancelling"),
    ("in_progress", "expired"),
    ("requires_action", "in_progress"),
    ("requires_action", "cancelling"),
    ("requires_action", "expired"),
    ("requires_action", "failed"),
    ("cancelling", "cancelled"),
    ("cancelling", "completed"),
    ("cancelling", "failed"),
    ("cancelling", "incomplete"),
}


def test_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(STATUSES)


@pytest.mark.parametrize(("old", "new"), sorted(itertools.product(STATUSES, STATUSES)))
def test_transition(old: RunStatus, new: RunStatus) -> None:
    if (old, new) in LEGAL:
        check_transition(old, new)
    else:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(old, new)
        assert old in caught.value.message and new in caught.value.message


def test_terminal_and_poll_stop_statuses() -> None:
    assert {"cancelled", "failed", "completed", "incomplete", "expired"} == TERMINAL
    # The SDK's poll helpers stop at exactly these.
    assert {
        "requires_action",
        "cancelled",
        "completed",
        "failed",
        "expired",
        "incomplete",
    } == POLL_STOP
