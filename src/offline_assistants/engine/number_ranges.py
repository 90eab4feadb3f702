"""GBNF for numbers within bounds: exact integer ranges, sound number ranges.

:mod:`.grammar` turns ``minimum``/``maximum`` (and their exclusive forms) into
these rules. Integers are matched exactly, digit by digit without leading zeros;
numbers with a fraction only where every such number stays inside the bounds, so
whatever the grammar accepts validates. Magnitudes stop at :data:`MAX_DIGITS`
digits.
"""

from __future__ import annotations

import math

MAX_DIGITS = 16


def int_bounds(
    minimum: float | None,
    exclusive_minimum: float | None,
    maximum: float | None,
    exclusive_maximum: float | None,
) -> tuple[int | None, int | None]:
    """The smallest and largest integers the bounds allow (None: unbounded)."""
    lows = []
    if minimum is not None:
        lows.append(math.ceil(minimum))
    if exclusive_minimum is not None:
        lows.append(math.floor(exclusive_minimum) + 1)
    highs = []
    if maximum is not None:
        highs.append(math.floor(maximum))
    if exclusive_maximum is not None:
        highs.append(math.ceil(exclusive_maximum) - 1)
    return (max(lows) if lows else None), (min(highs) if highs else None)


def integer_range(low: int | None, high: int | None) -> str:
    """GBNF for exactly the integers in [low, high] (either end may be open)."""
    parts = []
    if low is None or low < 0:  # negatives: "-" then magnitudes in [max(1, -high), -low]
        magnitude_low = 1 if high is None or high >= 0 else -high
        magnitude_high = None if low is None else -low
        parts.append(f'"-" ( {_magnitudes(magnitude_low, magnitude_high)} )')
    if high is None or high >= 0:
        parts.append(_magnitudes(max(low or 0, 0), high))
    return " | ".join(f"( {p} )" for p in parts)


def _magnitudes(low: int, high: int | None) -> str:
    """Non-negative integers in [low, high] without leading zeros; ``high`` None = unbounded."""
    cap = 10**MAX_DIGITS - 1
    top = cap if high is None else min(high, cap)
    alternatives = []
    for digits in range(len(str(low)), len(str(top)) + 1):
        start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        end = min(top, 10**digits - 1)
        if start <= end:
            alternatives.extend(_same_length(str(start), str(end)))
    return " | ".join(alternatives)


def _same_length(low: str, high: str) -> list[str]:
    """Patterns for the digit strings of one length between ``low`` and ``high``."""
    if low == high:
        return [_digits(low)]
    if len(low) == 1:
        return [f"[{low}-{high}]"]
    rest = len(low) - 1
    if low[0] == high[0]:
        return [f"{_digits(low[0])} ( {' | '.join(_same_length(low[1:], high[1:]))} )"]
    patterns = []
    first, last = int(low[0]), int(high[0])
    if low[1:] != "0" * rest:
        patterns.append(f"{_digits(low[0])} ( {' | '.join(_same_length(low[1:], '9' * rest))} )")
        first += 1
    if high[1:] != "9" * rest:
        patterns.append(f"{_digits(high[0])} ( {' | '.join(_same_length('0' * rest, high[1:]))} )")
        last -= 1
    if first <= last:
        patterns.append(f"[{first}-{last}] [0-9]{{{rest}}}")
    return patterns


def number_range(
    minimum: float | None,
    exclusive_minimum: float | None,
    maximum: float | None,
    exclusive_maximum: float | None,
) -> str | None:
    """A sound GBNF for numbers within the bounds: whole numbers, and fractions where safe.

    A fraction always ends in a non-zero digit, so ``k.ddd`` lies strictly inside
    (k, k+1): allowed for k >= 0 when k >= the lower bound and k + 1 <= the upper
    bound. ``-k.ddd`` lies strictly inside (-(k+1), -k): allowed when -k <= the upper
    bound and -(k+1) >= the lower bound. The grammar accepts a subset of the range,
    never a value outside it; None when that subset is empty.
    """
    lowers = [float(v) for v in (minimum, exclusive_minimum) if v is not None]
    uppers = [float(v) for v in (maximum, exclusive_maximum) if v is not None]
    lower = max(lowers) if lowers else None
    upper = min(uppers) if uppers else None
    int_low, int_high = int_bounds(minimum, exclusive_minimum, maximum, exclusive_maximum)
    fraction = '"." [0-9]{0,5} [1-9]'
    parts = []
    if int_low is None or int_high is None or int_low <= int_high:
        parts.append(f"( {integer_range(int_low, int_high)} )")
    positive_low = 0 if lower is None or lower <= 0 else math.ceil(lower)
    positive_high = None if upper is None else math.floor(upper) - 1
    if positive_high is None or positive_high >= positive_low:
        parts.append(f"( {_magnitudes(positive_low, positive_high)} ) {fraction}")
    negative_low = 0 if upper is None or upper >= 0 else math.ceil(-upper)
    negative_high = None if lower is None else math.floor(-lower) - 1
    if negative_high is None or negative_high >= negative_low:
        parts.append(f'"-" ( {_magnitudes(negative_low, negative_high)} ) {fraction}')
    return " | ".join(f"( {p} )" for p in parts) if parts else None


def _digits(text: str) -> str:
    """A GBNF literal for a digit string (digits need no escaping)."""
    return f'"{text}"'
