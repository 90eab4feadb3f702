"""Documents the file_search tests read: the project's primer as a PDF, and made-up PDFs.

The primer ("The Transformer, Explained", scripts/primer_text.py) is laid out by
scripts/primer.py with pypdf into a folder of the user's temporary directory, so a fresh
clone needs nothing beside it. ``SHARED_PAPER`` is the real paper that may sit in
../shared/data beside a checkout: a test may add a case for it, none may need it.
"""

from __future__ import annotations

import importlib.util
import io
import os
import tempfile
from pathlib import Path
from types import ModuleType

_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
_PAPER = Path("shared", "data", "attention-is-all-you-need.pdf")
SHARED_PAPER: Path | None = next(
    (p / _PAPER for p in Path(__file__).resolve().parents if (p / _PAPER).is_file()), None
)


def _primer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("primer", _SCRIPTS / "primer.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


primer = _primer()
PDF: Path = primer.write(Path(tempfile.gettempdir()) / f"offline-assistants-tests-{os.getuid()}")
PDF_PAGES: int = len(primer.PAGES)


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
