"""Run lifecycle: the state table, the journal (persist + publish), the executor, the scheduler."""

from .events import EventBus, RunEvent, Subscription
from .executor import RunExecutor
from .journal import RunJournal
from .recovery import recover_interrupted_runs
from .scheduler import RunScheduler
from .states import POLL_STOP, TERMINAL, TRANSITIONS, IllegalTransition, check_transition, is_legal

__all__ = [
    "POLL_STOP",
    "TERMINAL",
    "TRANSITIONS",
    "EventBus",
    "IllegalTransition",
    "RunEvent",
    "RunExecutor",
    "RunJournal",
    "RunScheduler",
    "Subscription",
    "check_transition",
    "is_legal",
    "recover_interrupted_runs",
]
