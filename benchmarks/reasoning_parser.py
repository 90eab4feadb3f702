"""What keeping reasoning apart costs: the same tokens with and without the reasoning parser.

A GGUF copy of the default model with a DeepSeek-R1 distill's template (the one
tests/reasoning/ uses: the generation prompt opens ``<think>``) answers one
chat completion of ``--tokens`` tokens at temperature 0, with no reasoning budget,
so every token is reasoning and goes through the parser (the sequence's phase
tracking and the consumer's splitter). The other arm is the same engine with its
reasoning convention switched off: the same prompt, the same greedy tokens, all
shown as content. Arms alternate, ``--reps`` times each, one process.

    .venv/bin/python benchmarks/reasoning_parser.py [--reps 7] [--tokens 128]

Prints a table and writes benchmarks/results/reasoning_parser.json.
Target: with the parser at most 1.05x without.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))
from tests.model_families import REASONING_FAMILIES, write_family  # noqa: E402

from offline_assistants import Client  # noqa: E402
from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.engine.llama import LlamaEngine  # noqa: E402

RESULTS = HERE / "results"
QUESTION = "I need to solve the equation 3x + 11 = 14. Can you help me?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="completions per arm")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per completion")
    args = parser.parse_args()
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory() as folder:
        copy = write_family(settings.default_model, Path(folder) / "r1.gguf", REASONING_FAMILIES[0])
        engine = LlamaEngine(copy, n_threads=settings.n_threads, n_ctx=2048, progress=False)
        tags = engine.reasoning
        assert tags is not None, "the copy's template should show think tags"
        chosen = dataclasses.replace(
            Settings.from_env(data_dir=Path(folder) / "data"), default_model=copy
        )
        times: dict[str, list[float]] = {"parser": [], "no parser": []}
        outputs: dict[str, set[str]] = {"parser": set(), "no parser": set()}
        with Client(settings=chosen, engine_factory=lambda path: engine) as client:
            for rep in range(args.reps + 1):  # the first round warms up, unrecorded
                for arm in ("parser", "no parser"):
                    engine._prompt.reasoning = tags if arm == "parser" else None
                    started = time.perf_counter()
                    done = client.chat.completions.create(
                        model="default",
                        messages=[{"role": "user", "content": QUESTION}],
                        temperature=0,
                        max_completion_tokens=args.tokens,
                    )
                    elapsed = time.perf_counter() - started
                    message = done.choices[0].message
                    said = (message.model_extra or {}).get("reasoning_content") or ""
                    outputs[arm].add(said + (message.content or ""))
                    if rep:
                        times[arm].append(elapsed)
        engine.close()
    medians = {arm: statistics.median(values) for arm, values in times.items()}
    ratio = medians["parser"] / medians["no parser"]
    print(f"| arm | median s ({args.reps} reps, {args.tokens} tokens) |\n|---|---|")
    for arm, value in medians.items():
        print(f"| {arm} | {value:.3f} |")
    print(f"\nratio parser / no parser: {ratio:.3f} (target at most 1.05)")
    same = outputs["parser"] == outputs["no parser"]
    print(f"same text both ways: {same}")
    if not same:
        for arm, texts in outputs.items():
            print(f"{arm}: {sorted(texts)!r}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reasoning_parser.json").write_text(
        json.dumps(
            {"reps": args.reps, "tokens": args.tokens, "times": times, "ratio": ratio}, indent=2
        )
    )


if __name__ == "__main__":
    main()
