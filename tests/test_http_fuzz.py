"""Property-based fuzzing of every route: whatever a client sends, the answer is never a 5xx.

The routes come from the app itself (its OpenAPI paths), so a new route is fuzzed
the day it is added. Hypothesis draws a method and path, path ids (real ones
seeded into the store, or hostile text), query parameters and a body: JSON built
from the SDK's own field names with hostile values (NaN, lone surrogates, huge
integers, deep nesting, wrong types), or raw bytes that are not JSON at all. Every
answer must be below 500 and, when it is an error, OpenAI's envelope; the server
must still answer a plain request at the end. ``OFFLINE_ASSISTANTS_FUZZ_EXAMPLES``
raises the number of requests (the closing note of issue 12 quotes a large run).
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.server import create_app

from .http_harness import serving
from .open_responses import request_bodies

# Every answer's (status, method, route, text head): the counts reported for issue 12.
STATS: list[Any] = []
EXAMPLES = int(os.environ.get("OFFLINE_ASSISTANTS_FUZZ_EXAMPLES", "600"))
FIELDS = [
    "model", "name", "description", "instructions", "metadata", "tools", "tool_resources",
    "temperature", "top_p", "response_format", "messages", "role", "content", "attachments",
    "assistant_id", "thread", "stream", "additional_messages", "additional_instructions",
    "max_completion_tokens", "max_prompt_tokens", "truncation_strategy", "tool_choice",
    "parallel_tool_calls", "tool_outputs", "file_ids", "files", "file_id", "attributes",
    "chunking_strategy", "expires_after", "query", "filters", "max_num_results",
    "ranking_options", "rewrite_query", "type", "function", "parameters", "file_search",
    "code_interpreter", "vector_store_ids", "vector_stores", "json_schema", "schema",
    "static", "max_chunk_size_tokens", "chunk_overlap_tokens", "key", "value", "output",
    "tool_call_id", "text", "image_file", "image_url", "last_messages", "anchor", "days",
]  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "\x00", "\ud800", "a\udfffb", "☃" * 300, "x" * 70_000, "../../etc/passwd",
    "default", "function", "auto", "required", "none", "user", "assistant", "static",
    "code_interpreter", "file_search", "json_schema", "last_messages", "eq", "and",
]  # fmt: skip
NUMBERS = [0, -1, 1, 2, 51, 10**30, -(10**30), 1.5, float("nan"), float("inf"), -float("inf")]


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(NUMBERS),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=40),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
        ),
        max_leaves=25,
    )


def raw_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"[" * 5_000 + b"]" * 5_000,
                b'{"a": ' * 3_000 + b"1" + b"}" * 3_000,
                b'{"model": NaN}',
                b'{"model": "default", "temperature": Infinity}',
                b'{"name": "\\ud800"}',
                b"\xff\xfe{}",
                b"null",
                b'"string"',
                b"",
            ]
        ),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, real_engine: LlamaEngine) -> Iterator[Any]:
    with serving(tmp_path_factory.mktemp("fuzz") / "data", real_engine) as (runtime, url):
        http = httpx2.Client(base_url=url, timeout=60)
        ids = seed(http)
        paths = [
            (method.upper(), path)
            for path, operations in create_app(runtime).openapi()["paths"].items()
            for method in operations
        ]
        yield http, ids, paths
        http.close()


def seed(http: httpx2.Client) -> dict[str, list[str]]:
    """Real ids for the path parameters, so requests get past "not found"."""
    assistant = http.post("/assistants", json={"model": "default", "temperature": 0}).json()
    thread = http.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    messages = http.get(f"/threads/{thread['id']}/messages").json()["data"]
    file = http.post(
        "/files", files={"file": ("a.txt", b"some text")}, data={"purpose": "assistants"}
    ).json()
    store = http.post("/vector_stores", json={"name": "s"}).json()
    run = http.post(
        f"/threads/{thread['id']}/runs",
        json={"assistant_id": assistant["id"], "max_completion_tokens": 2},
    ).json()
    return {
        "assistant_id": [assistant["id"]],
        "thread_id": [thread["id"]],
        "message_id": [m["id"] for m in messages],
        "file_id": [file["id"]],
        "vector_store_id": [store["id"]],
        "run_id": [run["id"]],
        "step_id": ["step_unknown"],
        "batch_id": ["vsfb_unknown"],
    }


def path_value(ids: list[str]) -> st.SearchStrategy[str]:
    hostile = st.sampled_from(["x", "%00", "%ED%A0%80", "%FF", "a" * 3000, "..", "%2e%2e%2f"])
    text = st.text(string.ascii_letters + "_-", max_size=30)
    return st.one_of(
        st.sampled_from(ids), st.sampled_from(ids), st.sampled_from(ids), hostile, text
    )


def templates(ids: dict[str, list[str]]) -> dict[tuple[str, str], Any]:
    """A valid body for each route that takes one: the fuzzer mutates these."""
    file, store, assistant = ids["file_id"][0], ids["vector_store_id"][0], ids["assistant_id"][0]
    function = {
        "name": "f",
        "description": "d",
        "parameters": {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}},
        "strict": True,
    }
    tools = [{"type": "function", "function": function}, {"type": "code_interpreter"}]
    resources = {
        "code_interpreter": {"file_ids": [file]},
        "file_search": {"vector_store_ids": [store]},
    }
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "hi"}],
        "attachments": [{"file_id": file, "tools": [{"type": "file_search"}]}],
        "metadata": {"k": "v"},
    }
    assistant_body = {
        "model": "default", "name": "n", "instructions": "i", "tools": tools,
        "metadata": {"k": "v"}, "temperature": 0.5, "top_p": 1, "tool_resources": resources,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {}}},
    }  # fmt: skip
    run = {
        "assistant_id": assistant, "max_completion_tokens": 1, "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "truncation_strategy": {"type": "last_messages", "last_messages": 2},
        "additional_messages": [message], "parallel_tool_calls": False, "metadata": {},
    }  # fmt: skip
    thread = {"messages": [message], "metadata": {}, "tool_resources": resources}
    static = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
    }
    return {
        ("POST", "/v1/assistants"): assistant_body,
        ("POST", "/v1/assistants/{assistant_id}"): assistant_body,
        ("POST", "/v1/threads"): thread,
        ("POST", "/v1/threads/{thread_id}"): {"metadata": {}, "tool_resources": resources},
        ("POST", "/v1/threads/runs"): {**run, "thread": thread, "additional_messages": None},
        ("POST", "/v1/threads/{thread_id}/messages"): message,
        ("POST", "/v1/threads/{thread_id}/messages/{message_id}"): {"metadata": {"k": "v"}},
        ("POST", "/v1/threads/{thread_id}/runs"): run,
        ("POST", "/v1/threads/{thread_id}/runs/{run_id}"): {"metadata": {"k": "v"}},
        ("POST", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): {
            "tool_outputs": [{"tool_call_id": "call_x", "output": "o"}]
        },
        ("POST", "/v1/vector_stores"): {
            "name": "s",
            "file_ids": [file],
            "chunking_strategy": static,
            "metadata": {},
            "expires_after": {"anchor": "last_active_at", "days": 2},
        },  # fmt: skip
        ("POST", "/v1/vector_stores/{vector_store_id}"): {"name": "t", "metadata": {}},
        ("POST", "/v1/vector_stores/{vector_store_id}/search"): {
            "query": "q",
            "max_num_results": 3,
            "ranking_options": {"score_threshold": 0.1},
            "filters": {"type": "and", "filters": [{"type": "eq", "key": "a", "value": 1}]},
        },  # fmt: skip
        ("POST", "/v1/vector_stores/{vector_store_id}/files"): {
            "file_id": file,
            "attributes": {"a": 1.5},
            "chunking_strategy": {"type": "auto"},
        },
        ("POST", "/v1/vector_stores/{vector_store_id}/files/{file_id}"): {"attributes": {"a": "b"}},
        ("POST", "/v1/responses"): RESPONSE,
        ("POST", "/v1/responses/input_tokens"): {
            k: v for k, v in RESPONSE.items() if k not in ("store", "max_output_tokens", "include")
        },
        ("POST", "/v1/responses/compact"): {"model": "default", "input": RESPONSE["input"]},
        ("POST", "/v1/vector_stores/{vector_store_id}/file_batches"): {
            "file_ids": [file],
            "attributes": {"x": True},
            "chunking_strategy": static,
        },
    }


# A Responses request shaped as Codex sends one (ids on messages, a namespace, a hosted tool).
RESPONSE = {
    "model": "default",
    "input": [
        {"type": "message", "id": "msg_1", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "reasoning", "summary": []},
    ],
    "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}},
        {"type": "namespace", "name": "ns", "description": "d", "tools": [{"type": "function", "name": "g"}]},
        {"type": "web_search"},
    ],
    "tool_choice": "auto", "store": False, "max_output_tokens": 16, "client_metadata": {"k": "v"},
    "include": ["reasoning.encrypted_content"], "text": {"format": {"type": "text"}},
}  # fmt: skip


def mutated(template: Any, data: st.DataObject) -> Any:
    """The template with a few of its values (at any depth) replaced, dropped or added to."""
    body = json.loads(json.dumps(template))
    for _ in range(data.draw(st.integers(1, 3))):
        places = list(_places(body))
        if not places:
            break
        container, key = data.draw(st.sampled_from(places))
        action = data.draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "drop" and isinstance(container, dict):
            container.pop(key, None)
        elif action == "add" and isinstance(container, dict):
            container[data.draw(st.sampled_from(FIELDS) | st.text(max_size=6))] = data.draw(
                json_values()
            )
        else:
            container[key] = data.draw(json_values())
    return body


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from _places(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _places(item)


def queries() -> st.SearchStrategy[list[tuple[str, str]]]:
    keys = st.sampled_from(
        ["limit", "order", "after", "before", "include[]", "filter", "purpose", "run_id", "zz"]
    )
    values = st.sampled_from(["1", "0", "101", "-5", "abc", "asc", "desc", "", "1e999"]) | st.text(
        max_size=12
    )
    return st.lists(st.tuples(keys, values), max_size=4)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_request_gets_a_server_error(served: Any, data: st.DataObject) -> None:
    http, ids, paths = served
    method, route = data.draw(st.sampled_from(paths))
    path = route
    for name in [p.strip("{}") for p in route.split("/") if p.startswith("{")]:
        path = path.replace("{" + name + "}", data.draw(path_value(ids.get(name, ["x"]))))
    query = data.draw(queries())
    template = templates(ids).get((method, route))
    kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "json", "raw"]))
    if kind == "mutated" and template is not None:
        body = json.dumps(mutated(template, data), ensure_ascii=True).encode()
    elif kind == "raw":
        body = data.draw(raw_bodies())
    else:
        body = json.dumps(data.draw(json_values()), ensure_ascii=True).encode()
    headers = {"content-type": "application/json"}
    response = http.request(
        method, path.removeprefix("/v1"), params=query, content=body, headers=headers
    )
    STATS.append((response.status_code, method, route, response.text[:120]))
    assert response.status_code < 500, (method, path, body[:300], response.text[:500])
    if method == "DELETE" and response.status_code == 200:
        ids.update(seed(http))  # keep real objects to aim at
    if response.status_code >= 400:
        envelope = response.json()
        assert set(envelope) == {"error"}, response.text
        assert set(envelope["error"]) == {"message", "type", "param", "code"}, response.text


@settings(
    max_examples=max(EXAMPLES // 6, 20),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=request_bodies(), route=st.sampled_from(["/responses", "/responses/input_tokens"]))
def test_open_responses_requests_never_get_a_server_error(
    served: Any, body: dict[str, Any], route: str
) -> None:
    """Bodies drawn from the Open Responses spec's request schema (its every key, in its
    shapes): accepted, or refused in the envelope; never a 5xx, streamed or not."""
    http = served[0]
    if route != "/responses":
        body = {k: v for k, v in body.items() if k not in ("stream", "store", "background", "max_output_tokens", "stream_options", "include", "metadata", "service_tier", "safety_identifier", "prompt_cache_key", "top_logprobs", "max_tool_calls", "presence_penalty", "frequency_penalty", "temperature", "top_p", "user")}  # fmt: skip
    response = http.post(route, content=json.dumps(body).encode(), headers={"content-type": "application/json"})  # fmt: skip
    STATS.append((response.status_code, "POST", f"/v1{route} (spec)", response.text[:120]))
    assert response.status_code < 500, (body, response.text[:500])
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    elif body.get("stream"):
        assert '"type":"error"' not in response.text and "server_error" not in response.text


def test_the_server_still_answers_after_the_fuzzing(served: Any) -> None:
    http, _, _ = served
    spec = [status for status, _, route, _ in STATS if route.endswith("(spec)")]
    if spec:  # the spec's bodies reach past the checks: some are answered, not all refused
        assert 200 in spec, sorted(set(spec))
    assert http.get("/assistants").status_code == 200
    created = http.post("/assistants", json={"model": "default", "name": "after"}).json()
    assert http.get(f"/assistants/{created['id']}").json()["name"] == "after"


BIG = "word " * 60_000  # 300,000 characters: past the one size rule for message text


def test_every_route_that_takes_message_text_bounds_it_and_refuses_null_input(
    served: Any,
) -> None:
    """One size rule for message text, before any tokenizing, on every route that takes it
    (Chat Completions read 30 MB first), and ``input: null`` a 400 (it was a generation)."""
    http, ids, _ = served
    thread, assistant = ids["thread_id"][0], ids["assistant_id"][0]
    message = {"role": "user", "content": BIG}
    cases = [
        ("/chat/completions", {"model": "default", "messages": [message]}),
        ("/responses", {"model": "default", "input": BIG}),
        ("/responses", {"model": "default", "input": [message]}),
        ("/responses/input_tokens", {"model": "default", "input": BIG}),
        ("/conversations", {"items": [{"type": "message", **message}]}),
        ("/threads", {"messages": [message]}),
        (f"/threads/{thread}/messages", message),
        ("/threads/runs", {"assistant_id": assistant, "thread": {"messages": [message]}}),
        (f"/threads/{thread}/runs", {"assistant_id": assistant, "additional_messages": [message]}),
        ("/responses", {"model": "default", "input": None}),  # input_tokens takes null
    ]
    for path, body in cases:
        response = http.post(path, json=body)
        assert response.status_code == 400, (path, response.text[:300])
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"], (path, error)
        assert error["param"].split(".")[0].split("[")[0] in (
            "messages", "input", "items", "content", "thread", "additional_messages",
        ), (path, error)  # fmt: skip
