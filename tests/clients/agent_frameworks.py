"""LangChain, LangGraph, litellm, instructor and pydantic-ai against our server, as their
docs show them.

Run by ``tests/test_client_frameworks.py`` with the Python of a venv set-up makes outside
the repository (``scripts/setup``: ``clients/`` holds langchain-openai, langgraph,
litellm and instructor, ``pydantic-ai/`` pydantic-ai; each with the openai SDK it
brings). argv[1]: the server's base URL; argv[2]: the case; argv[3], if given, the API
key. Prints one JSON line.
Every case forces the tool (or the schema) where the library allows, so the protocol is
what is tested, never the tiny model's judgement.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

BASE_URL, CASE = sys.argv[1], sys.argv[2]
KEY = sys.argv[3] if len(sys.argv) > 3 else "local"
EQUATION = "I need to solve the equation 3x + 11 = 14. Can you help me?"


class Weather(BaseModel):
    """Get the current weather for a city."""

    location: str


def langchain_tools() -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="default", base_url=BASE_URL, api_key="local", use_responses_api=True,
        temperature=0, max_tokens=60,
    )  # fmt: skip
    reply = llm.bind_tools([Weather], tool_choice="Weather").invoke("Weather in Paris?")
    return {"calls": [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls]}


def langchain_structured() -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="default", base_url=BASE_URL, api_key="local", use_responses_api=True,
        temperature=0, max_tokens=60,
    )  # fmt: skip
    parsed = llm.with_structured_output(Weather, method="function_calling").invoke(
        "Weather in Paris?"
    )
    return {"parsed": parsed.model_dump()}


def langchain_stream() -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="default", base_url=BASE_URL, api_key="local", use_responses_api=True,
        temperature=0, max_tokens=16,
    )  # fmt: skip
    chunks = list(llm.stream("Say hello."))
    text = "".join(c.text if isinstance(c.text, str) else c.text() for c in chunks)
    return {"chunks": len(chunks), "text": text}


def langgraph_tool_loop() -> dict[str, Any]:
    """A LangGraph graph: the model (its tool forced) → a ToolNode runs it → the model
    (no tools) answers from the tool's output."""
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    @tool
    def get_weather(location: str) -> str:
        """Get the current weather for a city."""
        return f"Sunny and 21 C in {location}."

    llm = ChatOpenAI(
        model="default", base_url=BASE_URL, api_key="local", use_responses_api=True,
        temperature=0, max_tokens=60,
    )  # fmt: skip
    caller = llm.bind_tools([get_weather], tool_choice="get_weather")

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [caller.invoke(state["messages"])]}

    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("call", call)
    graph.add_node("tools", ToolNode([get_weather]))
    graph.add_node("answer", answer)
    graph.add_edge(START, "call")
    graph.add_edge("call", "tools")
    graph.add_edge("tools", "answer")
    graph.add_edge("answer", END)
    final = graph.compile().invoke({"messages": [HumanMessage("Weather in Paris?")]})
    kinds = [type(m).__name__ for m in final["messages"]]
    last = final["messages"][-1]
    return {"kinds": kinds, "answer": last.text if isinstance(last.text, str) else last.text()}


def pydantic_ai_output() -> dict[str, Any]:
    """A pydantic-ai Agent on the Responses model with a structured output type (pydantic-ai
    asks for it as a tool the model must call)."""
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIResponsesModel(
        "default", provider=OpenAIProvider(base_url=BASE_URL, api_key="local")
    )
    agent = Agent(model, output_type=Weather, model_settings={"temperature": 0, "max_tokens": 60})
    result = agent.run_sync("Weather in Paris?")
    return {"parsed": result.output.model_dump()}


def litellm_tools() -> dict[str, Any]:
    import litellm

    response = litellm.responses(
        model="openai/default",
        api_base=BASE_URL,
        api_key="local",
        input="Weather in Paris?",
        tools=[
            {
                "type": "function",
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "parameters": Weather.model_json_schema(),
            }
        ],
        tool_choice={"type": "function", "name": "get_weather"},
        temperature=0,
        max_output_tokens=60,
    )
    calls = [item for item in response.output if getattr(item, "type", None) == "function_call"]
    return {"calls": [{"name": c.name, "args": json.loads(c.arguments)} for c in calls]}


def instructor_responses() -> dict[str, Any]:
    import instructor
    import openai

    client = instructor.from_openai(
        openai.OpenAI(base_url=BASE_URL, api_key="local", max_retries=0),
        mode=instructor.Mode.RESPONSES_TOOLS,
    )
    weather = client.responses.create(
        model="default",
        input="Weather in Paris?",
        response_model=Weather,
        temperature=0,
        max_output_tokens=60,
        max_retries=0,
    )
    return {"parsed": weather.model_dump()}


def langchain_reasoning() -> dict[str, Any]:
    """A reasoning model's answer: LangChain reads the response's reasoning item as a
    reasoning content block."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="default", base_url=BASE_URL, api_key=KEY, use_responses_api=True,
        temperature=0, max_tokens=48,
    )  # fmt: skip
    reply = llm.invoke(EQUATION)
    blocks = [block for block in reply.content_blocks if block["type"] == "reasoning"]
    texts = [
        part.get("text", "")
        for block in blocks
        for part in (block.get("extras") or {}).get("content") or []
    ]
    return {"reasoning": texts, "text": reply.text}


def litellm_reasoning() -> dict[str, Any]:
    """litellm's chat completion reads ``reasoning_content`` (OpenAI-compatible and vLLM)."""
    import litellm

    out: dict[str, Any] = {}
    for model in ("openai/default", "hosted_vllm/default"):
        reply = litellm.completion(
            model=model, api_base=BASE_URL, api_key=KEY, temperature=0, max_tokens=48,
            messages=[{"role": "user", "content": EQUATION}],
        )  # fmt: skip
        message = reply.choices[0].message
        out[model] = {"reasoning": message.reasoning_content, "text": message.content}
    return out


def openai_text_format() -> dict[str, Any]:
    import openai

    client = openai.OpenAI(base_url=BASE_URL, api_key="local", max_retries=0)
    with client.responses.stream(
        model="default",
        input="Weather in Paris?",
        text_format=Weather,
        temperature=0,
        max_output_tokens=60,
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    return {"events": kinds, "parsed": final.output_parsed.model_dump()}


CASES = {
    "langchain-tools": langchain_tools,
    "langchain-structured": langchain_structured,
    "langchain-stream": langchain_stream,
    "langgraph-tool-loop": langgraph_tool_loop,
    "pydantic-ai-output": pydantic_ai_output,
    "litellm-tools": litellm_tools,
    "instructor-responses": instructor_responses,
    "openai-text-format": openai_text_format,
    "langchain-reasoning": langchain_reasoning,
    "litellm-reasoning": litellm_reasoning,
}

if __name__ == "__main__":
    print(json.dumps({"case": CASE, **CASES[CASE]()}))
