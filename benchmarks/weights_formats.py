"""Which weights format the default model should run as: speed and answers, side by side.

The default model ships as Q4_1. llama.cpp can write the same weights in another
format (``llama_model_quantize`` with ``allow_requantize``); set-up does that once
(``scripts/fetch_model.py``). For the shipped file and each format written from it:

- size on disk;
- prompt evaluation (tokens/s: a 512-token prompt in the engine's 128-token chunks);
- decoding one sequence, and eight sequences in one ``llama_decode`` per step
  (tokens/s, raw llama.cpp, greedy), so the batch gain of each format is shown too;
- the answers: greedy chat answers to ``--prompts`` questions (48 tokens each) and
  how many are token for token those of the shipped Q4_1, with the mean share of
  tokens before the first difference.

All on the same cores, in turns, ``--rounds`` times (best round kept: these machines
are noisy, and a format's speed is what it reaches, not what a neighbour left it).

    .venv/bin/python benchmarks/weights_formats.py [--rounds 2] [--prompts 16]
        [--formats Q4_1 Q8_0 Q4_0 F16]

Prints a table and writes benchmarks/results/weights_formats.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp._internals import LlamaContext
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from offline_assistants.config import Settings  # noqa: E402
from offline_assistants.engine.attention import PATHS, AttentionPath, configure  # noqa: E402
from offline_assistants.engine.llama import requantize  # noqa: E402

RESULTS = HERE / "results"
SHIPPED = "Q4_1"
SEQUENCES = 8
QUESTIONS = [
    "Explain why the sky is blue.",
    "Write a short poem about the sea.",
    "What is the capital of France, and why is it famous?",
    "Describe how to make a cup of tea.",
    "What is 7 times 8? Show your working.",
    "Describe a cat to someone who has never seen one.",
    "Give three tips for learning a language.",
    "Why do leaves change colour in autumn?",
    "What is a prime number? Give examples.",
    "Tell me about the moon.",
    "How does a bicycle stay upright?",
    "What makes bread rise?",
    "Summarise the plot of Romeo and Juliet.",
    "What is photosynthesis?",
    "List four planets of the solar system.",
    "How do I boil an egg?",
    "What is the difference between weather and climate?",
    "Why do we need sleep?",
    "Name three famous painters.",
    "What does a database do?",
]


def load(
    path: Path, sequences: int, attention: str = "flash/f16"
) -> tuple[llama_cpp.Llama, LlamaContext]:
    """The model, and a context of ``sequences`` streams of 1,024 tokens, attending as
    ``attention`` names (:data:`~offline_assistants.engine.attention.PATHS`; by default
    flash attention over F16, llama-server's; the engine takes the faster here)."""
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=1024,
        n_batch=128,
        n_ubatch=128,
        n_threads=2,
        n_threads_batch=2,
        verbose=False,
    )
    params = type(llm.context_params).from_buffer_copy(llm.context_params)
    params.n_ctx = 1024 * sequences
    params.n_seq_max = sequences
    params.kv_unified = False
    chosen = AttentionPath.named(attention)
    if chosen is None:
        raise ValueError(f"no attention path {attention!r}: {[p.name for p in PATHS]}")
    configure(llama_cpp, params, chosen)
    return llm, LlamaContext(model=llm._model, params=params, verbose=False)


def _decode(ctx: LlamaContext, batch: Any, rows: list[tuple[int, int, int]]) -> None:
    """``rows``: (token, position, sequence), logits for each."""
    batch.n_tokens = len(rows)
    for i, (token, position, seq) in enumerate(rows):
        batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, position, 1
        batch.seq_id[i][0], batch.logits[i] = seq, True
    if llama_cpp.llama_decode(ctx.ctx, batch) != 0:
        raise RuntimeError("llama_decode failed")


