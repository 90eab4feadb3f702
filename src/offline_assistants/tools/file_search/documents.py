"""Text out of uploaded documents, page by page: PDF (pypdf), plain text and Markdown.

``extract`` returns the pages of a document with their 1-based numbers, so
chunks and citations can say where text came from. Anything that cannot be
turned into text raises ``DocumentError`` with a reason a user can act on:
an encrypted PDF, a corrupt one, one with no extractable text (scanned
images), an empty file, an unsupported type, a hostile one (a compression bomb
past pypdf's decompression limits, objects nested deeper than the parser can
follow) or one with more text than a vector-store file may hold (``max_chars``,
checked page by page so a huge document stops early).
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


def extract(data: bytes, filename: str, max_chars: int | None = None) -> list[Page]:
    """The non-empty pages of ``data``; the type comes from the bytes and the name."""
    if not data:
        raise DocumentError("The file is empty.")
    name = filename.lower()
    if data.startswith(b"%PDF-") or name.endswith(".pdf"):
        return _pdf(data, max_chars)
    if name.endswith(TEXT_SUFFIXES):
        pages = _text(data)
        _check_size(len(pages[0].text), max_chars)
        return pages
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


def _check_size(characters: int, max_chars: int | None) -> None:
    if max_chars is not None and characters > max_chars:
        raise DocumentError(
            f"The file has more than {max_chars} characters of text, more than a vector-store "
            "file may hold. Split it into smaller files."
        )


def _pdf(data: bytes, max_chars: int | None) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed PDFs warn at length
    pages: list[Page] = []
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("The PDF is encrypted; upload a copy without a password.")
        characters = 0
        for index, page in enumerate(reader.pages):
            pages.append(Page(index + 1, page.extract_text() or ""))
            characters += len(pages[-1].text)
            _check_size(characters, max_chars)
    except DocumentError:
        raise
    except LimitReachedError as exc:
        raise DocumentError(
            f"The PDF expands beyond what can be read safely ({exc}): a compression bomb, "
            "or a document to split into smaller files."
        ) from None
    except RecursionError:
        raise DocumentError("The PDF's objects are nested too deeply to read.") from None
    except MemoryError:
        raise DocumentError("The PDF needs more memory to read than is available.") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"The PDF could not be read ({type(exc).__name__}: {exc}).") from None
    kept = [page for page in pages if page.text.strip()]
    if not kept:
        raise DocumentError(
            "The PDF has no extractable text (scanned images?); file_search needs text."
        )
    return kept
