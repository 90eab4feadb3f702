"""Documents the file_search tests read: the real paper from ../shared/data, and made-up PDFs."""

from __future__ import annotations

import io
from pathlib import Path

PAPER = Path("shared", "data", "attention-is-all-you-need.pdf")
# ../shared/data next to the checkout, found from wherever the checkout is (CI clones too).
PDF = next(
    (p / PAPER for p in Path(__file__).resolve().parents if (p / PAPER).is_file()),
    Path(__file__).resolve().parents[2] / PAPER,
)


def blank_pdf(encrypt: bool = False) -> bytes:
    """A one-page PDF with no text (as a scan looks to pypdf), password-protected if asked."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
