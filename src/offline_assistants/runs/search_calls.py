"""file_search inside a run: the question searched, the results recorded, the answer cited.

A run with the ``file_search`` tool (and ``tool_choice`` other than ``none``)
searches once, before the model writes: the query is the thread's latest
user message, the stores are the assistant's and the thread's
``tool_resources.file_search.vector_store_ids`` (missing or expired ones
skipped). Files still being ingested are waited for (as the API waits for a
thread's attachments), up to ``INGESTION_WAIT_SECONDS``. The search is a
``tool_calls`` step with one ``file_search`` call: ``ranking_options`` and
``results`` (file, name, score, and the chunk text — stored always, shown
only to those who ``include`` it). The best results that fit
``PROMPT_EXCERPT_CHARS`` go into the system prompt as numbered excerpts;
the answer's sentences that quote one are cited (``citations.cite``).

The model does not write the query: a small model asked to call a search
function mostly does not, and the user's words are a good query for a
sentence-embedding index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from ..ids import new_id
from ..store import Store
from ..store.vector_stores import is_expired
from ..tools.file_search import Embedder, VectorIndex
from .citations import Source, cite
from .journal import RunJournal, tool_calls_step, updated
from .prompt import message_text

DEFAULT_MAX_RESULTS = 20  # the API's default for file_search
PROMPT_EXCERPT_CHARS = 6000  # about 1,500 tokens of excerpts in the prompt
INGESTION_WAIT_SECONDS = 300.0
CONTENT_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"


def has_file_search(run: Run) -> bool:
    return any(tool.type == "file_search" for tool in run.tools)


def without_content(step: RunStep) -> RunStep:
    """The step as shown to those who did not ``include`` search result content."""
    details = step.step_details
    if details.type != "tool_calls" or not any(c.type == "file_search" for c in details.tool_calls):
        return step
    data = step.model_dump(by_alias=True)
    for call in data["step_details"]["tool_calls"]:
        for result in (call.get("file_search") or {}).get("results") or []:
            result["content"] = None
    return RunStep.model_validate(data)


class SearchCalls:
    def __init__(
        self,
        store: Store,
        journal: RunJournal,
        index: VectorIndex,
        embedder: Embedder,
        touch: Callable[[list[str]], None],
    ) -> None:
        self.store = store
        self.journal = journal
        self.index = index
        self.embedder = embedder
        self.touch = touch
        self._sources: dict[str, list[Source]] = {}

    def vector_store_ids(self, run: Run) -> list[str]:
        ids: list[str] = []
        for owner in (
            self.store.assistants.get(run.assistant_id) if run.assistant_id else None,
            self.store.threads.get(run.thread_id),
        ):
            resources = getattr(owner, "tool_resources", None)
            search = getattr(resources, "file_search", None)
            ids += list(getattr(search, "vector_store_ids", None) or [])
        moment = time.time()
        return [
            vs_id
            for vs_id in dict.fromkeys(ids)
            if (found := self.store.vector_stores.get(vs_id)) is not None
            and not is_expired(found, moment)
        ]

    def search(self, run: Run, messages: Sequence[Message], cancelled: Callable[[], bool]) -> None:
        """Search once per run and record the step; a resumed run reads its results back
        from that step (also after a restart)."""
        if run.id in self._sources:
            return
        recorded = self._recorded(run)
        if recorded is not None:
            self._sources[run.id] = recorded
            return
        query = next((message_text(m) for m in reversed(messages) if m.role == "user"), "")
        store_ids = self.vector_store_ids(run)
        tool = next(t for t in run.tools if t.type == "file_search")
        options = tool.file_search
        limit = (options.max_num_results if options else None) or DEFAULT_MAX_RESULTS
        ranking = options.ranking_options if options else None
        threshold = ranking.score_threshold if ranking else 0.0
        call: dict[str, Any] = {
            "id": new_id("call"),
            "type": "file_search",
            "file_search": {
                "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": threshold},
                "results": [],
            },
        }
        step = tool_calls_step(
            run, [call], {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        )
        with self.store.db.transaction():
            self.journal.tool_calls_started(step, [call])
        self._wait_for_ingestion(store_ids, cancelled)
        hits = []
        if store_ids and query.strip():
            vector = self.embedder.embed([query])[0]
            hits = self.index.search_many(store_ids, vector, limit, threshold)
            self.touch(store_ids)
        names = {hit.file_id: self._file_name(hit.file_id) for hit in hits}
        call["file_search"]["results"] = [
            {
                "file_id": hit.file_id,
                "file_name": names[hit.file_id],
                "score": hit.score,
                "content": [{"type": "text", "text": hit.text}],
            }
            for hit in hits
        ]
        self._sources[run.id] = [
            Source(hit.file_id, names[hit.file_id], hit.first_page, hit.last_page, hit.text)
            for hit in hits
        ]
        shown = (
            None if CONTENT_INCLUDE in self.store.runs.options(run.id).include else without_content
        )
        with self.store.db.transaction():
            details = {"type": "tool_calls", "tool_calls": [call]}
            self.journal.step_finished(step, "completed", shown, step_details=details)

    def _recorded(self, run: Run) -> list[Source] | None:
        """The results of the run's search as its step stored them (None: not searched
        yet), with their pages looked up in the index again."""
        for step in self.store.steps.in_run(run.id):
            if step.step_details.type != "tool_calls":
                continue
            for call in step.step_details.tool_calls:
                if call.type != "file_search":
                    continue
                store_ids = self.vector_store_ids(run)
                sources = []
                for result in call.file_search.results or []:
                    text = "".join(part.text or "" for part in result.content or [])
                    first, last = self.index.pages(store_ids, result.file_id, text)
                    sources.append(Source(result.file_id, result.file_name, first, last, text))
                return sources
        return None

    def _file_name(self, file_id: str) -> str:
        file = self.store.files.get(file_id)
        return file.filename if file is not None else file_id

    def _wait_for_ingestion(self, store_ids: list[str], cancelled: Callable[[], bool]) -> None:
        deadline = time.monotonic() + INGESTION_WAIT_SECONDS
        while time.monotonic() < deadline and not cancelled():
            if not any(self.store.vector_stores.tally(vs).in_progress for vs in store_ids):
                return
            time.sleep(0.1)

    def instructions(self, run_id: str) -> str:
        """The excerpts the model answers from: the best results that fit, numbered. Only
        these can be cited."""
        kept: list[Source] = []
        parts: list[str] = []
        room = PROMPT_EXCERPT_CHARS
        for source in self._sources.get(run_id, []):
            if room < 200:
                break
            text = source.text[:room]
            room -= len(text)
            kept.append(source)
            parts.append(f"[{len(kept)}] {source.label}:\n{text}")
        self._sources[run_id] = kept
        if not kept:
            return ""
        listed = "\n\n".join(parts)
        return f"Answer from these excerpts of the user's files; quote what you use.\n\n{listed}"

    def finish_message(self, run_id: str, message: Message) -> Message:
        """The run's answer with file_citation annotations on the sentences that quote a source."""
        sources = self._sources.pop(run_id, [])
        if not sources:
            return message
        content = [block.model_dump(by_alias=True) for block in message.content]
        for block in reversed(content):
            if block["type"] == "text":
                text, annotations = cite(block["text"]["value"], sources)
                block["text"] = {
                    "value": text,
                    "annotations": [*block["text"]["annotations"], *annotations],
                }
                break
        return updated(message, content=content)

    def forget(self, run_id: str) -> None:
        self._sources.pop(run_id, None)
