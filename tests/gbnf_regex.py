"""Translate the non-recursive subset of GBNF our grammar builder emits into a Python regex.

Used by tests to check grammars exhaustively without a model: literals, character
classes, groups, alternation, ?, *, +, {m,n} and references to other rules.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])|(?P<rep>\{\d*,?\d*\})'
    r"|(?P<op>[()|?*+])|(?P<ref>[a-zA-Z0-9-]+))"
)


def to_regex(gbnf: str, rule: str = "root") -> str:
    rules = {}
    for line in gbnf.strip().splitlines():
        name, body = line.split(" ::= ", 1)
        rules[name.strip()] = body

    def translate(name: str, depth: int = 0) -> str:
        if depth > 50:
            raise ValueError("recursive grammar")
        body, out, pos = rules[name], [], 0
        while pos < len(body):
            match = _TOKEN.match(body, pos)
            if match is None or match.end() == pos:
                if body[pos:].strip() == "":
                    break
                raise ValueError(f"cannot translate {body[pos:]!r}")
            pos = match.end()
            if match.group("lit"):
                text = match.group("lit")[1:-1].encode().decode("unicode_escape")
                out.append(re.escape(text))
            elif match.group("cls"):
                out.append(match.group("cls"))
            elif match.group("rep"):
                out.append(match.group("rep"))
            elif match.group("op"):
                op = match.group("op")
                out.append("(?:" if op == "(" else op)
            else:
                out.append(f"(?:{translate(match.group('ref'), depth + 1)})")
        return "".join(out)

    return translate(rule)
