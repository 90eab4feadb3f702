"""The default model's weights as Q8_0, written from the shipped Q4_1.

``scripts/fetch_model.py --weights Q8_0`` writes the shipped file again as Q8_0
(llama.cpp's fastest format on a CPU; ``benchmarks/weights_formats.py``) and
:mod:`offline_assistants.config` picks that file when it is there. These tests write the file themselves from the real
shipped model, check what llama.cpp wrote, that the runtime prefers it, and that it
predicts the next token as the shipped weights do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import llama_cpp
import pytest
from benchmarks.weights_formats import answers, closeness, log_probs

from offline_assistants.config import (
    DEFAULT_MODEL_FILE,
    PREPARED_FORMAT,
    Settings,
    prepared_file,
)
from offline_assistants.engine.gguf_metadata import read_metadata
from offline_assistants.engine.llama import requantize
from offline_assistants.errors import ModelFileError

ROOT = Path(__file__).resolve().parent.parent
LLAMA_FTYPE_MOSTLY_Q8_0 = 7  # general.file_type


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = Settings.from_env().models_dir / DEFAULT_MODEL_FILE
    if not source.is_file():
        pytest.fail(f"the shipped default model is missing at {source}: run scripts/setup")
    return source


@pytest.fixture(scope="module")
def prepared(shipped: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = prepared_file(tmp_path_factory.mktemp("models") / shipped.name)
    requantize(shipped, target, PREPARED_FORMAT)
    return target


def test_the_prepared_file_is_q8_0_named_for_its_format(shipped: Path, prepared: Path) -> None:
    assert prepared.name == "SmolLM2-135M-Instruct.Q8_0.gguf"
    metadata = read_metadata(prepared)
    assert metadata["general.file_type"] == LLAMA_FTYPE_MOSTLY_Q8_0
    assert read_metadata(shipped)["general.file_type"] != LLAMA_FTYPE_MOSTLY_Q8_0
    # Everything but the weights is the shipped file's: vocabulary, template, names.
    same = ("tokenizer.chat_template", "general.name", "llama.context_length")
    assert {k: metadata[k] for k in same} == {k: read_metadata(shipped)[k] for k in same}
    assert not prepared.with_name(prepared.name + ".partial").exists()


def test_it_predicts_as_the_shipped_weights_do_and_q4_0_would_not(
    shipped: Path, prepared: Path, tmp_path: Path
) -> None:
    """Teacher-forced over the shipped file's own greedy answers, against the shipped
    values evaluated exactly (F32): the Q8_0 puts the same token first nearly always and
    its distributions barely differ; Q4_0, faster still, is a second rounding that does
    not pass the same bar (benchmarks/weights_formats.py has the full figures)."""
    texts = answers(shipped, 4)
    n_vocab = int(llama_cpp.Llama(str(shipped), vocab_only=True, verbose=False).n_vocab())
    reference = tmp_path / "F32.gguf"
    requantize(shipped, reference, "F32")
    truth = log_probs(reference, texts, n_vocab)
    assert len(truth) >= 40  # every answer token scored
    kl, top = closeness(log_probs(prepared, texts, n_vocab), truth)
    assert kl < 0.02 and top > 0.9, (kl, top)
    requantize(shipped, tmp_path / "Q4_0.gguf", "Q4_0")
    kl, top = closeness(log_probs(tmp_path / "Q4_0.gguf", texts, n_vocab), truth)
    assert kl > 0.02 or top < 0.9, (kl, top)


def test_the_runtime_uses_the_prepared_file_when_it_is_there(shipped: Path, tmp_path: Path) -> None:
    env = {"OFFLINE_ASSISTANTS_MODELS_DIR": str(tmp_path)}
    (tmp_path / DEFAULT_MODEL_FILE).symlink_to(shipped)
    assert Settings.from_env(env).default_model == tmp_path / DEFAULT_MODEL_FILE
    prepared_file(tmp_path / DEFAULT_MODEL_FILE).write_bytes(b"GGUF")
    assert (
        Settings.from_env(env).default_model.name == f"SmolLM2-135M-Instruct.{PREPARED_FORMAT}.gguf"
    )
    given = {**env, "OFFLINE_ASSISTANTS_MODEL": str(shipped)}
    assert Settings.from_env(given).default_model == shipped


def test_fetch_model_writes_it_when_asked_and_once(shipped: Path, tmp_path: Path) -> None:
    """scripts/fetch_model.py on a models folder holding the shipped file (no download:
    its checksum matches)."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "fetch_model.py", checkout / "scripts")
    (checkout / "src").symlink_to(ROOT / "src")
    (checkout / "models").mkdir()
    (checkout / "models" / DEFAULT_MODEL_FILE).symlink_to(shipped)
    script = [sys.executable, str(checkout / "scripts" / "fetch_model.py"), "default"]
    env = {**os.environ, "PIP_NO_INDEX": "1"}  # nothing may be downloaded here
    kept = subprocess.run(script, capture_output=True, text=True, env=env)
    assert kept.returncode == 0, kept.stderr
    target = prepared_file(checkout / "models" / DEFAULT_MODEL_FILE)
    assert not target.exists()
    script += ["--weights", "Q8_0"]
    first = subprocess.run(script, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert f"wrote models/{target.name}" in first.stdout
    assert read_metadata(target)["general.file_type"] == LLAMA_FTYPE_MOSTLY_Q8_0
    again = subprocess.run(script, capture_output=True, text=True, env=env)
    assert f"models/{target.name} is in place" in again.stdout, again.stdout


def test_a_format_llama_cpp_lacks_or_a_bad_file_is_a_clear_error(
    shipped: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="no weights format 'Q9_9'"):
        requantize(shipped, tmp_path / "x.gguf", "Q9_9")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="could not write"):
        requantize(broken, tmp_path / "y.gguf", PREPARED_FORMAT)
    assert not (tmp_path / "y.gguf").exists()
    assert not (tmp_path / "y.gguf.partial").exists()


def test_set_up_wrote_the_q8_0_and_the_suite_runs_on_it(shipped: Path) -> None:
    """The README's commands (set-up, then the demo or the suite) run on the Q8_0: a
    set-up that stopped writing it would leave every user on the slow Q4_1."""
    if "OFFLINE_ASSISTANTS_MODEL" in os.environ:
        pytest.skip("OFFLINE_ASSISTANTS_MODEL names the model for this run")
    default = Settings.from_env().default_model
    assert default == prepared_file(shipped)
    assert read_metadata(default)["general.file_type"] == LLAMA_FTYPE_MOSTLY_Q8_0
