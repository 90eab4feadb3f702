"""Where a prompt is cut into the chunks it is evaluated in: the same cuts every time.

A chunk's KV entries depend on the chunk that evaluated it, so a kept prefix gives the
tokens a fresh evaluation would only if it ends where a fresh evaluation cuts (see
DEVELOPERS.md on prefix reuse). Cuts fall every ``size`` tokens (``n_batch``) and also
before a control token of the vocabulary (``<|im_end|>``, ``<start_of_turn>``,
``<|eot_id|>``...) once the chunk holds ``MIN_CHUNK`` tokens: so a message ends on a
cut, and a prefix shared by many prompts (an assistant's instructions, a client's
system prompt) is reused whole, not only up to its last multiple of ``size``.

A cut depends only on the tokens before it, so two prompts that share a prefix are cut
alike inside it. :mod:`.slots` keeps and shares prefixes up to a cut,
:class:`~.sequence.Sequence` evaluates from cut to cut.
"""

from __future__ import annotations

from collections.abc import Sequence

# A control token ends a chunk only once the chunk is this long: a message's closing and
# the next one's opening token (two apart) make one cut, not two tiny chunks.
MIN_CHUNK = 32


def chunk_starts(prompt: Sequence[int], size: int, breaks: frozenset[int]) -> list[int]:
    """The positions where ``prompt``'s chunks start (0 first), every one below its length."""
    starts = [0]
    for position in range(1, len(prompt)):
        run = position - starts[-1]
        if run == size or (run >= MIN_CHUNK and prompt[position] in breaks):
            starts.append(position)
    return starts


def covered(prompt: Sequence[int], common: int, size: int, breaks: frozenset[int]) -> int:
    """The longest prefix of at most ``common`` tokens that ends on a cut of ``prompt``."""
    if common <= 0:
        return 0
    starts = chunk_starts(prompt[: common + 1], size, breaks)
    if common == len(prompt) and common - starts[-1] == size:
        return common  # the whole prompt, its last chunk full
    return max(s for s in starts if s <= common)
