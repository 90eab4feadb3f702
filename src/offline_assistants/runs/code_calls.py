"""Code Interpreter calls inside a run: files in, code executed, outputs recorded, files out.

When the model calls ``code_interpreter`` (a function with one ``code``
string, generated under the same grammar as any function call), the
executor runs each call's code here (``run_cell``) in the thread's kernel
(``KernelSessions``); the run's files — the assistant's and the thread's
``tool_resources.code_interpreter.file_ids`` and the thread's message
attachments — are copied to ``/mnt/data`` first (``place_inputs``). Images
become ``assistants_output`` Files (``image`` outputs of the step); other
files the code wrote become Files too, recorded with the run (its stored
options, so a run resumed after a restart still cites them) for its message,
which shows images as ``image_file`` blocks and cites files with
``file_path`` annotations (``finish_message``). Errors in the code are
outputs like any other, for the model to read. The step itself, streamed
while the model writes the code, is :mod:`.call_steps`'.

The kernel is the run's container: the thread's own (``cntr_`` + the thread
id's suffix, recorded the first time code runs there), or one the run names
(``RunOptions.container``, a response's ``container`` made with
``containers.create``). Files placed in it and written by its code are that
container's files (``store/containers.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.container_retrieve_response import ContainerRetrieveResponse
from openai.types.containers.file_retrieve_response import FileRetrieveResponse
from openai.types.file_object import FileObject

from ..engine import FunctionSpec
from ..store import Store
from ..store.runs import CodeFile
from ..tools.code_interpreter import CODE_FUNCTION, KernelSessions
from ..tools.code_interpreter.workdir import safe_name
from .journal import RunJournal, now, updated

log = logging.getLogger(__name__)

MAX_CODE_CHARS = 1200  # a cell the model writes; small models otherwise loop inside the string
CODE_SPEC = FunctionSpec(
    name=CODE_FUNCTION,
    description=(
        "Run Python code in a stateful Jupyter notebook and see its output. Files are in "
        "/mnt/data. Print the values you need."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "maxLength": MAX_CODE_CHARS}},
        "required": ["code"],
        "additionalProperties": False,
    },
    strict=True,
)
PROMPT_OUTPUT_CHARS = 2000  # how much of a cell's output the model reads back


def container_id(thread_id: str) -> str:
    """The id of a thread's own container."""
    return "cntr_" + thread_id.split("_", 1)[-1]


@dataclass(frozen=True)
class RunFile:
    file_id: str
    name: str  # its name under /mnt/data


