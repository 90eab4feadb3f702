"""The Assistants API overview, offline: tutor, quiz function, Code Interpreter, retrieval, steps.

1. Tutor: three turns on one thread with the local default model, printed the
   way the overview's ``pretty_print`` prints them, with each run's steps.
2. Quiz function: the assistant gets the overview's ``display_quiz`` function;
   the run stops in ``requires_action`` with a call whose arguments always
   parse and fit the schema; we "show" the quiz, submit the student's answers,
   and the run finishes with the assistant's reply.
3. Code Interpreter: "Generate the first 20 fibbonaci numbers with code." The
   model's code runs in a sandboxed Jupyter kernel (no network, no host files);
   the run's steps show the code and its real output, then the answer.
4. Retrieval: an ML paper PDF is uploaded into a vector store (ingested in the
   background, polled until done), the assistant gets ``file_search``, and its answer
   cites the paper; citations are shown as footnotes with their pages. By default the
   paper is the project's own primer on the Transformer (laid out by scripts/primer.py,
   twelve pages with tables); ``--pdf`` picks another.
5. Run steps: the retrieval run's steps in full, the search results included.

Run it through ``scripts/demo`` (which sets everything up first).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import primer  # scripts/primer.py, beside this script
from openai.types.beta.assistant import Assistant
from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run

from offline_assistants import Client

TINY_MODEL_NOTE = (
    "Note: the default model, SmolLM2-135M, is 135 million parameters: it shows every part of\n"
    "the API working, not good answers. A real model gives real answers: scripts/demo --model\n"
    "PATH.gguf (any chat GGUF, such as Qwen2.5-7B-Instruct Q4_K_M; the README says more)."
)
INSTRUCTIONS = "You are a personal math tutor. Answer questions briefly, in a sentence or less."
TURNS = [
    "I need to solve the equation `3x + 11 = 14`. Can you help me?",
    "Could you explain this to me?",
    "Thank you!",
]
FIBONACCI = "Generate the first 20 fibbonaci numbers with code."
PAPER_QUESTION = (
    "What are some cool math concepts behind this ML paper pdf? Explain in two sentences."
)
SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
QUIZ_REQUEST = (
    "Make a quiz with 2 questions: One open ended, one multiple choice. "
    "Then, give me feedback for the responses."
)
DISPLAY_QUIZ: dict[str, Any] = {
    "name": "display_quiz",
    "description": "Displays a quiz to the student, and returns the student's response. "
    "A single quiz can have multiple questions.",
    "parameters": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "questions": {
                "type": "array",
                "description": "An array of questions, each with a title and potentially "
                "options (if multiple choice).",
                "items": {
                    "type": "object",
                    "properties": {
                        "question_text": {"type": "string"},
                        "question_type": {
                            "type": "string",
                            "enum": ["MULTIPLE_CHOICE", "FREE_RESPONSE"],
                        },
                        "choices": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["question_text"],
                },
            },
        },
        "required": ["title", "questions"],
    },
}


def pretty_print(messages: list[Message]) -> None:
    print("# Messages")
    for m in messages:
        text = m.content[0].text.value if m.content and m.content[0].type == "text" else ""
        print(f"{m.role}: {text.strip()}")
    print()


def show_run(client: Client, run: Run, elapsed: float) -> None:
    usage = run.usage
    print(
        f"# Run {run.id}: {run.status} in {elapsed:.2f}s"
        + (
            f", {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
            if usage
            else ""
        )
    )
    steps = client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc")
    for step in steps:
        detail = step.step_details
        if detail.type == "message_creation":
            what = f"message {detail.message_creation.message_id}"
        else:
            what = ", ".join(describe_call(c) for c in detail.tool_calls)
        print(f"  step {step.id}: {step.type} {step.status} -> {what}")
    print()


def describe_call(call: Any) -> str:
    if call.type == "function":
        done = "recorded" if call.function.output else "pending"
        return f"{call.function.name}(...) -> output {done}"
    if call.type == "code_interpreter":
        code = textwrap.indent(call.code_interpreter.input.strip(), "      | ")
        outputs = []
        for output in call.code_interpreter.outputs:
            if output.type == "logs":
                outputs.append(textwrap.indent(output.logs.strip()[-600:], "      > "))
            else:
                outputs.append(f"      > [image {output.image.file_id}]")
        return "code_interpreter\n" + code + "\n" + ("\n".join(outputs) or "      > (no output)")
    if call.type == "file_search":
        results = call.file_search.results or []
        lines = [f"      > {r.score:.3f} {r.file_name}" for r in results[:3]]
        return f"file_search: {len(results)} results\n" + "\n".join(lines)
    return call.type


def tutor(client: Client, assistant: Assistant) -> None:
    print("== 1. The Math Tutor ==\n")
    thread = client.beta.threads.create()
    for question in TURNS:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=question)
        started = time.perf_counter()
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        elapsed = time.perf_counter() - started
        pretty_print(list(client.beta.threads.messages.list(thread_id=thread.id, order="asc")))
        show_run(client, run, elapsed)


def display_quiz(title: str, questions: list[dict[str, Any]]) -> list[str]:
    """Show the quiz; the 'student' answers the way the overview's does."""
    print(f"Quiz: {title}")
    for q in questions:
        print(f"  - {q['question_text']}")
        for choice in q.get("choices", [])[:4]:
            print(f"      * {choice}")
    responses = ["I don't know.", "a"]
    print(f"  student answers: {responses}\n")
    return responses


