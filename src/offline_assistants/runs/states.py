"""The run state table: the only place that says which status may follow which.

    queued ──► in_progress ──► completed | incomplete | failed
      │            │  ▲
      │            ▼  │
      │        requires_action ──► expired | failed
      │            │
      └──► cancelling ◄──┘ (from queued, in_progress, requires_action)
               │
               └──► cancelled | completed | failed | incomplete

Terminal statuses have no successors. The table is pure data; every status
change in the runtime goes through :func:`check_transition`.
"""

from __future__ import annotations

from collections.abc import Mapping

from openai.types.beta.threads.run_status import RunStatus

from ..errors import InternalError

TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    "queued": frozenset({"in_progress", "cancelling", "failed", "expired"}),
    "in_progress": frozenset(
        {"requires_action", "completed", "incomplete", "failed", "cancelling", "expired"}
    ),
    "requires_action": frozenset({"in_progress", "cancelling", "expired", "failed"}),
    "cancelling": frozenset({"cancelled", "completed", "failed", "incomplete"}),
    "cancelled": frozenset(),
    "failed": frozenset(),
    "completed": frozenset(),
    "incomplete": frozenset(),
    "expired": frozenset(),
}

TERMINAL: frozenset[RunStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# Statuses the SDK's poll helpers stop at (terminal, plus waiting for the caller).
POLL_STOP: frozenset[RunStatus] = TERMINAL | {"requires_action"}


class IllegalTransition(InternalError):
    """A status change the table does not allow: always a bug in the caller."""


def is_legal(old: RunStatus, new: RunStatus) -> bool:
    return new in TRANSITIONS[old]


def check_transition(old: RunStatus, new: RunStatus) -> None:
    if not is_legal(old, new):
        raise IllegalTransition(f"Run status cannot change from '{old}' to '{new}'.")
