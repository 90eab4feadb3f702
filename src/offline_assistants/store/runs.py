"""Runs in DuckDB, with the active ones also held in memory.

Runs are read constantly while they execute (polling, the executor, the
active-run check on every new message), and each DuckDB query costs about half
a millisecond. Since one process owns the database, this repository keeps
every *active* run (queued, in_progress, requires_action, cancelling) in a
write-through dict: loaded at open (and again if the connection is reopened),
updated on every write, restored if a transaction rolls back. Finished runs
are read from DuckDB. The dict is guarded by the database's lock, which every
writer already holds, so readers on other threads never see it change mid-walk.

A stored run that no longer parses (written by an older version, say) is
logged and left out of the cache rather than stopping the runtime from opening.

``RunOptions`` keeps the run parameters the wire ``Run`` object does not show
(``additional_instructions``, ``include``).
"""

from __future__ import annotations

import logging

from openai.types.beta.threads.run import Run
from pydantic import BaseModel, ValidationError

from .database import Database
from .table import Order, Slice, Table

log = logging.getLogger(__name__)
ACTIVE_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")


class CodeFile(BaseModel):
    """A file the run's code wrote (cited in its answer), as ``/mnt/data/<name>``."""

    file_id: str
    name: str


class McpServerRef(BaseModel):
    """An MCP server a Responses request's ``mcp`` tool names (``tools/mcp``): reached at
    ``url``, or, with none, the stdio server declared to the runtime by that label."""

    label: str
    url: str | None = None
    headers: dict[str, str] = {}  # given in the request (authorization among them)


class RunOptions(BaseModel):
    """What a run keeps besides its wire object: request options and per-run tool state
    (stored, so a run resumed after a restart has it)."""

    # The response a run answers (Responses API); None for a run of an assistant.
    response_id: str | None = None
    additional_instructions: str | None = None
    include: list[str] = []
    code_files: list[CodeFile] = []
    container: str | None = None  # a container the code runs in (else the thread's own)
    # Sampling penalties a Responses request asked for (runs of the Assistants API have none).
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # The reasoning effort asked for (runs.create, Responses' reasoning.effort); "none" or
    # "minimal" turns a reasoning model's thinking off (runs/generation.reasoning_budget).
    reasoning_effort: str | None = None
    # Responses' reasoning.summary (auto, concise, detailed): the model summarizes its
    # reasoning once it is over (runs/reasoning_summary.py); None: no summary.
    reasoning_summary: str | None = None
    # MCP servers of a response's mcp tools, and which server serves each tool the model may
    # call (tool name → server label): the executor calls those itself (runs/mcp_calls.py).
    mcp_servers: list[McpServerRef] = []
    mcp_tools: dict[str, str] = {}
    mcp_asking: list[str] = []  # the MCP tools whose calls wait for the user's approval


class RunRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "runs", Run)
        self._active: dict[str, tuple[Run, RunOptions]] = {}
        self._load_active()
        db.on_reopen(self._load_active)

    def _load_active(self) -> None:
        marks = ", ".join("?" for _ in ACTIVE_STATUSES)
        active: dict[str, tuple[Run, RunOptions]] = {}
        for run_id, body, options in self.db.fetchall(
            f"SELECT id, body, options FROM runs WHERE status IN ({marks}) ORDER BY seq",
            list(ACTIVE_STATUSES),
        ):
            try:
                run = Run.model_validate_json(body)
                active[run.id] = (run, RunOptions.model_validate_json(options))
            except ValidationError as exc:
                log.error("run %s is stored unreadably and is left alone: %s", run_id, exc)
        with self.db.lock:
            self._active = active

    def insert(self, run: Run, options: RunOptions) -> None:
        self.table.insert(
            run, thread_id=run.thread_id, status=run.status, options=options.model_dump_json()
        )
        self._remember(run, options)

    def update(self, run: Run) -> None:
        self.table.update(run, status=run.status)
        self._remember(run, self.options(run.id))

    def set_options(self, run_id: str, options: RunOptions) -> None:
        run = self.get(run_id)
        if run is None:
            return
        self.table.update(run, status=run.status, options=options.model_dump_json())
        self._remember(run, options)

    def add_code_file(self, run_id: str, file: CodeFile) -> None:
        """Record a file the run's code wrote."""
        run = self.get(run_id)
        if run is None:
            return
        options = self.options(run_id)
        self.set_options(
            run_id, options.model_copy(update={"code_files": [*options.code_files, file]})
        )

    def get(self, run_id: str, thread_id: str | None = None) -> Run | None:
        cached = self._active.get(run_id)
        if cached is not None:
            run = cached[0]
            return run if thread_id is None or run.thread_id == thread_id else None
        if thread_id is None:
            return self.table.get(run_id)
        return self.table.get(run_id, thread_id=thread_id)

    def options(self, run_id: str) -> RunOptions:
        cached = self._active.get(run_id)
        if cached is not None:
            return cached[1]
        raw = self.table.get_column(run_id, "options")
        return RunOptions() if raw is None else RunOptions.model_validate_json(raw)

    def active_in_thread(self, thread_id: str) -> Run | None:
        with self.db.lock:
            for run, _ in self._active.values():
                if run.thread_id == thread_id:
                    return run
        return None

    def active(self) -> list[Run]:
        """Every run that is queued, in progress, waiting for tool outputs or cancelling."""
        with self.db.lock:
            return [run for run, _ in self._active.values()]

    def _remember(self, run: Run, options: RunOptions) -> None:
        previous = self._active.get(run.id)
        if run.status in ACTIVE_STATUSES:
            self._active[run.id] = (run, options)
        else:
            self._active.pop(run.id, None)

        def undo() -> None:
            if previous is None:
                self._active.pop(run.id, None)
            else:
                self._active[run.id] = previous

        self.db.on_rollback(undo)

    def with_status(self, *statuses: str) -> list[Run]:
        """Runs in ``statuses`` that parse (an unreadable row is logged and skipped)."""
        return self.table.select_in("status", statuses)

    def page(
        self, thread_id: str, *, limit: int, order: Order, after: str | None, before: str | None
    ) -> Slice[Run]:
        return self.table.page(
            {"thread_id": thread_id}, limit=limit, order=order, after=after, before=before
        )
