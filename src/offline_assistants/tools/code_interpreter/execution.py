"""What one cell produced: logs, images, files and how it ended, with every size capped.

``OutputCollector`` reads a cell's iopub messages. It keeps stdout, stderr,
results and tracebacks as one log (ANSI colours removed) up to a cap and
counts what it dropped, so a cell that prints gigabytes is drained without
being stored; PNG images are kept up to a count and a size.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "died"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class CollectedFile:
    """A regular file the code wrote under /mnt/data (name relative to it)."""

    name: str
    data: bytes


@dataclass
class Execution:
    """The result of running one code string in a kernel."""

    status: Status
    logs: str = ""
    images: list[bytes] = field(default_factory=list)
    files: list[CollectedFile] = field(default_factory=list)
    error: str | None = None  # "NameError: name 'x' is not defined", or why it was stopped
    restarted: bool = False  # the kernel was restarted: its variables are gone


@dataclass
class OutputLimits:
    max_log_chars: int = 64_000
    max_images: int = 10
    max_image_bytes: int = 10 << 20


class OutputCollector:
    """Accumulates one cell's iopub messages within ``OutputLimits``."""

    def __init__(self, limits: OutputLimits) -> None:
        self.limits = limits
        self.parts: list[str] = []
        self.size = 0
        self.dropped_chars = 0
        self.dropped_images = 0
        self.images: list[bytes] = []
        self.error: str | None = None

    def add(self, msg_type: str, content: dict[str, Any]) -> None:
        if msg_type == "stream":
            self._text(str(content.get("text", "")))
        elif msg_type in ("execute_result", "display_data"):
            data = content.get("data") or {}
            png = data.get("image/png")
            if isinstance(png, str):
                self._image(png)
            elif "text/plain" in data:
                self._text(str(data["text/plain"]) + "\n")
        elif msg_type == "error":
            name, value = content.get("ename", "Error"), content.get("evalue", "")
            self.error = f"{name}: {value}"
            trace = "\n".join(str(line) for line in content.get("traceback") or [])
            self._text(ANSI.sub("", trace) + "\n")

    def _text(self, text: str) -> None:
        room = self.limits.max_log_chars - self.size
        if room <= 0:
            self.dropped_chars += len(text)
            return
        self.parts.append(text[:room])
        self.size += min(len(text), room)
        self.dropped_chars += max(0, len(text) - room)

    def _image(self, encoded: str) -> None:
        if (
            len(self.images) >= self.limits.max_images
            or len(encoded) > self.limits.max_image_bytes * 4 // 3 + 4
        ):
            self.dropped_images += 1
            return
        try:
            self.images.append(base64.b64decode(encoded, validate=False))
        except (binascii.Error, ValueError):
            self.dropped_images += 1

    def logs(self) -> str:
        text = "".join(self.parts)
        if self.dropped_chars:
            text += f"\n[output truncated: {self.dropped_chars} more characters]\n"
        if self.dropped_images:
            text += f"\n[{self.dropped_images} image(s) dropped: over the limit]\n"
        return text
