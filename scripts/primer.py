"""Lay out "The Transformer, Explained" (scripts/primer_text.py) as a PDF, with pypdf.

The demo's retrieval part and the file_search tests index this PDF, so a fresh clone
needs nothing beside it. Letter pages, Helvetica (the PDF's standard fonts: nothing is
embedded), each page of the text on its own PDF page, tables set in columns. The output
is the same bytes every time.

    .venv/bin/python scripts/primer.py OUT.pdf
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from primer_text import FILE_NAME, PAGES, TITLE, Block  # noqa: E402

WIDTH, HEIGHT, MARGIN = 612.0, 792.0, 72.0
FONTS = {"/F1": "/Helvetica", "/F2": "/Helvetica-Bold"}
# (font, size, leading, space before) of each kind of block
STYLES = {
    "title": ("/F2", 16.0, 20.0, 0.0),
    "h": ("/F2", 12.0, 16.0, 8.0),
    "p": ("/F1", 10.0, 13.5, 5.0),
}
TABLE = ("/F1", 9.0, 12.5, 6.0)
# Helvetica's advance widths (1/1000 em) for ASCII 32..126, from its AFM file.
_WIDTHS = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584"
)
ADVANCE = {chr(32 + i): int(w) for i, w in enumerate(_WIDTHS.split())}


class PageFull(ValueError):
    """A page's text does not fit on one PDF page (the page numbers would move)."""


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points (bold is set about 5% wider than regular Helvetica)."""
    units = sum(ADVANCE.get(c, 556) for c in text)
    return units * size / 1000 * (1.05 if bold else 1.0)


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and text_width(candidate, size, bold) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    if not escaped.isascii():
        raise ValueError(f"the primer is ASCII only: {text!r}")
    return f"({escaped})"


class _Page:
    def __init__(self, number: int) -> None:
        self.number = number
        self.ops: list[str] = []
        self.y = HEIGHT - MARGIN

    def line(self, x: float, font: str, size: float, text: str) -> None:
        self.ops.append(f"BT {font} {size} Tf {x:.2f} {self.y:.2f} Td {_literal(text)} Tj ET")

    def advance(self, leading: float) -> None:
        self.y -= leading
        if self.y < MARGIN:
            raise PageFull(f"page {self.number} of the primer overflows; move text to the next")

    def block(self, kind: str, body: object) -> None:
        if kind == "table":
            assert isinstance(body, list)
            self.table(body)
            return
        font, size, leading, before = STYLES[kind]
        self.y -= before
        for text in wrap(str(body), size, WIDTH - 2 * MARGIN, bold=font == "/F2"):
            self.advance(leading)
            self.line(MARGIN, font, size, text)

    def table(self, rows: list[list[str]]) -> None:
        font, size, leading, before = TABLE
        columns = [max(text_width(r[i], size, True) for r in rows) for i in range(len(rows[0]))]
        gap = (WIDTH - 2 * MARGIN - sum(columns)) / max(len(columns) - 1, 1)
        if gap < 8:
            raise PageFull(f"a table on page {self.number} is too wide")
        self.y -= before
        for index, row in enumerate(rows):
            self.advance(leading)
            x = MARGIN
            for cell, column in zip(row, columns, strict=True):
                self.line(x, "/F2" if index == 0 else font, size, cell)
                x += column + gap
            if index == 0:
                self.ops.append(
                    f"0.5 w {MARGIN} {self.y - 3:.2f} m {WIDTH - MARGIN} {self.y - 3:.2f} l S"
                )
        self.y -= before

    def footer(self) -> None:
        self.ops.append(f"BT /F1 8 Tf {MARGIN} 40 Td {_literal(TITLE)} Tj ET")
        self.ops.append(f"BT /F1 8 Tf {WIDTH - MARGIN - 10} 40 Td ({self.number}) Tj ET")


def render(pages: list[list[Block]] = PAGES) -> bytes:
    """The primer as PDF bytes: one PDF page per page of the text."""
    writer = PdfWriter()
    fonts = DictionaryObject()
    for key, base in FONTS.items():
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(base),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        fonts[NameObject(key)] = writer._add_object(font)
    for number, blocks in enumerate(pages, start=1):
        page = _Page(number)
        for kind, body in blocks:
            page.block(kind, body)
        page.footer()
        pdf_page = writer.add_blank_page(width=WIDTH, height=HEIGHT)
        pdf_page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        stream = DecodedStreamObject()
        stream.set_data("\n".join(page.ops).encode("ascii"))
        pdf_page[NameObject("/Contents")] = writer._add_object(stream)
    writer.add_metadata({"/Title": TITLE, "/Author": "offline-assistants (CC0 1.0)"})
    fixed = ByteStringObject(b"offline-assistants-primer")  # the same bytes on every run
    writer._ID = ArrayObject([fixed, fixed])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write(directory: Path) -> Path:
    """Write the primer into ``directory`` (made if missing) under its file name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE_NAME
    data = render()
    if not path.is_file() or path.read_bytes() != data:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(data)
        os.replace(partial, path)  # whole or absent: readers never see half a file
    return path


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) == 2 else 2)
    out = Path(sys.argv[1])
    out.write_bytes(render())
    print(f"wrote {out} ({len(PAGES)} pages)")


if __name__ == "__main__":
    main()
