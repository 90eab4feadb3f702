"""Citations: file_citation markers placed after the sentences of an answer that quote a source.

The answer is split into sentences; a sentence is said to draw on a source
when most of its words (at least ``MIN_WORDS`` of them) occur in that source's
text. Such a sentence gets a marker right after it, ``【0:2†paper.pdf, p. 8】``
(search call : source rank † file name, page), in the style the hosted API
used, and a ``file_citation`` annotation whose ``start_index``/``end_index``
are the marker's place in the final text, so ``text[start:end] ==
annotation.text``. An answer that quotes no source still cites the first
source it was given, at its end: the model answered from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIN_WORDS = 3
MIN_SHARE = 0.6
_SENTENCE = re.compile(r"[^\n]+?(?:[.!?]+(?=\s)|$)", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_COMMON = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "was",
        "were",
        "with",
        "that",
        "this",
        "from",
        "have",
        "has",
        "had",
        "not",
        "but",
        "its",
        "into",
        "than",
        "then",
        "also",
        "can",
        "which",
        "their",
        "there",
        "these",
        "those",
        "been",
        "will",
        "would",
        "could",
        "should",
        "what",
        "when",
        "where",
        "who",
        "how",
        "why",
        "all",
        "any",
        "each",
        "our",
        "your",
        "they",
        "them",
        "his",
        "her",
        "you",
    ]
)


@dataclass(frozen=True)
class Source:
    """A search result the model was shown."""

    file_id: str
    file_name: str
    first_page: int
    last_page: int
    text: str

    @property
    def label(self) -> str:
        if self.first_page <= 0:  # pages unknown (the chunk has left the index since)
            return self.file_name
        pages = (
            f"p. {self.first_page}"
            if self.first_page == self.last_page
            else f"pp. {self.first_page}-{self.last_page}"
        )
        return f"{self.file_name}, {pages}"


def words(text: str) -> set[str]:
    return {
        w for w in _WORD.findall(text.lower()) if (len(w) > 2 or w.isdigit()) and w not in _COMMON
    }


def cite(text: str, sources: Sequence[Source]) -> tuple[str, list[dict[str, Any]]]:
    """The text with markers inserted, and the annotations that point at them."""
    if not sources:
        return text, []
    source_words = [words(source.text) for source in sources]
    placed: list[tuple[int, int]] = []  # (end of sentence, source rank)
    for match in _SENTENCE.finditer(text):
        sentence = words(match.group())
        if len(sentence) < MIN_WORDS:
            continue
        shares = [len(sentence & known) / len(sentence) for known in source_words]
        best = max(range(len(sources)), key=lambda rank: (shares[rank], -rank))
        if shares[best] >= MIN_SHARE:
            placed.append((match.end(), best))
    if not placed:
        placed.append((len(text.rstrip()), 0))
    out: list[str] = []
    annotations: list[dict[str, Any]] = []
    cursor = 0
    for end, rank in placed:
        out.append(text[cursor:end])
        marker = f"【0:{rank}†{sources[rank].label}】"
        start = sum(len(part) for part in out)
        out.append(marker)
        annotations.append(
            {
                "type": "file_citation",
                "text": marker,
                "start_index": start,
                "end_index": start + len(marker),
                "file_citation": {"file_id": sources[rank].file_id},
            }
        )
        cursor = end
    out.append(text[cursor:])
    return "".join(out), annotations
