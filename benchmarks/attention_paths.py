"""How llama.cpp should attend here: each attention path's speed and answers, side by side.

A path is flash attention or the plain matrix products, over a KV cache of F16
(llama.cpp's default) or BF16 (:data:`~offline_assistants.engine.attention.PATHS`; the
engine times them once and takes the fastest, engine/attention.py). For each path, on
the same file and cores, in turns, ``--rounds`` times (best kept):

- what the engine's own timing measures (:func:`~offline_assistants.engine.attention._timed`:
  a 16-token chunk and four steps after 256 tokens, four steps of four sequences), and
  which path it takes from those figures;
- the parts of a user's wait, in ms: a 13-token prompt chunk after a 300-token
  preamble (a new thread's first token once the preamble is shared), one sequence's
  decode step after it, the same two after 2,000 tokens (a long thread's next turn),
  a step of 8 sequences after short prompts (eight runs at once) and after 300-token
  preambles each;
- the answers: greedy answers (48 tokens) to ``--prompts`` questions under a short
  system prompt, how many are token for token those of an F32 cache with the plain
  path (the reference: the same weights, keys and values unrounded), with the mean
  share of tokens before the first difference; and, teacher-forced over the
  reference's answers, the mean KL divergence of each path's next-token distributions
  from the reference's and how often both put the same token first.

    .venv/bin/python benchmarks/attention_paths.py [--rounds 2] [--prompts 20] [--model PATH]

Prints a table and writes benchmarks/results/attention_paths.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from benchmarks.weights_formats import QUESTIONS, closeness, same_answers  # noqa: E402

from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.engine import attention  # noqa: E402
from offline_assistants.engine.attention import PATHS, AttentionPath, configure  # noqa: E402
from offline_assistants.engine.decode_batch import DecodeBatch  # noqa: E402

RESULTS = HERE / "results"
PREAMBLE = 300
LONG = 2000  # a long thread
CHUNK = 13
SEQUENCES = 8
SYSTEM = (
    "You are a helpful assistant. Answer carefully, in full sentences, and stay on the "
    "topic the user asks about."
)
REFERENCE = "plain/f32"  # the plain path over an F32 cache: keys and values unrounded
F32 = 0  # ggml's number for F32


def _context(model: Any, path: AttentionPath | None, sequences: int) -> Any:
    """A raw llama context of ``sequences`` streams attending as ``path`` (None: the
    reference)."""
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = 2048 * sequences
    params.n_batch = params.n_ubatch = 128
    params.n_seq_max = sequences
    params.kv_unified = False
    params.n_threads = params.n_threads_batch = 2
    if path is None:
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.type_k = params.type_v = F32
    else:
        configure(llama_cpp, params, path)
    return llama_cpp.llama_init_from_model(model, params)


def _decode(batch: DecodeBatch, ctx: Any, rows: list[tuple[int, int, int, bool]]) -> None:
    batch.clear()
    for token, position, seq, output in rows:
        batch.add(token, position, seq, output)
    batch.decode(ctx)


def waits(model: Any, path: AttentionPath) -> dict[str, float]:
    """The parts of a user's wait on ``path``, in ms (the best of two tries each)."""
    ctx = _context(model, path, SEQUENCES)
    batch = DecodeBatch(llama_cpp, 512)
    memory = llama_cpp.llama_get_memory(ctx)
    token = 1000  # any ordinary token: the time does not depend on which
    found: dict[str, float] = {}

    def best(name: str, seconds: float) -> None:
        found[name] = min(found.get(name, float("inf")), seconds * 1000)

    def after(prefix: int, name: str) -> None:
        """A 13-token chunk, then single steps, after ``prefix`` tokens of sequence 0."""
        started = time.perf_counter()
        _decode(batch, ctx, [(token, prefix + i, 0, i == CHUNK - 1) for i in range(CHUNK)])
        best(f"chunk_13_after_{name}", time.perf_counter() - started)
        started = time.perf_counter()
        for step in range(16):
            _decode(batch, ctx, [(token, prefix + CHUNK + step, 0, True)])
        best(f"step_1_after_{name}", (time.perf_counter() - started) / 16)

    try:
        for _ in range(2):
            llama_cpp.llama_memory_clear(memory, True)
            for start in range(0, PREAMBLE, 128):
                end = min(PREAMBLE, start + 128)
                _decode(batch, ctx, [(token, i, 0, False) for i in range(start, end)])
            after(PREAMBLE, "300")
            llama_cpp.llama_memory_seq_rm(memory, 0, PREAMBLE, -1)
            for start in range(PREAMBLE, LONG, 128):
                end = min(LONG, start + 128)
                _decode(batch, ctx, [(token, i, 0, False) for i in range(start, end)])
            after(LONG, "2000")
            for prefix, name in ((40, "step_8_after_40"), (PREAMBLE, "step_8_after_300")):
                llama_cpp.llama_memory_clear(memory, True)
                for seq in range(SEQUENCES):
                    for start in range(0, prefix, 128):
                        end = min(prefix, start + 128)
                        rows = [(token + seq, i, seq, False) for i in range(start, end)]
                        _decode(batch, ctx, rows)
                started = time.perf_counter()
                for step in range(16):
                    _decode(batch, ctx, [(token, prefix + step, s, True) for s in range(SEQUENCES)])
                best(name, (time.perf_counter() - started) / 16)
    finally:
        batch.close()
        llama_cpp.llama_free(ctx)
    return found


