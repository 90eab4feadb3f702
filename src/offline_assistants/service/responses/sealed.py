"""Opaque, tamper-evident handles for what the runtime gives a client to send back.

A compaction item's ``encrypted_content`` (``compaction.py``) carries a
summary of a conversation, and a reasoning item's (with ``include:
["reasoning.encrypted_content"]``, ``items.py``) the model's reasoning, that a
client holding no state (``store: false``, as Codex runs) sends back in a later
request. The client must be able neither to
read it nor to alter it: the handle is the JSON payload encrypted and
authenticated with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``)
under a key kept in the data directory (``sealing.key``, created on first use,
readable by the owner only). A handle made under another data directory, edited,
or not a handle at all is a 400 naming the parameter, never a crash. ``kind``
binds a handle to its use: a compaction handle cannot pass for another kind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ...errors import InvalidRequestError

KEY_FILE = "sealing.key"
COMPACTION = "compaction"
REASONING = "reasoning"


class Sealer:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / KEY_FILE
        self._fernet: Fernet | None = None

    def _key(self) -> Fernet:
        if self._fernet is None:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(Fernet.generate_key())
            self._fernet = Fernet(self.path.read_bytes().strip())
        return self._fernet

    def seal(self, kind: str, payload: dict[str, Any]) -> str:
        body = json.dumps({"kind": kind, **payload}, ensure_ascii=False)
        return self._key().encrypt(body.encode()).decode()

    def open(self, kind: str, handle: str, param: str) -> dict[str, Any]:
        """The payload of a handle this runtime sealed for ``kind``."""
        try:
            payload = json.loads(self._key().decrypt(handle.encode()))
        except (InvalidToken, ValueError, UnicodeError):
            payload = None
        if not isinstance(payload, dict) or payload.get("kind") != kind:
            raise InvalidRequestError(
                f"Invalid '{param}': not a {kind} handle this runtime made (it was altered, "
                "or made by another server or data directory).",
                param=param,
            )
        return payload