def speeds(path: Path, n_vocab: int, attention: str = "flash/f16") -> dict[str, float]:
    llm, ctx = load(path, SEQUENCES, attention)
    batch = llama_cpp.llama_batch_init(512, 0, 1)
    try:
        prompt = llm.tokenize(("The library opens at nine and closes at six. " * 60).encode())
        prompt = prompt[:512]
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx.ctx), True)
        started = time.perf_counter()
        for start in range(0, len(prompt), 128):
            chunk = prompt[start : start + 128]
            _decode(ctx, batch, [(t, start + i, 0) for i, t in enumerate(chunk)])
        prompt_speed = len(prompt) / (time.perf_counter() - started)

        def generate(sequences: int, steps: int) -> float:
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx.ctx), True)
            heads = [llm.tokenize(q.encode()) for q in QUESTIONS[:sequences]]
            for seq, head in enumerate(heads):
                _decode(ctx, batch, [(t, i, seq) for i, t in enumerate(head)])
            tokens = [head[-1] for head in heads]
            positions = [len(head) for head in heads]
            started = time.perf_counter()
            for _ in range(steps):
                _decode(ctx, batch, [(tokens[s], positions[s], s) for s in range(sequences)])
                for s in range(sequences):
                    logits = llama_cpp.llama_get_logits_ith(ctx.ctx, s)
                    tokens[s] = int(np.ctypeslib.as_array(logits, shape=(n_vocab,)).argmax())
                    positions[s] += 1
            return sequences * steps / (time.perf_counter() - started)

        one = generate(1, 64)
        many = generate(SEQUENCES, 32)
    finally:
        llama_cpp.llama_batch_free(batch)
        ctx.close()  # type: ignore[no-untyped-call]
        llm.close()
    return {"prompt": prompt_speed, "decode_1": one, f"decode_{SEQUENCES}": many}


def answers(path: Path, prompts: int) -> list[tuple[list[int], list[int]]]:
    """Greedy chat answers: (prompt tokens, answer tokens) per question."""
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=512, n_threads=2, verbose=False)
    try:
        out = []
        for question in QUESTIONS[:prompts]:
            messages = [{"role": "user", "content": question}]
            reply = llm.create_chat_completion(messages, temperature=0, max_tokens=48)
            text = reply["choices"][0]["message"]["content"] or ""
            prompt = llm.tokenize(_templated(llm, question).encode(), add_bos=False, special=True)
            out.append((prompt, llm.tokenize(text.encode(), add_bos=False)))
    finally:
        llm.close()
    return out


def _templated(llm: llama_cpp.Llama, question: str) -> str:
    from jinja2 import Template

    template = Template(llm.metadata["tokenizer.chat_template"])
    return template.render(
        messages=[{"role": "user", "content": question}], add_generation_prompt=True
    )


def same_answers(ours: list[list[int]], shipped: list[list[int]]) -> tuple[int, float]:
    """Answers identical to the shipped file's, and the mean share of tokens before the
    first difference (greedy decoding diverges for good at the first different token)."""
    same, shares = 0, []
    for a, b in zip(ours, shipped, strict=True):
        same += a == b
        prefix = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )
        shares.append(prefix / max(len(a), len(b), 1))
    return same, float(np.mean(shares))


def log_probs(path: Path, texts: list[tuple[list[int], list[int]]], n_vocab: int) -> np.ndarray:
    """Teacher-forced next-token log-probabilities over every answer token of ``texts``
    (prompt + answer, each evaluated alone): one row per predicted token."""
    llm, ctx = load(path, 1)
    batch = llama_cpp.llama_batch_init(512, 0, 1)
    rows = []
    try:
        for prompt, answer in texts:
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx.ctx), True)
            tokens = prompt + answer
            for start in range(0, len(tokens), 128):
                chunk = tokens[start : start + 128]
                _decode(ctx, batch, [(t, start + i, 0) for i, t in enumerate(chunk)])
                for i in range(len(chunk)):
                    if len(prompt) - 1 <= start + i < len(tokens) - 1:
                        logits = llama_cpp.llama_get_logits_ith(ctx.ctx, i)
                        row = np.ctypeslib.as_array(logits, shape=(n_vocab,)).astype(np.float64)
                        row -= row.max()
                        rows.append(row - np.log(np.exp(row).sum()))
    finally:
        llama_cpp.llama_batch_free(batch)
        ctx.close()  # type: ignore[no-untyped-call]
        llm.close()
    return np.array(rows)