def _apart(model: Any, path: AttentionPath) -> dict[str, float]:
    """:func:`waits`, on a thread of its own that ends with it, as the engine's own timing
    runs (:func:`~offline_assistants.engine.attention._apart`): every timing here runs
    so, before anything decodes on the main thread."""
    names: list[str] = []

    def timed() -> list[float]:
        found = waits(model, path)
        names.extend(found)
        return list(found.values())

    return dict(zip(names, attention._apart(timed), strict=True))


def _prompts(llm: llama_cpp.Llama, count: int) -> list[list[int]]:
    return [
        llm.tokenize(
            f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            "<|im_start|>assistant\n".encode(),
            special=True,
        )
        for question in QUESTIONS[:count]
    ]


def _evaluate(batch: DecodeBatch, ctx: Any, tokens: list[int], start: int, chunk: int) -> None:
    for first in range(start, len(tokens), chunk):
        piece = tokens[first : first + chunk]
        _decode(batch, ctx, [(t, first + i, 0, True) for i, t in enumerate(piece)])


def greedy(model: Any, path: AttentionPath | None, prompts: list[list[int]], n_vocab: int,
           ends: set[int]) -> list[list[int]]:  # fmt: skip
    """Greedy answers of 48 tokens at most, one sequence at a time."""
    ctx = _context(model, path, 1)
    batch = DecodeBatch(llama_cpp, 512)
    answers = []
    try:
        for prompt in prompts:
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            _evaluate(batch, ctx, prompt, 0, 128)
            row, position, answer = batch.size - 1, len(prompt), []
            for _ in range(48):
                logits = llama_cpp.llama_get_logits_ith(ctx, row)
                token = int(np.ctypeslib.as_array(logits, shape=(n_vocab,)).argmax())
                if token in ends:
                    break
                answer.append(token)
                _decode(batch, ctx, [(token, position, 0, True)])
                row, position = 0, position + 1
            answers.append(answer)
    finally:
        batch.close()
        llama_cpp.llama_free(ctx)
    return answers


