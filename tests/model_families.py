"""GGUF files of other model families, made from the default model's weights.

Users bring Qwen, Llama 3.x, Mistral, Gemma and Phi files. Their weights are not
needed to test what the runtime does with their chat templates and special
tokens: :func:`write_family` copies the default model (the ``gguf`` package's
reader and writer; nothing is fetched) with another family's chat template and
special tokens written into the metadata. Turn delimiters take over the ids of
SmolLM2's own (``<|im_start|>`` 1, ``<|im_end|>`` 2), so the copy still ends its
answers where the real family's model would: at the family's end-of-turn token.

The templates in ``tests/data/templates`` are written to behave as the families'
published ones do: Gemma's raise unless user and assistant alternate (Gemma 2's
also on a system message), Mistral v0.3's too and it wants nine-character call
ids, Phi-3 mini's drops the system role without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES = Path(__file__).parent / "data" / "templates"
CONTROL = 3  # gguf.TokenType.CONTROL
USER_DEFINED = 4  # gguf.TokenType.USER_DEFINED: one token, read and written as its text


@dataclass(frozen=True)
class Family:
    name: str
    template: str | None  # file in tests/data/templates; None: no template at all
    tokens: dict[int, str] = field(default_factory=dict)  # id -> the family's token text
    bos: int = 1
    eos: int = 2
    add_bos: bool = False
    # id -> an added token that is text, not control (Qwen3's and DeepSeek's <think>)
    text_tokens: dict[int, str] = field(default_factory=dict)

    @property
    def template_text(self) -> str | None:
        return None if self.template is None else (TEMPLATES / self.template).read_text()

    @property
    def markers(self) -> list[str]:
        """Special-token texts that must never show in a message."""
        return [text for text in self.tokens.values() if text.startswith(("<", "["))]


GEMMA_TOKENS = {0: "<bos>", 1: "<start_of_turn>", 2: "<end_of_turn>", 3: "<eos>"}
PHI_TOKENS = {1: "<|user|>", 2: "<|end|>", 3: "<|assistant|>", 5: "<|system|>"}
FAMILIES = [
    Family("qwen2.5", "qwen2.5.jinja", {1: "<|im_start|>", 2: "<|im_end|>"}),
    Family(
        "llama3.1",
        "llama3.1.jinja",
        {
            0: "<|begin_of_text|>",
            1: "<|start_header_id|>",
            2: "<|eot_id|>",
            3: "<|end_header_id|>",
            5: "<|python_tag|>",
        },
        bos=0,
        add_bos=True,
    ),
    Family(
        "mistral-v0.3",
        "mistral-v0.3.jinja",
        {
            0: "<s>",
            1: "[INST]",
            2: "</s>",
            3: "[/INST]",
            5: "[TOOL_CALLS]",
            6: "[AVAILABLE_TOOLS]",
            7: "[/AVAILABLE_TOOLS]",
            8: "[TOOL_RESULTS]",
            9: "[/TOOL_RESULTS]",
        },
        bos=0,
        add_bos=True,
    ),
    # As in Gemma files: <eos> is EOS, <end_of_turn> ends a turn.
    *(
        Family(name, f"{name}.jinja", GEMMA_TOKENS, 0, 3, True)
        for name in ("gemma2-it", "gemma3-it")
    ),
    # EOS is <|endoftext|>; <|end|> ends a turn.
    *(Family(name, f"{name}.jinja", PHI_TOKENS, 0, 0) for name in ("phi3-mini", "phi3.5-mini")),
]
NO_TEMPLATE = Family("no-template", None)
# Reasoning families (tests/reasoning/): <think> and </think> are single added
# tokens, as in their files: the distill's copy marks them control tokens, Qwen3's text,
# so both ways a file may mark them are covered. The distill's template opens <think> in
# the generation prompt; Qwen3's leaves it to the model, or closes it at once with
# enable_thinking off.
THINK_TOKENS = {10: "<think>", 11: "</think>"}
# gpt-oss speaks Harmony: messages open with <|start|> (SmolLM2's <|im_start|>) and end with
# <|end|> (its <|im_end|>); <|return|> (EOS) ends the final answer, <|call|> a tool call.
HARMONY_TOKENS = {
    0: "<|endoftext|>",
    1: "<|start|>",
    2: "<|end|>",
    3: "<|message|>",
    4: "<|channel|>",
    5: "<|constrain|>",
    6: "<|return|>",
    7: "<|call|>",
    8: "<|startoftext|>",
}
GPT_OSS = Family("gpt-oss", "gpt-oss.jinja", HARMONY_TOKENS, bos=8, eos=6)
REASONING_FAMILIES = [
    Family(
        "deepseek-r1-distill",
        "deepseek-r1-distill.jinja",
        {
            0: "<｜begin▁of▁sentence｜>",
            1: "<｜Assistant｜>",
            2: "<｜end▁of▁sentence｜>",
            3: "<｜User｜>",
            **THINK_TOKENS,
        },
        bos=0,
    ),
    Family("qwen3", "qwen3.jinja", {1: "<|im_start|>", 2: "<|im_end|>"}, text_tokens=THINK_TOKENS),
    Family(
        "smollm3", "smollm3.jinja", {1: "<|im_start|>", 2: "<|im_end|>"}, text_tokens=THINK_TOKENS
    ),
    GPT_OSS,
]


def write_family(source: Path, target: Path, family: Family) -> Path:
    """Copy the GGUF at ``source`` to ``target`` with ``family``'s template and tokens."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = gguf.GGUFReader(source, "r")
    tokens_field = reader.fields[gguf.Keys.Tokenizer.LIST]
    types_field = reader.fields[gguf.Keys.Tokenizer.TOKEN_TYPE]
    tokens = list(tokens_field.contents())
    types = list(types_field.contents())
    for token_id, text in family.tokens.items():
        tokens[token_id] = text
        types[token_id] = CONTROL
    for token_id, text in family.text_tokens.items():
        tokens[token_id] = text
        types[token_id] = USER_DEFINED
    array, string = gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING
    new: dict[str, MetadataDetails] = {
        gguf.Keys.Tokenizer.LIST: MetadataDetails(array, tokens, sub_type=string),
        gguf.Keys.Tokenizer.TOKEN_TYPE: MetadataDetails(
            array, types, sub_type=gguf.GGUFValueType.INT32
        ),
        gguf.Keys.Tokenizer.BOS_ID: MetadataDetails(gguf.GGUFValueType.UINT32, family.bos),
        gguf.Keys.Tokenizer.EOS_ID: MetadataDetails(gguf.GGUFValueType.UINT32, family.eos),
        gguf.Keys.Tokenizer.ADD_BOS: MetadataDetails(gguf.GGUFValueType.BOOL, family.add_bos),
    }
    removed = []
    if family.template_text is None:
        removed.append(gguf.Keys.Tokenizer.CHAT_TEMPLATE)
    else:
        new[gguf.Keys.Tokenizer.CHAT_TEMPLATE] = MetadataDetails(string, family.template_text)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(target, arch=str(arch), endianess=reader.endianess)
    copy_with_new_metadata(reader, writer, new, removed)
    return target
