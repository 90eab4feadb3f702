"""file_search: ingestion speed, search latency over 10,000+ chunks, recall@5 on the paper.

The paper is the project's primer on the Transformer (scripts/primer_text.py, 12 pages,
laid out by scripts/primer.py), whose text also holds the questions and their pages.

1. Ingestion: the paper attached to a vector store through the Python API and
   polled until ``completed``; the first time includes loading the embedding model (cold),
   then ``--reps`` more times into fresh stores (warm). Pages per second from the warm median.
2. Recall: QUESTIONS below (each with the page(s) that answer it) searched with
   ``vector_stores.search``; a question counts at k when one of the top k chunks spans an
   answering page. Measured on the paper alone, then again after the store is filled up with
   ``--distractors`` chunks of unrelated real text (docstrings of the installed packages,
   embedded with the same model and added to the same Chroma collection).
3. Search latency over that big store: ``vector_stores.search`` end to end (query embedding,
   Chroma, the result's rows), and the Chroma query alone for the same vectors.

    .venv/bin/python benchmarks/retrieval.py [--reps 3] [--distractors 10000]

Prints a table and writes benchmarks/results/retrieval.json.
Targets: search p50 under 50 ms over at least 10,000 chunks; recall@5 of at least 0.8.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from offline_assistants import Client
from offline_assistants.tools.file_search import Chunk

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import primer  # noqa: E402  (scripts/primer.py: the project's primer, laid out as a PDF)
from primer_text import QUESTIONS  # noqa: E402  (question, pages that answer it)

PAGES = len(primer.PAGES)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ingest(client: Client, file_id: str) -> float:
    vs = client.vector_stores.create()
    started = time.perf_counter()
    row = client.vector_stores.files.create_and_poll(
        vector_store_id=vs.id, file_id=file_id, poll_interval_ms=20
    )
    elapsed = time.perf_counter() - started
    assert row.status == "completed", row.last_error
    return elapsed


def pages_of(client: Client, vector_store_id: str, question: str, k: int) -> list[range]:
    """Page spans of the top k chunks, read from the index (the API's results carry no page)."""
    vector = client.runtime.embedder.embed([question])[0]
    hits = client.runtime.index.search(vector_store_id, vector, k)
    return [range(h.first_page, h.last_page + 1) for h in hits]


def recall(client: Client, vector_store_id: str) -> dict[str, float]:
    ranks: list[int | None] = []
    for question, answer_pages in QUESTIONS:
        spans = pages_of(client, vector_store_id, question, 10)
        rank = next(
            (i for i, span in enumerate(spans) if any(p in span for p in answer_pages)), None
        )
        ranks.append(rank)
    n = len(ranks)
    return {
        "recall_at_1": sum(r is not None and r < 1 for r in ranks) / n,
        "recall_at_5": sum(r is not None and r < 5 for r in ranks) / n,
        "mrr_at_10": sum(1 / (r + 1) for r in ranks if r is not None) / n,
    }


def docstrings() -> Iterator[str]:
    """Paragraphs of real prose unrelated to the paper: docstrings of installed packages."""
    root = Path(sys.prefix) / "lib"
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module):
                doc = ast.get_docstring(node)
                for paragraph in (doc or "").split("\n\n"):
                    text = " ".join(paragraph.split())
                    if 80 <= len(text) <= 600:
                        yield text


def add_distractors(client: Client, vector_store_id: str, count: int) -> int:
    texts = list(dict.fromkeys(t for _, t in zip(range(count * 2), docstrings(), strict=False)))
    texts = texts[:count]
    embedder, index = client.runtime.embedder, client.runtime.index
    batch = 512
    for start in tqdm(range(0, len(texts), batch), desc="distractor chunks", unit="batch"):
        part = texts[start : start + batch]
        chunks = [Chunk(i, text, 0, 0, (text,)) for i, text in enumerate(part)]
        index.add(
            vector_store_id, f"file_distractors_{start}", chunks, embedder.embed_chunks(chunks)
        )
    return len(texts)


