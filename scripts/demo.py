"""The Math Tutor walkthrough of the Assistants API overview, offline.

Three turns on one thread with the local default model, printed the way the
overview's ``pretty_print`` prints them, followed by each run's steps. Run it
through ``scripts/demo`` (which sets everything up first).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from openai.types.beta.threads.message import Message

from offline_assistants import Client

INSTRUCTIONS = "You are a personal math tutor. Answer questions briefly, in a sentence or less."
TURNS = [
    "I need to solve the equation `3x + 11 = 14`. Can you help me?",
    "Could you explain this to me?",
    "Thank you!",
]


def pretty_print(messages: list[Message]) -> None:
    print("# Messages")
    for m in messages:
        text = m.content[0].text.value if m.content and m.content[0].type == "text" else ""
        print(f"{m.role}: {text.strip()}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, help="keep the data here (default: a temporary dir)"
    )
    parser.add_argument("--model", help="a .gguf file to use instead of the default model")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (0)")
    args = parser.parse_args()

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
            thread = client.beta.threads.create()
            for question in TURNS:
                client.beta.threads.messages.create(
                    thread_id=thread.id, role="user", content=question
                )
                started = time.perf_counter()
                run = client.beta.threads.runs.create_and_poll(
                    thread_id=thread.id, assistant_id=assistant.id
                )
                elapsed = time.perf_counter() - started
                pretty_print(
                    list(client.beta.threads.messages.list(thread_id=thread.id, order="asc"))
                )
                usage = run.usage
                print(
                    f"# Run {run.id}: {run.status} in {elapsed:.2f}s"
                    + (
                        f", {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
                        if usage
                        else ""
                    )
                )
                steps = client.beta.threads.runs.steps.list(
                    thread_id=thread.id, run_id=run.id, order="asc"
                )
                for step in steps:
                    detail = step.step_details
                    what = (
                        f"message {detail.message_creation.message_id}"
                        if detail.type == "message_creation"
                        else detail.type
                    )
                    print(f"  step {step.id}: {step.type} {step.status} -> {what}")
                print()
            print(f"Data kept in {data_dir}" if args.data_dir else "Done (data was temporary).")


if __name__ == "__main__":
    main()
