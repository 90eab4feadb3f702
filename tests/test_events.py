"""The event bus never deadlocks when a subscription is closed from inside the bus.

That happens for real: an SSE stream whose client went away is a generator the
garbage collector may finalise on the worker thread while it is inside the bus,
and the generator's ``finally`` closes its subscription.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel

from offline_assistants.runs import EventBus


class Payload(BaseModel):
    n: int


def test_closing_a_subscription_from_inside_the_bus() -> None:
    bus = EventBus()
    outcome: list[bool] = []

    def wants(event: str) -> bool:
        bus.close(subscription)  # re-enters the bus on the same thread
        return True

    subscription = bus.open("run_1", wants)
    other = bus.open("run_1")

    def worker() -> None:
        outcome.append(bus.wanted("run_1", "thread.message.delta"))
        bus.publish("run_1", "thread.message.delta", Payload(n=1))

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "the bus deadlocked"
    assert outcome == [True]
    received = other.get(timeout=1)
    assert received is not None and received.data == Payload(n=1)
    assert not bus.wanted("run_2", "thread.message.delta")
