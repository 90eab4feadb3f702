"""file_search building blocks with real components: pypdf, the bundled MiniLM model, Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline_assistants.tools.file_search import (
    DocumentError,
    Embedder,
    Page,
    VectorIndex,
    chunk_pages,
    extract,
)

from .documents import PDF, PDF_PAGES, SHARED_PAPER, blank_pdf


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def paper() -> list[Page]:
    return extract(PDF.read_bytes(), PDF.name)


def test_pdf_pages_keep_their_numbers(paper: list[Page]) -> None:
    assert [p.number for p in paper] == list(range(1, PDF_PAGES + 1))
    assert "The Transformer, Explained" in paper[0].text
    table = next(p for p in paper if "Table 2" in p.text)
    assert "Transformer (big) 28.4 41.8" in table.text  # a table's row reads as one line
    assert all("The Transformer, Explained" in p.text and p.text.strip() for p in paper)


@pytest.mark.skipif(SHARED_PAPER is None, reason="no ../shared/data beside this checkout")
def test_a_real_papers_pages_keep_their_numbers() -> None:
    assert SHARED_PAPER is not None
    pages = extract(SHARED_PAPER.read_bytes(), SHARED_PAPER.name)
    assert [p.number for p in pages] == list(range(1, 16))
    assert "Attention Is All You Need" in pages[0].text
    assert any("28.4" in p.text and "BLEU" in p.text for p in pages)


def test_text_and_markdown(tmp_path: Path) -> None:
    assert extract(b"# Title\nbody", "notes.md") == [Page(1, "# Title\nbody")]
    assert extract("\ufeffcaf\u00e9".encode(), "a.txt") == [Page(1, "caf\u00e9")]


@pytest.mark.parametrize(
    ("data", "name", "reason", "code"),
    [
        (b"", "empty.pdf", "empty", "invalid_file"),
        (b"%PDF-1.7 garbage that is not a pdf", "bad.pdf", "could not be read", "invalid_file"),
        (blank_pdf(), "scan.pdf", "no extractable text", "invalid_file"),
        (blank_pdf(encrypt=True), "locked.pdf", "encrypted", "invalid_file"),
        (b"\x89PNG\r\n\x1a\n", "photo.png", "Unsupported file type", "unsupported_file"),
        (b"\xff\xfe\x00bad", "latin.txt", "not valid UTF-8", "invalid_file"),
    ],
)
def test_bad_documents_say_why(data: bytes, name: str, reason: str, code: str) -> None:
    with pytest.raises(DocumentError) as err:
        extract(data, name)
    assert reason in str(err.value) and err.value.code == code


def test_chunks_overlap_stay_in_size_and_track_pages(paper: list[Page], embedder: Embedder) -> None:
    chunks = chunk_pages(paper, embedder.token_spans, max_tokens=200, overlap=50)
    assert len(chunks) > 20
    for chunk in chunks:
        assert len(embedder.token_spans(chunk.text)) <= 200 + 5  # boundaries may re-split a little
        assert 1 <= chunk.first_page <= chunk.last_page <= PDF_PAGES
    assert chunks[0].first_page == 1 and chunks[-1].last_page == PDF_PAGES
    for chunk in chunk_pages(paper, embedder.token_spans, 200, 50, window_tokens=64):
        assert 1 <= len(chunk.windows) <= 4 and all(w in chunk.text for w in chunk.windows)
    # consecutive chunks share their overlap
    tail = chunks[0].text[-60:]
    assert tail[-30:] in chunks[1].text
    with pytest.raises(ValueError):
        chunk_pages(paper, embedder.token_spans, max_tokens=100, overlap=60)


def test_search_finds_the_page_that_answers(
    paper: list[Page], embedder: Embedder, tmp_path: Path
) -> None:
    chunks = chunk_pages(paper, embedder.token_spans, window_tokens=embedder.window_tokens)
    assert all(len(c.windows) == 4 for c in chunks[:-1])  # 800 tokens in 200-token windows
    index = VectorIndex(tmp_path / "index")
    index.add("vs_1", "file_paper", chunks, embedder.embed_chunks(chunks))
    index.add("vs_1", "file_other", [chunks[0]], [embedder.embed(["bananas are yellow fruit"])])
    query = embedder.embed(
        ["What BLEU score does the big Transformer reach on English-to-German?"]
    )[0]
    hits = index.search("vs_1", query, limit=5)
    assert hits and hits[0].file_id == "file_paper"
    assert any(h.first_page <= 8 <= h.last_page for h in hits)  # Table 2, page 8
    assert "28.4" in hits[0].text  # the chunk's whole text comes back, found by any window
    assert len({(h.file_id, h.chunk_index) for h in hits}) == len(hits)
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("vs_1", query, limit=5, score_threshold=0.99) == []
    index.delete_file("vs_1", "file_paper")
    assert index.count("vs_1") == 1
    assert index.search("vs_1", query, limit=5)[0].file_id == "file_other"
    reopened = VectorIndex(tmp_path / "index")  # persisted on disk
    assert reopened.count("vs_1") == 1
    reopened.drop("vs_1")
    assert reopened.count("vs_1") == 0
