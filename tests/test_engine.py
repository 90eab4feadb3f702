"""The llama-cpp-python engine: model files, chat template from metadata, threads, generation."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline_assistants import ModelFileError
from offline_assistants.config import Settings
from offline_assistants.engine import ChatMessage, Grammar, Sampling, resolve_model
from offline_assistants.engine import sampler as sampler_module
from offline_assistants.engine.grammar import GrammarBuilder
from offline_assistants.engine.llama import LlamaEngine
from offline_assistants.engine.sampler import TEMPLATES_KEPT

from .conftest import JSON_QUESTION


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(ModelFileError) as caught:
        LlamaEngine(missing, n_threads=1, n_ctx=512)
    assert str(missing) in caught.value.message and "scripts/setup" in caught.value.message


def test_truncated_gguf_is_a_clear_error(tmp_path: Path, model_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(model_path.read_bytes()[:4096])
    with pytest.raises(ModelFileError) as caught:
        LlamaEngine(broken, n_threads=1, n_ctx=512, progress=False)
    assert str(broken) in caught.value.message


def test_prompt_uses_the_files_chat_template(real_engine: LlamaEngine) -> None:
    template = real_engine._llama.metadata["tokenizer.chat_template"]
    assert "<|im_start|>" in template  # SmolLM2 ships a ChatML template
    tokens = real_engine.prompt_tokens([ChatMessage("system", "S"), ChatMessage("user", "U")])
    text = real_engine._llama.detokenize(tokens, special=True).decode()
    assert (
        text
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )


def test_generation_is_deterministic_at_temperature_zero(real_engine: LlamaEngine) -> None:
    prompt = real_engine.prompt_tokens([ChatMessage("user", "Name a colour.")])
    outputs = []
    for _ in range(2):
        stream = real_engine.generate(prompt, max_tokens=12, sampling=Sampling(temperature=0.0))
        outputs.append("".join(stream))
        assert stream.completion_tokens <= 12 and stream.finish_reason in ("stop", "length")
    assert outputs[0] == outputs[1] and outputs[0]


def test_stopping_early_stops_generation(real_engine: LlamaEngine) -> None:
    prompt = real_engine.prompt_tokens([ChatMessage("user", "Count from 1 to 1000.")])
    stream = real_engine.generate(prompt, max_tokens=500, sampling=Sampling(temperature=0.0))
    for count, _ in enumerate(stream, start=1):
        if count == 3:
            break
    assert stream.completion_tokens == 3


def test_json_object_constraint(real_engine: LlamaEngine) -> None:
    import json

    prompt = real_engine.prompt_tokens(
        [
            ChatMessage(
                "system",
                "You are a personal math tutor. Answer questions briefly, in a sentence or less.",
            ),
            ChatMessage("user", JSON_QUESTION),
        ]
    )
    stream = real_engine.generate(
        prompt, max_tokens=400, sampling=Sampling(temperature=0.0), grammar=json_object()
    )
    text = "".join(stream)
    assert stream.finish_reason == "stop"
    assert isinstance(json.loads(text), dict)


def test_model_resolution(tmp_path: Path) -> None:
    settings = Settings.from_env()
    assert resolve_model("default", settings) == settings.default_model
    assert resolve_model("gpt-4o", settings) == settings.default_model
    assert resolve_model(str(settings.default_model), settings) == settings.default_model.resolve()
    with pytest.raises(ModelFileError):
        resolve_model(str(tmp_path / "x.gguf"), settings)


def test_settings_use_every_core_by_default(tmp_path: Path) -> None:
    import os

    settings = Settings.from_env({"OFFLINE_ASSISTANTS_DATA_DIR": str(tmp_path)})
    assert settings.n_threads == len(os.sched_getaffinity(0)) and settings.adaptive_threads
    fixed = Settings.from_env({"OFFLINE_ASSISTANTS_THREADS": "1"})
    assert fixed.n_threads == 1 and not fixed.adaptive_threads
    assert settings.data_dir == tmp_path
    explicit = Settings.from_env({"OFFLINE_ASSISTANTS_DATA_DIR": "/elsewhere"}, data_dir=tmp_path)
    assert explicit.data_dir == tmp_path  # the argument wins over the environment


def json_object() -> Grammar:
    builder = GrammarBuilder()
    return Grammar(builder.render(builder.primitive("object")))


def test_sampling_under_a_grammar_draws_what_free_sampling_draws(real_engine: LlamaEngine) -> None:
    """Where the grammar allows everything, the grammar sampler (chain first, grammar
    vetting the pick) must draw the very tokens free sampling draws, seed for seed."""
    prompt = real_engine.prompt_tokens([ChatMessage("user", "Name a colour.")])
    anything = Grammar(r"root ::= [^\x01]*")

    def drawn(grammar: Grammar | None, seed: int) -> str:
        sampling = Sampling(temperature=1.0, top_p=0.95, min_p=0.05, seed=seed)
        return "".join(
            real_engine.generate(prompt, max_tokens=4, sampling=sampling, grammar=grammar)
        )

    free = [drawn(None, seed) for seed in range(12)]
    assert len(set(free)) > 3  # really sampling
    assert [drawn(anything, seed) for seed in range(12)] == free


def test_each_sequence_gets_a_fresh_copy_of_its_settings_chain(real_engine: LlamaEngine) -> None:
    """Chains are built once per setting and copied per sequence (DRY's set-up scans the
    vocabulary): a copy starts fresh however much an earlier one sampled, a seed still
    decides the draws, and an unseeded draw is not copied from the template."""
    prompt = real_engine.prompt_tokens([ChatMessage("user", "Tell me a story about a fox.")])

    def drawn(seed: int | None, dry: float = 0.8) -> str:
        sampling = Sampling(temperature=1.0, top_p=0.95, seed=seed, dry_multiplier=dry)
        return "".join(real_engine.generate(prompt, max_tokens=24, sampling=sampling))

    first = drawn(7)
    assert [drawn(7) for _ in range(3)] == [first] * 3
    assert drawn(8) != first
    unseeded = {drawn(None) for _ in range(4)}
    assert len(unseeded) > 1, unseeded
    # A copy carries the setting's DRY: at temperature 0 with DRY as strong as it goes an
    # answer that repeats itself ("1234567890123456789...") changes; without DRY it is the
    # plain greedy one, every time.
    repeating = "Count from 1 to 1000, separated by commas."
    counting = real_engine.prompt_tokens([ChatMessage("user", repeating)])

    def greedy(dry: float) -> str:
        sampling = Sampling(temperature=0.0, dry_multiplier=dry)
        return "".join(real_engine.generate(counting, max_tokens=64, sampling=sampling))

    plain = greedy(0.0)
    assert greedy(0.0) == plain
    assert greedy(5.0) != plain
    assert greedy(5.0) == greedy(5.0)
    native = real_engine._native
    for k in range(TEMPLATES_KEPT + 4):  # settings of their own: the oldest are let go
        drawn(1, dry=0.5 + k / 100)
    assert len(native.templates) == TEMPLATES_KEPT


def test_greedy_under_dry_picks_what_the_whole_chain_picks(
    real_engine: LlamaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At temperature 0 a chain that only lowers logits (DRY, as runs have it) is asked
    about the likeliest token alone, and the whole vocabulary goes through it only when
    that token is lowered: the answers are those of the whole chain every time, token for
    token, with DRY mild and with DRY strong enough to turn a count aside."""
    counting = real_engine.prompt_tokens(
        [ChatMessage("user", "Count from 1 to 1000, separated by commas.")]
    )
    made: list[object] = []
    original = real_engine.sampler

    def recording(sampling: Sampling, grammar: object) -> object:
        made.append(original(sampling, grammar))
        return made[-1]

    monkeypatch.setattr(real_engine, "sampler", recording)

    def greedy(dry: float) -> str:
        sampling = Sampling(temperature=0.0, dry_multiplier=dry)
        return "".join(real_engine.generate(counting, max_tokens=64, sampling=sampling))

    quick = {dry: greedy(dry) for dry in (0.8, 5.0)}
    picked = sum(getattr(s, "shortcuts", 0) for s in made)
    # most tokens come from the likeliest alone; where DRY lowered it (the strong DRY
    # turns the count aside) the whole vocabulary went through the chain
    assert 64 < picked < 128
    monkeypatch.setattr(sampler_module, "only_lowers", lambda sampling: False)
    made.clear()
    assert {dry: greedy(dry) for dry in (0.8, 5.0)} == quick
    assert sum(getattr(s, "shortcuts", 0) for s in made) == 0