def search_latency(client: Client, vector_store_id: str, reps: int) -> dict[str, list[float]]:
    end_to_end: list[float] = []
    chroma: list[float] = []
    index, embedder = client.runtime.index, client.runtime.embedder
    for _ in tqdm(range(reps), desc="search latency", unit="pass"):
        for question, _ in QUESTIONS:
            started = time.perf_counter()
            page = client.vector_stores.search(vector_store_id, query=question, max_num_results=5)
            end_to_end.append(time.perf_counter() - started)
            assert page.data
            vector = embedder.embed([question])[0]
            started = time.perf_counter()
            index.search(vector_store_id, vector, 5)
            chroma.append(time.perf_counter() - started)
    return {"end_to_end": end_to_end, "chroma": chroma}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="warm ingestions and search passes")
    parser.add_argument("--distractors", type=int, default=10_000, help="unrelated chunks added")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Client(data_dir=Path(tmp) / "data") as client:
        paper = client.files.create(file=primer.write(Path(tmp)), purpose="assistants")
        cold = ingest(client, paper.id)
        warm = [ingest(client, paper.id) for _ in tqdm(range(args.reps), desc="ingestion (warm)")]
        vs = client.vector_stores.create(name="bench", file_ids=[paper.id])
        client.vector_stores.files.poll(paper.id, vector_store_id=vs.id)
        paper_chunks = client.runtime.index.count(vs.id)
        alone = recall(client, vs.id)
        added = add_distractors(client, vs.id, args.distractors)
        total_chunks = client.runtime.index.count(vs.id)
        crowded = recall(client, vs.id)
        latency = search_latency(client, vs.id, args.reps)

    pages_per_second = PAGES / statistics.median(warm)
    rows = [
        ("ingestion, cold (incl. model load)", f"{cold:.1f} s", f"{PAGES / cold:.2f} pages/s"),
        (
            "ingestion, warm (median)",
            f"{statistics.median(warm):.1f} s",
            f"{pages_per_second:.2f} pages/s",
        ),
        ("chunks: paper / whole store", f"{paper_chunks}", f"{total_chunks}"),
        (
            "recall@5 paper alone / crowded",
            f"{alone['recall_at_5']:.2f}",
            f"{crowded['recall_at_5']:.2f}",
        ),
        (
            "recall@1 paper alone / crowded",
            f"{alone['recall_at_1']:.2f}",
            f"{crowded['recall_at_1']:.2f}",
        ),
    ]
    for name, values in latency.items():
        rows.append(
            (
                f"search {name.replace('_', ' ')} p50 / p95",
                f"{pct(values, 0.5) * 1000:.1f} ms",
                f"{pct(values, 0.95) * 1000:.1f} ms",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'value':>12}  {'value':>14}")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>12}  {b:>14}")
    e2e = pct(latency["end_to_end"], 0.5)
    print(
        f"\ntargets: search p50 {e2e * 1000:.1f} ms < 50 ms over {total_chunks} chunks: "
        f"{'met' if e2e < 0.05 and total_chunks >= 10_000 else 'NOT met'}; "
        f"recall@5 {crowded['recall_at_5']:.2f} >= 0.8: "
        f"{'met' if crowded['recall_at_5'] >= 0.8 else 'NOT met'}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "retrieval.json").write_text(
        json.dumps(
            {
                "questions": len(QUESTIONS),
                "ingestion_cold_seconds": cold,
                "ingestion_warm_seconds": warm,
                "pages_per_second": pages_per_second,
                "paper_chunks": paper_chunks,
                "distractor_chunks": added,
                "total_chunks": total_chunks,
                "recall_paper_alone": alone,
                "recall_crowded": crowded,
                "search_p50_ms": {k: pct(v, 0.5) * 1000 for k, v in latency.items()},
                "search_p95_ms": {k: pct(v, 0.95) * 1000 for k, v in latency.items()},
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
