"""Each stored response's stream events as they were sent, to replay and follow later.

``GET /v1/responses/{id}?stream=true&starting_after=N`` (a client resuming a
background response, or re-reading a stored one) gets the very events a live
stream got, with the same ``sequence_number``\\ s, then follows the response live
until it ends. So every stored response records its events as they are made
(``events.py`` yields them; the service appends each here), in
``<data>/response_events/<id>.jsonl``, one wire JSON line each, written before
the event goes out. A background response is recorded by a thread of its own, so
its events exist whether or not a client is reading them.

A reader waits on a condition the writer notifies, never polling the file; a
recording without its ending (the runtime was killed mid-response) ends, for a
reader, once the response is settled: the caller then sends the ending itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

ENDINGS = ("response.completed", "response.failed", "response.incomplete", "error")


class ResponseEventLog:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._changed = threading.Condition()
        self._writing: set[str] = set()  # responses whose events are being recorded

    def begin(self, response_id: str) -> None:
        with self._changed:
            self._writing.add(response_id)

    def end(self, response_id: str) -> None:
        with self._changed:
            self._writing.discard(response_id)
            self._changed.notify_all()

    def path(self, response_id: str) -> Path:
        return self.root / f"{response_id}.jsonl"

    def exists(self, response_id: str) -> bool:
        """Whether the response's events were recorded, or are being."""
        with self._changed:
            return response_id in self._writing or self.path(response_id).exists()

    def append(self, response_id: str, line: str) -> None:
        with self._changed:
            self.root.mkdir(parents=True, exist_ok=True)
            with self.path(response_id).open("a", encoding="utf-8") as out:
                out.write(line + "\n")
            self._changed.notify_all()

    def delete(self, response_id: str) -> None:
        with self._changed:
            self.path(response_id).unlink(missing_ok=True)

    def follow(self, response_id: str, after: int, keepalive: float) -> Iterator[str | None]:
        """The recorded events numbered past ``after`` (wire JSON), then new ones as they
        are written, until the ending; None after each ``keepalive`` seconds of silence.
        Returns without an ending when nothing records the response any more and none
        was written (the runtime was stopped mid-response)."""
        offset = 0
        while True:
            with self._changed:
                lines, offset = self._read(response_id, offset)
                if not lines:
                    if response_id not in self._writing:
                        return
                    self._changed.wait(timeout=keepalive)
                    lines, offset = self._read(response_id, offset)
            if not lines:
                yield None
                continue
            for line in lines:
                event = json.loads(line)
                if event.get("sequence_number", -1) > after:
                    yield line
                if event.get("type") in ENDINGS:
                    return

    def _read(self, response_id: str, offset: int) -> tuple[list[str], int]:
        """Whole lines written past ``offset`` (bytes), and the offset after them."""
        try:
            with self.path(response_id).open("rb") as log:
                log.seek(offset)
                data = log.read()
        except FileNotFoundError:
            return [], offset
        whole = data[: data.rfind(b"\n") + 1]
        lines = [line.decode() for line in whole.splitlines() if line.strip()]
        return lines, offset + len(whole)