def closeness(ours: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Mean KL divergence from the reference's next-token distributions, and how often
    both put the same token first."""
    kl = (np.exp(reference) * (reference - ours)).sum(axis=1)
    top = (ours.argmax(axis=1) == reference.argmax(axis=1)).mean()
    return float(kl.mean()), float(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=16, help=f"at most {len(QUESTIONS)}")
    parser.add_argument("--formats", nargs="+", default=["Q4_1", "Q8_0", "Q4_0", "F16"])
    parser.add_argument("--model", type=Path, help="the shipped Q4_1 (default: the default's)")
    args = parser.parse_args()
    settings = Settings.from_env()
    source = (args.model or settings.models_dir / "SmolLM2-135M-Instruct.Q4_1.gguf").resolve()
    results: dict[str, Any] = {"model": source.name, "formats": {}}
    with tempfile.TemporaryDirectory() as scratch:
        files = {SHIPPED: source}
        for kind in args.formats:
            if kind != SHIPPED:
                files[kind] = Path(scratch) / f"{kind}.gguf"
                requantize(source, files[kind], kind)
        n_vocab = llama_cpp.Llama(str(source), vocab_only=True, verbose=False).n_vocab()
        best: dict[str, dict[str, float]] = {kind: {} for kind in files}
        for _ in tqdm(range(args.rounds), desc="rounds"):
            for kind, path in files.items():
                for name, value in speeds(path, n_vocab).items():
                    best[kind][name] = max(best[kind].get(name, 0.0), value)
        shipped = answers(source, args.prompts)
        reference = Path(scratch) / "F32.gguf"
        requantize(source, reference, "F32")
        truth = log_probs(reference, shipped, n_vocab)
        for kind, path in files.items():
            same, share = same_answers(
                [a for _, a in answers(path, args.prompts)], [a for _, a in shipped]
            )
            kl, top = closeness(log_probs(path, shipped, n_vocab), truth)
            results["formats"][kind] = {
                "mib": path.stat().st_size / 2**20,
                "tokens_per_s": best[kind],
                "batch_gain": best[kind][f"decode_{SEQUENCES}"] / best[kind]["decode_1"],
                "same_answers": same,
                "prompts": args.prompts,
                "shared_prefix": share,
                "kl_from_f32": kl,
                "top1_as_f32": top,
                "tokens_scored": len(truth),
            }
    print(f"weights formats of {source.name}, best of {args.rounds} rounds, tokens/s:")
    print(
        f"{'format':>7} {'MiB':>6} {'prompt':>7} {'dec 1':>6} {'dec 8':>6} {'gain':>5} "
        f"{'same answers':>13} {'prefix':>7} {'KL':>7} {'top-1':>6}"
    )
    for kind, r in results["formats"].items():
        t = r["tokens_per_s"]
        print(
            f"{kind:>7} {r['mib']:>6.0f} {t['prompt']:>7.0f} {t['decode_1']:>6.1f} "
            f"{t[f'decode_{SEQUENCES}']:>6.1f} {r['batch_gain']:>5.2f} "
            f"{r['same_answers']:>6}/{r['prompts']:<6} {r['shared_prefix']:>7.2f} "
            f"{r['kl_from_f32']:>7.4f} {r['top1_as_f32']:>6.3f}"
        )
    print(
        "same answers: greedy answers token for token the shipped file's; prefix: their "
        "mean share before the first difference; KL, top-1: next-token distributions "
        "against the shipped weights evaluated in F32 (the shipped values, exactly), "
        "teacher-forced over the shipped answers"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "weights_formats.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
