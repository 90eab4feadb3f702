"""The Assistants overview notebook's requests, as its original edition made them (openai 1.2.3).

Run with the interpreter of a venv holding openai==1.2.3 (scripts/setup makes one),
OPENAI_BASE_URL pointing at our server and the working directory holding
``data/language_models_are_unsupervised_multitask_learners.pdf``. It makes the
notebook's calls in the notebook's order (assistant, thread, message, run and
polling, follow-up message, Code Interpreter, run steps, the paper for retrieval,
the quiz function) with the client's v1 defaults (``OpenAI-Beta: assistants=v1``),
and prints what the client returned, as JSON, for tests/test_assistants_v1.py.
"""

import json
import os
import sys
import time

import openai
from openai import OpenAI

assert openai.__version__ == "1.2.3", openai.__version__
# 1.2.3 reads no OPENAI_BASE_URL: pointing it at the server is the one change a user makes.
client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"])
seen = {}


def dump(obj):
    return json.loads(obj.model_dump_json())


def wait_on_run(run, thread):
    while run.status == "queued" or run.status == "in_progress":
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
        time.sleep(0.5)
    return run


def submit_message(assistant_id, thread, user_message):
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=user_message)
    return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)


def create_thread_and_run(user_input):
    thread = client.beta.threads.create()
    return thread, submit_message(assistant_id, thread, user_input)


assistant = client.beta.assistants.create(
    name="Math Tutor",
    instructions="You are a personal math tutor. Answer questions briefly, in a sentence or less.",
    model="gpt-4-1106-preview",
)
assistant_id = assistant.id
seen["assistant"] = dump(assistant)
thread = client.beta.threads.create()
message = client.beta.threads.messages.create(
    thread_id=thread.id,
    role="user",
    content="I need to solve the equation `3x + 11 = 14`. Can you help me?",
)
seen["message"] = dump(message)
run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
seen["run_created"] = dump(run)
run = wait_on_run(run, thread)
seen["run"] = dump(run)
seen["messages"] = dump(client.beta.threads.messages.list(thread_id=thread.id))

message = client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="Could you explain this to me?"
)
wait_on_run(client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id), thread)
seen["after"] = dump(
    client.beta.threads.messages.list(thread_id=thread.id, order="asc", after=message.id)
)

assistant = client.beta.assistants.update(assistant_id, tools=[{"type": "code_interpreter"}])
thread, run = create_thread_and_run("Generate the first 20 fibbonaci numbers with code.")
run = wait_on_run(run, thread)
seen["code_run"] = dump(run)
seen["code_steps"] = dump(
    client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
)

file = client.files.create(
    file=open("data/language_models_are_unsupervised_multitask_learners.pdf", "rb"),  # noqa: SIM115
    purpose="assistants",
)
seen["file"] = dump(file)
assistant = client.beta.assistants.update(
    assistant_id,
    tools=[{"type": "code_interpreter"}, {"type": "retrieval"}],
    file_ids=[file.id],
)
seen["retrieval_assistant"] = dump(assistant)
thread, run = create_thread_and_run(
    "What are some cool math concepts behind this ML paper pdf? Explain in two sentences."
)
run = wait_on_run(run, thread)
seen["retrieval_run"] = dump(run)
seen["retrieval_steps"] = dump(
    client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
)
seen["retrieval_messages"] = dump(
    client.beta.threads.messages.list(thread_id=thread.id, order="asc")
)

# Files on a message, as v1 allowed.
message = client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="And in this one?", file_ids=[file.id]
)
seen["message_with_file"] = dump(message)

function_json = json.loads(sys.argv[1])
assistant = client.beta.assistants.update(
    assistant_id,
    tools=[
        {"type": "code_interpreter"},
        {"type": "retrieval"},
        {"type": "function", "function": function_json},
    ],
)
seen["function_assistant"] = dump(assistant)
thread, run = create_thread_and_run(
    "Make a quiz with 2 questions: One open ended, one multiple choice. Then, give me feedback for the responses."
)
run = wait_on_run(run, thread)
seen["quiz_run"] = dump(run)
if run.status == "requires_action":
    tool_call = run.required_action.submit_tool_outputs.tool_calls[0]
    arguments = json.loads(tool_call.function.arguments)
    run = client.beta.threads.runs.submit_tool_outputs(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": tool_call.id, "output": json.dumps(["I don't know.", "a"])}],
    )
    run = wait_on_run(run, thread)
    seen["quiz_arguments"] = arguments
    seen["quiz_after"] = dump(run)
    seen["quiz_messages"] = dump(client.beta.threads.messages.list(thread_id=thread.id))
print(json.dumps(seen))
