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


def hostile_pdf(kind: str) -> bytes:
    """A PDF built to hurt a reader: a deflate ``bomb`` (200 MB of text from ~200 KB), or
    page content ``nested`` 50,000 arrays deep."""
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    if kind == "bomb":
        stream = StreamObject()
        stream.set_data(zlib.compress(b"BT /F1 12 Tf (a) Tj ET " * 9_000_000, 9))
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    else:
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 12 Tf " + b"[" * 50_000 + b"]" * 50_000 + b" (deep) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
