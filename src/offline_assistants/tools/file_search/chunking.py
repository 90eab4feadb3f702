"""Splitting pages into overlapping chunks of tokens, keeping where each chunk came from.

The API's ``chunking_strategy``: ``auto`` is 800 tokens with 400 of overlap;
``static`` sets ``max_chunk_size_tokens`` (100–4096) and
``chunk_overlap_tokens`` (at most half of it). The document's pages are
tokenised as one stream so a chunk may cross a page boundary; each chunk
records the pages it spans and its text is cut from the original string at
token boundaries, never re-joined from tokens.

A chunk can be longer than the embedding model reads (MiniLM: 256 tokens),
so each chunk also carries ``windows``: its text cut into equal parts of at
most ``window_tokens``, placed on a grid from the chunk's start. The index
embeds every window and scores a chunk by its best window, so the end of an
800-token chunk is found as well as its start. With the auto strategy the
windows are 200 tokens and the 400-token step is a multiple of that, so the
two chunks sharing a stretch of text share its windows (embedded once).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .documents import Page

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400

# (text) -> the character offsets where each token starts and ends
Tokenizer = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    first_page: int
    last_page: int
    windows: tuple[str, ...] = ()


def chunk_pages(
    pages: Sequence[Page],
    tokenize: Tokenizer,
    max_tokens: int = AUTO_MAX_TOKENS,
    overlap: int = AUTO_OVERLAP_TOKENS,
    window_tokens: int | None = None,
) -> list[Chunk]:
    if max_tokens < 1 or not 0 <= overlap <= max_tokens // 2:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap <= max_tokens / 2")
    parts = math.ceil(max_tokens / window_tokens) if window_tokens else 1
    width = math.ceil(max_tokens / parts)
    joined = ""
    page_starts: list[tuple[int, int]] = []  # (character offset, page number)
    for page in pages:
        page_starts.append((len(joined), page.number))
        joined += page.text.rstrip() + "\n\n"
    spans = tokenize(joined)
    chunks: list[Chunk] = []
    step = max_tokens - overlap
    start = 0
    while start < len(spans):
        window = spans[start : start + max_tokens]
        begin, end = window[0][0], window[-1][1]
        text = joined[begin:end].strip()
        if text:
            cuts = [window[i : i + width] for i in range(0, len(window), width)]
            windows = tuple(
                piece for cut in cuts if (piece := joined[cut[0][0] : cut[-1][1]].strip())
            )
            chunks.append(
                Chunk(
                    len(chunks),
                    text,
                    _page_at(page_starts, begin),
                    _page_at(page_starts, end - 1),
                    windows or (text,),
                )
            )
        if start + max_tokens >= len(spans):
            break
        start += step
    return chunks


def _page_at(page_starts: list[tuple[int, int]], offset: int) -> int:
    number = page_starts[0][1]
    for start, page in page_starts:
        if start > offset:
            break
        number = page
    return number
