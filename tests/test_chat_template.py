"""Where a chat template comes from, and how conversations are reshaped to what it accepts.

Pure functions of engine/chat_template.py, checked without a model; the template matrix
(tests/test_model_families.py) checks the same through real GGUF files and runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offline_assistants.engine.chat_template import (
    TemplateTraits,
    conform,
    jinja_render,
    probe,
    resolve_template,
)
from offline_assistants.errors import ModelFileError

from .model_families import TEMPLATES

BUILTINS = ["chatml", "gemma", "llama3"]
MODEL = Path("model.gguf")
JINJA = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def test_the_given_template_wins_then_the_files_own() -> None:
    file_template = {"tokenizer.chat_template": JINJA}
    assert resolve_template(None, file_template, MODEL, BUILTINS).origin == (
        "the GGUF file's metadata"
    )
    builtin = resolve_template("gemma", file_template, MODEL, BUILTINS)
    assert builtin.builtin and builtin.text == "gemma"
    assert resolve_template(JINJA, {}, MODEL, BUILTINS).text == JINJA
    path = TEMPLATES / "gemma3-it.jinja"
    from_file = resolve_template(str(path), {}, MODEL, BUILTINS)
    assert from_file.text == path.read_text() and str(path) in from_file.origin


def test_no_template_and_bad_templates_are_clear_errors() -> None:
    with pytest.raises(ModelFileError) as raised:
        resolve_template(None, {}, MODEL, BUILTINS)
    assert raised.value.code == "no_chat_template" and "chatml, gemma, llama3" in str(raised.value)
    with pytest.raises(ModelFileError) as raised:
        resolve_template("/no/such/template.jinja", {}, MODEL, BUILTINS)
    assert raised.value.code == "invalid_chat_template"
    assert "/no/such/template.jinja" in raised.value.message
    with pytest.raises(ModelFileError) as raised:
        jinja_render("{% for m in messages %}", "", "")
    assert raised.value.code == "invalid_chat_template"


def test_probe_reads_what_each_family_accepts() -> None:
    def traits(name: str) -> TemplateTraits:
        return probe(jinja_render((TEMPLATES / name).read_text(), "<bos>", "<eos>"))

    assert traits("qwen2.5.jinja") == TemplateTraits(True, False, "<|im_end|>\n<|im_start|>user")
    gemma2 = traits("gemma2-it.jinja")
    assert (gemma2.system, gemma2.alternation) == (False, True)
    assert gemma2.turn_end.startswith("<end_of_turn>")
    gemma3 = traits("gemma3-it.jinja")
    assert (gemma3.system, gemma3.alternation) == (True, True)
    phi3 = traits("phi3-mini.jinja")
    assert (phi3.system, phi3.alternation) == (False, False)


def test_conform_merges_opens_with_a_user_and_folds_the_system() -> None:
    messages = [
        {"role": "system", "content": "Be kind."},
        {"role": "assistant", "content": "Hi!"},
        {"role": "assistant", "content": "Anyone?"},
        {"role": "user", "content": "Yes."},
        {"role": "user", "content": "Two."},
    ]
    strict = conform(messages, TemplateTraits(system=False, alternation=True))
    assert strict == [
        {"role": "user", "content": "Be kind."},
        {"role": "assistant", "content": "Hi!\n\nAnyone?"},
        {"role": "user", "content": "Yes.\n\nTwo."},
    ]
    assert messages[1] == {"role": "assistant", "content": "Hi!"}  # the input is kept
    assert conform(messages, TemplateTraits()) == messages  # a lenient template: as is
    calls = [
        {"role": "user", "content": "Go."},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a"}]},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "b"}]},
    ]
    assert conform(calls, TemplateTraits(alternation=True)) == calls  # calls stay apart
