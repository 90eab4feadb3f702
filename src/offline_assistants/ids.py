"""Object ids in OpenAI's style: a prefix naming the kind, then 24 random base62 characters."""

from __future__ import annotations

import secrets
import string
from typing import Literal

_ALPHABET = string.ascii_letters + string.digits

Prefix = Literal[
    "asst",
    "thread",
    "msg",
    "run",
    "step",
    "call",
    "file",
    "vs",
    "vsfb",
    "resp",
    "conv",
    "cntr",
    "cmp",
    "rs",
    "mcpl",
]


def new_id(prefix: Prefix) -> str:
    """A fresh id such as ``asst_4Kq...``; collisions are as likely as guessing 143 random bits."""
    return prefix + "_" + random_token()


def random_token(length: int = 24) -> str:
    """``length`` random base62 characters (for ids whose prefix is not ours: ``chatcmpl-``)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
