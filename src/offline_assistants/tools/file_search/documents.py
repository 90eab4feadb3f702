"""Text out of uploaded documents, page by page: PDF (pypdf), plain text and Markdown.

``extract`` returns the pages of a document with their 1-based numbers, so
chunks and citations can say where text came from. Anything that cannot be
turned into text raises ``DocumentError`` with a reason a user can act on:
an encrypted PDF, a corrupt one, one with no extractable text (scanned
images), an empty file, an unsupported type.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")


class DocumentError(ValueError):
    """The document yields no text; ``code`` says why (``unsupported_file`` or ``invalid_file``)."""

    def __init__(self, message: str, code: str = "invalid_file") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str


def extract(data: bytes, filename: str) -> list[Page]:
    """The non-empty pages of ``data``; the type comes from the bytes and the name."""
    if not data:
        raise DocumentError("The file is empty.")
    name = filename.lower()
    if data.startswith(b"%PDF-") or name.endswith(".pdf"):
        return _pdf(data)
    if name.endswith(TEXT_SUFFIXES):
        return _text(data)
    raise DocumentError(
        f"Unsupported file type for '{filename}': file_search reads PDF, .txt and .md files.",
        code="unsupported_file",
    )


def _text(data: bytes) -> list[Page]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError("The text file is not valid UTF-8.") from None
    if not text.strip():
        raise DocumentError("The file contains no text.")
    return [Page(1, text)]


def _pdf(data: bytes) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed PDFs warn at length
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("The PDF is encrypted; upload a copy without a password.")
        pages = [Page(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"The PDF could not be read ({type(exc).__name__}: {exc}).") from None
    kept = [page for page in pages if page.text.strip()]
    if not kept:
        raise DocumentError(
            "The PDF has no extractable text (scanned images?); file_search needs text."
        )
    return kept
