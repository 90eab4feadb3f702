"""file_search building blocks: documents → pages → chunks → embeddings → a Chroma index.

- ``documents``  text per page from PDF (pypdf), .txt and .md; clear errors otherwise
- ``chunking``   overlapping token windows (auto 800/400, or static), pages kept
- ``embeddings`` all-MiniLM-L6-v2 from the bundled package, never from a hub
- ``index``      one persistent Chroma collection per vector store

The vector stores API and file_search in runs are built on these (issue 5).
"""

from .chunking import Chunk, chunk_pages
from .documents import DocumentError, Page, extract
from .embeddings import Embedder
from .index import Hit, VectorIndex

__all__ = [
    "Chunk",
    "DocumentError",
    "Embedder",
    "Hit",
    "Page",
    "VectorIndex",
    "chunk_pages",
    "extract",
]