def quiz(client: Client, assistant: Assistant) -> None:
    print("== 2. The quiz function ==\n")
    assistant = client.beta.assistants.update(
        assistant.id, tools=[{"type": "function", "function": DISPLAY_QUIZ}]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUIZ_REQUEST}])
    started = time.perf_counter()
    # The tiny default model seldom chooses a tool on its own ("auto"); larger models do.
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice="required"
    )
    show_run(client, run, time.perf_counter() - started)
    if run.status != "requires_action" or run.required_action is None:
        print(f"The run ended {run.status} without calling the function.")
        return
    outputs = []
    for call in run.required_action.submit_tool_outputs.tool_calls:
        arguments = json.loads(call.function.arguments)  # always parses, always fits the schema
        outputs.append({"tool_call_id": call.id, "output": json.dumps(display_quiz(**arguments))})
    started = time.perf_counter()
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs
    )
    pretty_print(list(client.beta.threads.messages.list(thread_id=thread.id, order="asc")))
    show_run(client, run, time.perf_counter() - started)


def code_interpreter(client: Client, assistant: Assistant) -> None:
    print("== 3. The Code Interpreter ==\n")
    assistant = client.beta.assistants.update(
        assistant.id,
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": FIBONACCI}])
    started = time.perf_counter()
    # Again the tiny model is told to use the tool; its code is as good as a 135M model's.
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "code_interpreter"}
    )
    pretty_print(list(client.beta.threads.messages.list(thread_id=thread.id, order="asc")))
    show_run(client, run, time.perf_counter() - started)


def retrieval(client: Client, assistant: Assistant, paper: Path) -> Run:
    print("== 4. Retrieval over a PDF ==\n")
    file = client.files.create(file=paper, purpose="assistants")
    vector_store = client.vector_stores.create(name="ML papers")
    started = time.perf_counter()
    row = client.vector_stores.files.create_and_poll(
        vector_store_id=vector_store.id, file_id=file.id
    )
    print(f"Indexed {file.filename}: {row.status} in {time.perf_counter() - started:.1f}s\n")
    assistant = client.beta.assistants.update(
        assistant.id,
        instructions="You are a research assistant. Answer from the paper, briefly.",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": PAPER_QUESTION}])
    started = time.perf_counter()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=80
    )
    elapsed = time.perf_counter() - started
    answer = client.beta.threads.messages.list(thread_id=thread.id, order="desc").data[0]
    text = answer.content[-1].text
    shown, notes = text.value, []
    for number, annotation in enumerate(text.annotations, start=1):
        shown = shown.replace(annotation.text, f" [{number}]")
        source = annotation.text.strip("【】").split("†", 1)[-1]
        notes.append(f"[{number}] {source} ({annotation.file_citation.file_id})")
    print(f"user: {PAPER_QUESTION}\nassistant: {shown.strip()}\n" + "\n".join(notes) + "\n")
    show_run(client, run, elapsed)
    return run


def run_steps(client: Client, run: Run) -> None:
    print("== 5. Run steps ==\n")
    steps = client.beta.threads.runs.steps.list(
        thread_id=run.thread_id, run_id=run.id, order="asc", include=[SEARCH_CONTENT]
    )
    for step in steps:
        print(f"{step.id} ({step.type}, {step.status})")
        if step.step_details.type == "message_creation":
            print(f"  created message {step.step_details.message_creation.message_id}")
            continue
        for call in step.step_details.tool_calls:
            if call.type != "file_search":
                continue
            for result in (call.file_search.results or [])[:3]:
                excerpt = (
                    " ".join((result.content or [])[0].text.split())[:160] if result.content else ""
                )
                print(f"  {result.score:.3f} {result.file_name}: {excerpt}...")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, help="keep the data here (default: a temporary dir)"
    )
    parser.add_argument("--model", help="a .gguf file to use instead of the default model")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (0)")
    parser.add_argument(
        "--pdf", type=Path, help="the PDF for the retrieval part (default: the project's primer)"
    )
    args = parser.parse_args()
    if args.pdf is not None and not args.pdf.is_file():
        parser.error(f"--pdf {args.pdf}: no such file")

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        with Client(data_dir=data_dir) as client:
            assistant = client.beta.assistants.create(
                name="Math Tutor",
                instructions=INSTRUCTIONS,
                model=args.model or "default",
                temperature=args.temperature,
            )
            print(f"Assistant {assistant.id} ({assistant.name}) on model {assistant.model!r}\n")
            if not args.model:
                print(TINY_MODEL_NOTE + "\n")
            tutor(client, assistant)
            quiz(client, assistant)
            code_interpreter(client, assistant)
            paper = args.pdf or primer.write(Path(scratch) / "documents")
            run_steps(client, retrieval(client, assistant, paper))
            print(f"Data kept in {data_dir}" if args.data_dir else "Done (data was temporary).")


if __name__ == "__main__":
    main()