class CodeCalls:
    def __init__(
        self,
        store: Store,
        journal: RunJournal,
        create_output: Callable[[bytes, str], FileObject],
        sessions: KernelSessions,
        timeout: float | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        self.create_output = create_output
        self.sessions = sessions
        self.timeout = timeout

    def input_files(self, run: Run, messages: Sequence[Message]) -> list[RunFile]:
        """The files the run's code may read (from the assistant, the thread and the thread's
        ``messages``' attachments), with their names under /mnt/data."""
        ids: list[str] = []
        # a response's run has no assistant (assistant_id ""), only its thread's files
        assistant = self.store.assistants.get(run.assistant_id) if run.assistant_id else None
        thread = self.store.threads.get(run.thread_id)
        for owner in (assistant, thread):
            resources = getattr(owner, "tool_resources", None)
            code = getattr(resources, "code_interpreter", None)
            ids += list(getattr(code, "file_ids", None) or [])
        given = self.store.runs.options(run.id).container
        container = given or container_id(run.thread_id)
        ids += [f.id for f in self.store.containers.files_in(container) if f.source == "user"]
        for message in messages:
            for attachment in message.attachments or []:
                if attachment.file_id and any(
                    getattr(t, "type", None) == "code_interpreter" for t in attachment.tools or []
                ):
                    ids.append(attachment.file_id)
        named: list[RunFile] = []
        taken: set[str] = set()
        for file_id in dict.fromkeys(ids):
            file = self.store.files.get(file_id)
            if file is None:
                continue  # deleted since it was attached
            name = safe_name(file.filename)
            if name in taken:
                name = f"{file_id}-{name}"
            taken.add(name)
            named.append(RunFile(file_id, name))
        return named

    def instructions(self, files: list[RunFile]) -> str:
        if not files:
            return ""
        listed = "\n".join(f"- /mnt/data/{f.name}" for f in files)
        return f"Files your code can read:\n{listed}"

    def run_cell(self, run: Run, code: str) -> list[dict[str, Any]]:
        """Run one call's code in the thread's kernel; its outputs as the step records them
        (errors in the code are outputs too, for the model to read)."""
        container, session = self.container(run)
        result = self.sessions.execute(session, code, self.timeout)
        outputs: list[dict[str, Any]] = []
        logs = result.logs
        if result.error and result.status in ("timeout", "died"):
            logs += f"\n{result.error}\n"
        if logs:
            outputs.append({"type": "logs", "logs": logs})
        for index, image in enumerate(result.images):
            file = self.create_output(image, f"image-{index + 1}.png")
            outputs.append({"type": "image", "image": {"file_id": file.id}})
            self._container_file(container, file, f"image-{index + 1}.png", "assistant")
        for written in result.files:
            file = self.create_output(written.data, written.name)
            shown = "/".join(safe_name(part) for part in written.name.split("/"))
            self.store.runs.add_code_file(run.id, CodeFile(file_id=file.id, name=shown))
            self._container_file(container, file, shown, "assistant")
        return outputs

    def container(self, run: Run) -> tuple[str, str]:
        """The run's container id and its kernel's session key (recorded if new)."""
        named = self.store.runs.options(run.id).container
        if named is not None:
            return named, self.store.containers.session(named) or named
        own = container_id(run.thread_id)
        if not self.store.containers.exists(own):
            moment = now()
            self.store.containers.insert(
                ContainerRetrieveResponse(
                    id=own,
                    created_at=moment,
                    last_active_at=moment,
                    name=run.thread_id,
                    object="container",
                    status="running",
                ),
                session=run.thread_id,
            )
        return own, run.thread_id

    def _container_file(self, container: str, file: FileObject, name: str, source: str) -> None:
        self.store.containers.add_file(
            FileRetrieveResponse(
                id=file.id,
                bytes=file.bytes,
                container_id=container,
                created_at=file.created_at,
                object="container.file",
                path=f"/mnt/data/{name}",
                source=source,
            )
        )

    def place_inputs(self, run: Run, files: list[RunFile]) -> None:
        """Copy the run's files into the kernel's /mnt/data (each once per kernel)."""
        container, session = self.container(run)
        for item in files:
            read = functools.partial(self.store.files.read, item.file_id)
            with contextlib.suppress(FileNotFoundError):  # deleted since it was attached
                self.sessions.put_file(session, item.name, read, key=item.file_id)
                file = self.store.files.get(item.file_id)
                if file is not None:
                    self._container_file(container, file, item.name, "user")

    def finish_message(self, run_id: str, message: Message) -> Message:
        """The run's answer with its images as image_file blocks and its files cited."""
        written = self.store.runs.options(run_id).code_files
        images = [
            output.image.file_id
            for step in self.store.steps.in_run(run_id)
            if step.step_details.type == "tool_calls"
            for call in step.step_details.tool_calls
            if call.type == "code_interpreter"
            for output in call.code_interpreter.outputs
            if output.type == "image"
        ]
        if not images and not written:
            return message
        text = "".join(b.text.value for b in message.content if b.type == "text")
        for item in written:
            link = f"sandbox:/mnt/data/{item.name}"
            if link not in text:
                text += f"\n\n[{item.name}]({link})"
        annotations = []
        for item in written:
            link = f"sandbox:/mnt/data/{item.name}"
            start = text.find(link)
            while start >= 0:
                annotations.append(
                    {
                        "type": "file_path",
                        "text": link,
                        "start_index": start,
                        "end_index": start + len(link),
                        "file_path": {"file_id": item.file_id},
                    }
                )
                start = text.find(link, start + len(link))
        content: list[dict[str, Any]] = [
            {"type": "image_file", "image_file": {"file_id": file_id}} for file_id in images
        ]
        content.append({"type": "text", "text": {"value": text, "annotations": annotations}})
        return updated(message, content=content)


def prompt_output(outputs: list[Any]) -> str:
    """A code call's outputs as the model reads them back: logs (head and tail), images named."""
    parts: list[str] = []
    for output in outputs:
        if output.type == "logs":
            parts.append(output.logs)
        elif output.type == "image":
            parts.append("[image]")
    text = "\n".join(parts).strip() or "(no output)"
    if len(text) > PROMPT_OUTPUT_CHARS:
        half = PROMPT_OUTPUT_CHARS // 2
        text = f"{text[:half]}\n[...]\n{text[-half:]}"
    return text
