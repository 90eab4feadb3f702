"""Function calling on the default model: validity, function choice, and the grammar's cost.

56 prompts across 8 function schemas, all 8 functions offered on every prompt,
``tool_choice="required"``, temperature 0, one call per turn. For each prompt:

- the call is generated under the tool grammar (as a run does) and, if it
  finished within the token budget, parsed and validated against its schema;
- the chosen function is compared with the one the prompt asks for;
- the same prompt is generated again without any grammar for exactly as many
  tokens, and the difference in wall time is the grammar's added latency.

    .venv/bin/python benchmarks/tool_calls.py [--model PATH] [--chat-template NAME_OR_FILE]
                                              [--max-tokens 192] [--sample N]

The grammar's cost grows with the vocabulary (it is checked against every
candidate token), so the summary names the vocabulary size: compare the
default model (49,152 tokens) with Gemma 3 270M (262,144; a base model, so
pass ``--chat-template gemma``).

Prints a table and writes benchmarks/results/tool_calls.json (and a copy per model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jsonschema
from tqdm import tqdm

from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, FunctionSpec, Sampling, ToolChoice
from offline_assistants.engine.llama import LlamaEngine

RESULTS = Path(__file__).resolve().parent / "results"
S = {"type": "string", "maxLength": 60}

FUNCTIONS = [
    FunctionSpec("get_weather", "Get the current weather for a city.", {
        "type": "object", "properties": {"city": S, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}),
    FunctionSpec("send_email", "Send an email.", {
        "type": "object", "properties": {"to": S, "subject": S, "body": {"type": "string", "maxLength": 200}},
        "required": ["to", "subject", "body"]}),
    FunctionSpec("create_event", "Add an event to the calendar.", {
        "type": "object", "properties": {"title": S, "date": S, "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 600}},
        "required": ["title", "date"]}),
    FunctionSpec("convert_currency", "Convert an amount between currencies.", {
        "type": "object", "properties": {"amount": {"type": "number", "minimum": 0}, "from_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]},
                                         "to_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]}},
        "required": ["amount", "from_currency", "to_currency"], "additionalProperties": False}, strict=True),
    FunctionSpec("set_alarm", "Set an alarm.", {
        "type": "object", "properties": {"hour": {"type": "integer", "minimum": 0, "maximum": 23}, "minute": {"type": "integer", "minimum": 0, "maximum": 59},
                                         "label": S}, "required": ["hour", "minute"]}),
    FunctionSpec("search_products", "Search the shop's catalogue.", {
        "type": "object", "properties": {"query": S, "max_price": {"type": "number", "minimum": 0, "maximum": 10000},
                                         "categories": {"type": "array", "items": {"type": "string", "enum": ["books", "music", "garden", "toys"]}, "maxItems": 3}},
        "required": ["query"]}),
    FunctionSpec("book_table", "Book a restaurant table.", {
        "type": "object", "properties": {"restaurant": S, "people": {"type": "integer", "minimum": 1, "maximum": 20}, "time": S},
        "required": ["restaurant", "people", "time"]}),
    FunctionSpec("calculate_tip", "Work out a tip.", {
        "type": "object", "properties": {"bill": {"type": "number", "minimum": 0}, "percent": {"type": "integer", "minimum": 0, "maximum": 100}},
        "required": ["bill", "percent"]}),
]  # fmt: skip

PROMPTS: list[tuple[str, str]] = [
    ("get_weather", "What's the weather like in Paris today?"),
    ("get_weather", "Is it raining in London right now?"),
    ("get_weather", "Tell me the temperature in Tokyo in celsius."),
    ("get_weather", "How hot is it in Phoenix, in fahrenheit?"),
    ("get_weather", "Weather forecast for Oslo please."),
    ("get_weather", "Do I need an umbrella in Seattle?"),
    ("get_weather", "Check the current weather in Berlin."),
    ("send_email", "Email bob@example.com that the meeting moved to 3pm."),
    ("send_email", "Send an email to alice@example.com with subject Hello saying hi."),
    ("send_email", "Write to hr@example.com asking for a day off on Friday."),
    ("send_email", "Let the team at team@example.com know the release shipped."),
    ("send_email", "Send my landlord, land@example.com, a note that the rent is paid."),
    ("send_email", "Email support@example.com: my order has not arrived."),
    ("send_email", "Mail carol@example.com the agenda for tomorrow."),
    ("create_event", "Put a dentist appointment on my calendar for June 3rd."),
    ("create_event", "Schedule a 30 minute call with Dan tomorrow."),
    ("create_event", "Add 'Team lunch' on Friday to my calendar."),
    ("create_event", "Create an event: yoga class on Monday, 60 minutes."),
    ("create_event", "Block two hours on 2025-05-01 for deep work."),
    ("create_event", "Remind me on my calendar about the concert on Saturday."),
    ("create_event", "Add my mother's birthday on March 12 to the calendar."),
    ("convert_currency", "Convert 100 USD to EUR."),
    ("convert_currency", "How many yen is 50 pounds?"),
    ("convert_currency", "What is 20 euros in dollars?"),
    ("convert_currency", "Change 1000 JPY into GBP."),
    ("convert_currency", "I have 75 dollars, how much is that in pounds?"),
    ("convert_currency", "Convert 12.5 EUR to USD please."),
    ("convert_currency", "What's 300 GBP in euros?"),
    ("set_alarm", "Wake me up at 6:30."),
    ("set_alarm", "Set an alarm for 7am called gym."),
    ("set_alarm", "Alarm at 22:15 please."),
    ("set_alarm", "Set an alarm for noon."),
    ("set_alarm", "I need an alarm at 5:45 tomorrow morning."),
    ("set_alarm", "Set a wake-up alarm for 8 o'clock."),
    ("set_alarm", "Alarm for 23:00 labelled 'take pills'."),
    ("search_products", "Find me books about gardening under 30 dollars."),
    ("search_products", "Search the shop for wooden toys."),
    ("search_products", "Look for jazz music albums."),
    ("search_products", "Do you sell garden hoses?"),
    ("search_products", "Show me children's books about space."),
    ("search_products", "Search for a guitar songbook under 20."),
    ("search_products", "Find puzzle toys and books."),
    ("book_table", "Book a table for 4 at Luigi's at 8pm."),
    ("book_table", "Reserve dinner for two at The Ivy tonight at 7."),
    ("book_table", "Get me a table at Sushi Place for 6 people at 19:30."),
    ("book_table", "Book Nando's for 3 at lunchtime."),
    ("book_table", "Reserve a table for 10 at Grill House on Saturday at 8."),
    ("book_table", "Can you book a table for one at Cafe Blue at noon?"),
    ("book_table", "Table for 5 at Dragon Palace, 6pm."),
    ("calculate_tip", "What's a 15% tip on a 40 dollar bill?"),
    ("calculate_tip", "Calculate a 20 percent tip for 85.50."),
    ("calculate_tip", "How much should I tip on 120 at 18%?"),
    ("calculate_tip", "Tip for a bill of 33 at ten percent?"),
    ("calculate_tip", "Work out a 25% tip on 64 dollars."),
    ("calculate_tip", "Our bill is 210, what's a 12 percent tip?"),
    ("calculate_tip", "Tip 15 percent on 9.99."),
]


def timed_generation(
    engine: LlamaEngine, prompt: list[int], max_tokens: int, grammar: Any
) -> tuple[str, str | None, int, float]:
    started = time.perf_counter()
    stream = engine.generate(
        prompt,
        max_tokens=max_tokens,
        sampling=Sampling(temperature=0.0, repeat_penalty=1.1),
        grammar=grammar,
    )
    text = "".join(stream)
    return text, stream.finish_reason, stream.completion_tokens, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="Function-calling validity and grammar overhead.")
    parser.add_argument("--model", type=Path, help="GGUF file (default: the default model)")
    parser.add_argument(
        "--chat-template", help="template for a GGUF without one (a Jinja file or built-in name)"
    )
    parser.add_argument("--max-tokens", type=int, default=192, help="token budget per call (192)")
    parser.add_argument(
        "--sample", type=int, help=f"use this many prompts, evenly spread (all {len(PROMPTS)})"
    )
    args = parser.parse_args()
    step = max(1, len(PROMPTS) // args.sample) if args.sample else 1
    prompts = PROMPTS[::step][: args.sample or None]
    settings = Settings.from_env(default_model=args.model, chat_template=args.chat_template)
    engine = LlamaEngine(
        settings.default_model,
        n_threads=settings.n_threads,
        n_ctx=4096,
        chat_template=settings.chat_template,
    )
    fmt = engine.tool_format
    grammar = fmt.grammar(FUNCTIONS, ToolChoice("required"), parallel=False)
    schemas = {f.name: f.parameters for f in FUNCTIONS}
    rows = []
    for expected, question in tqdm(prompts, desc="prompts", leave=False):
        prompt = engine.prompt_tokens([ChatMessage("user", question)], FUNCTIONS)
        text, finish, tokens, constrained = timed_generation(
            engine, prompt, args.max_tokens, grammar
        )
        row: dict[str, Any] = {
            "expected": expected,
            "prompt": question,
            "tokens": tokens,
            "finish": finish,
        }
        if finish == "stop":
            calls = fmt.parse(text)
            valid = False
            if len(calls) == 1 and calls[0][0] in schemas:
                try:
                    jsonschema.validate(calls[0][1], schemas[calls[0][0]])
                    valid = True
                except jsonschema.ValidationError:
                    valid = False
            row.update(valid=valid, chosen=calls[0][0] if calls else None)
        _, _, free_tokens, unconstrained = timed_generation(engine, prompt, tokens, None)
        row.update(
            constrained_s=constrained, unconstrained_s=unconstrained, free_tokens=free_tokens
        )
        rows.append(row)

    emitted = [r for r in rows if r["finish"] == "stop"]
    valid = sum(r["valid"] for r in emitted)
    right = sum(r["chosen"] == r["expected"] for r in emitted)
    same_length = [r for r in rows if r["free_tokens"] == r["tokens"] and r["tokens"] > 0]
    added_ms = [(r["constrained_s"] - r["unconstrained_s"]) * 1000 for r in same_length]
    ratio = [r["constrained_s"] / r["unconstrained_s"] for r in same_length]
    per_token_ms = [
        (r["constrained_s"] - r["unconstrained_s"]) * 1000 / r["tokens"] for r in same_length
    ]
    summary = {
        "model": settings.default_model.name,
        "vocabulary": engine.vocab_size,
        "prompts": len(rows),
        "functions": len(FUNCTIONS),
        "calls_emitted": len(emitted),
        "cut_off_by_token_budget": len(rows) - len(emitted),
        "parse_and_validate_rate": valid / len(emitted) if emitted else None,
        "expected_function_rate": right / len(emitted) if emitted else None,
        "latency_pairs": len(same_length),
        "median_added_latency_ms": statistics.median(added_ms) if added_ms else None,
        "median_added_ms_per_token": statistics.median(per_token_ms) if per_token_ms else None,
        "median_constrained_over_unconstrained": statistics.median(ratio) if ratio else None,
    }
    print(
        f"model {summary['model']} ({summary['vocabulary']} tokens): {summary['prompts']} prompts, {summary['functions']} functions, tool_choice=required\n"
    )
    for key in (
        "calls_emitted", "cut_off_by_token_budget", "parse_and_validate_rate", "expected_function_rate",
        "latency_pairs", "median_added_latency_ms", "median_added_ms_per_token",
        "median_constrained_over_unconstrained",
    ):  # fmt: skip
        value = summary[key]
        print(f"{key:40} {value:.3f}" if isinstance(value, float) else f"{key:40} {value}")
    RESULTS.mkdir(exist_ok=True)
    # tool_calls.json is what `python -m benchmarks` reads; the copy per model keeps a
    # comparison across vocabularies.
    data = json.dumps({"summary": summary, "rows": rows}, indent=2)
    for out in (
        RESULTS / "tool_calls.json",
        RESULTS / f"tool_calls-{settings.default_model.stem}.json",
    ):
        out.write_text(data)
    print(f"\nwrote {out} and tool_calls.json")


if __name__ == "__main__":
    main()