def log_probs(model: Any, path: AttentionPath | None, texts: list[tuple[list[int], list[int]]],
              n_vocab: int) -> np.ndarray:  # fmt: skip
    """Teacher-forced next-token log-probabilities over every answer token of ``texts``
    (the prompt in 128-token chunks, the answer in chunks of 16: the engine evaluates
    an earlier answer as prompt, and generates one token at a time)."""
    ctx = _context(model, path, 1)
    batch = DecodeBatch(llama_cpp, 512)
    rows = []
    try:
        for prompt, answer in texts:
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            _evaluate(batch, ctx, prompt[:-1], 0, 128)
            tokens = prompt + answer
            for first in range(len(prompt) - 1, len(tokens) - 1, 16):
                piece = tokens[first : min(first + 16, len(tokens) - 1)]
                _decode(batch, ctx, [(t, first + i, 0, True) for i, t in enumerate(piece)])
                for i in range(len(piece)):
                    logits = llama_cpp.llama_get_logits_ith(ctx, i)
                    row = np.ctypeslib.as_array(logits, shape=(n_vocab,)).astype(np.float64)
                    row -= row.max()
                    rows.append(row - np.log(np.exp(row).sum()))
    finally:
        batch.close()
        llama_cpp.llama_free(ctx)
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=20, help=f"at most {len(QUESTIONS)}")
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the default model)")
    args = parser.parse_args()
    path = (args.model or Settings.from_env().default_model).resolve()
    llm = llama_cpp.Llama(str(path), n_ctx=256, n_threads=2, verbose=False)
    model = llm._model.model
    n_vocab = llm.n_vocab()
    vocab = llama_cpp.llama_model_get_vocab(model)
    ends = {t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)}
    timed: dict[str, float] = {}
    parts: dict[str, dict[str, float]] = {p.name: {} for p in PATHS}
    for _ in tqdm(range(args.rounds), desc="rounds"):
        for p in PATHS:
            seconds = attention._apart(
                lambda p=p: [attention._timed(llama_cpp, model, 2, p, attention.SEQUENCES)]
            )[0]
            timed[p.name] = min(timed.get(p.name, float("inf")), seconds * 1000)
            found = _apart(model, p)
            for name, ms in found.items():
                parts[p.name][name] = min(parts[p.name].get(name, float("inf")), ms)
    auto = attention._pick(list(PATHS), [timed[p.name] for p in PATHS])
    prompts = _prompts(llm, args.prompts)
    reference = greedy(model, None, prompts, n_vocab, ends)
    texts = list(zip(prompts, reference, strict=True))
    truth = log_probs(model, None, texts, n_vocab)
    answers = {p.name: greedy(model, p, prompts, n_vocab, ends) for p in PATHS}
    results: dict[str, Any] = {"model": path.name, "auto": auto.name, "paths": {}}
    for p in PATHS:
        same, share = same_answers(answers[p.name], reference)
        as_server, _ = same_answers(answers[p.name], answers["flash/f16"])
        kl, top = closeness(log_probs(model, p, texts, n_vocab), truth)
        results["paths"][p.name] = {
            "engine_timing_ms": timed[p.name],
            "waits_ms": parts[p.name],
            "same_answers_as_f32": same,
            "shared_prefix_with_f32": share,
            "same_answers_as_flash_f16": as_server,
            "kl_from_f32": kl,
            "top1_as_f32": top,
            "prompts": args.prompts,
            "tokens_scored": len(truth),
        }
    llm.close()
    print(
        f"attention paths of {path.name}, best of {args.rounds} rounds (ms); auto takes {auto.name}"
    )
    print(
        f"{'path':>10} {'timing':>7} {'chunk 13':>9} {'step 1':>7} {'@2000':>6} {'step 1':>7} "
        f"{'step 8':>7} {'8 @300':>7} {'as F32':>7} {'prefix':>7} {'KL':>8} {'top-1':>6}"
    )
    for name, r in results["paths"].items():
        w = r["waits_ms"]
        print(
            f"{name:>10} {r['engine_timing_ms']:>7.0f} {w['chunk_13_after_300']:>9.1f} "
            f"{w['step_1_after_300']:>7.1f} {w['chunk_13_after_2000']:>6.1f} "
            f"{w['step_1_after_2000']:>7.1f} {w['step_8_after_40']:>7.1f} "
            f"{w['step_8_after_300']:>7.1f} {r['same_answers_as_f32']:>3}/{r['prompts']:<3} "
            f"{r['shared_prefix_with_f32']:>7.2f} {r['kl_from_f32']:>8.5f} {r['top1_as_f32']:>6.3f}"
        )
    print(
        "timing: the engine's own measurement (engine/attention.py); chunk 13: a 13-token "
        "chunk after 300 tokens; step 1: one sequence's step after them; @2000: the chunk "
        "after 2,000 tokens, and the step after it; step 8: eight "
        "sequences' step after 40 tokens each (8 @300: after 300 each); as F32: greedy "
        "answers token for token the plain path's over an F32 cache, prefix: their mean "
        "share before the first difference; KL, top-1: teacher-forced against it"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "attention_paths.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
