"""Degenerate repetition: telling when a model is stuck repeating itself.

Small models sampled greedily (and sometimes at any temperature) fall into
loops: the same sentence, line or token over and over until the token budget
or the context window runs out. DRY sampling makes that unlikely; this check
is the backstop the engine applies to free text: the output is looping when
its tail is one cycle of at most :data:`MAX_PERIOD` tokens repeated until it
covers at least :data:`MIN_SPAN` tokens and three periods. Lists that merely
share a pattern ("1, 2, 3, ...") never repeat a whole cycle exactly, so they
are not stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_PERIOD = 64
MIN_SPAN = 48
MIN_REPEATS = 3


def looping(tokens: Sequence[int]) -> bool:
    """Whether ``tokens`` end in a cycle repeated at least three times over 48+ tokens."""
    tail = list(tokens[-(MAX_PERIOD * MIN_REPEATS + MIN_SPAN) :])
    if len(tail) < MIN_SPAN:
        return False
    last = tail[-1]
    for period in range(1, MAX_PERIOD + 1):
        span = max(period * MIN_REPEATS, MIN_SPAN)
        if span > len(tail):
            break
        if tail[-1 - period] != last:  # (this check runs every token: most periods end here)
            continue
        window = tail[-span:]
        if window[period:] == window[:-period]:
            return True
    return False
