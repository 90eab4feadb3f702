"""How the next token is chosen: llama.cpp's sampler chain, with the grammar checked last.

:mod:`.llama` (the only module that imports ``llama_cpp``) hands this module the
library, its sampler-chain class and the loaded model (:class:`Native`); nothing here
imports it.

The chain: repetition penalty, DRY on free text, then greedy at temperature 0 or
top-p / min-p / temperature sampling. All but its last sampler is built once per
setting and copied for each sequence (:func:`sampler_chain`). A grammar, where there is one, is checked
the way llama.cpp's own server does it: the chain picks a token from the raw
logits, the grammar is asked about that one token, and only when it refuses is
the grammar applied to the whole vocabulary and the token picked again. Asking
the grammar about every candidate costs time in proportion to the vocabulary
(Gemma's 262,144 tokens against SmolLM2's 49,152), and at temperature 0 the
result is the same token; when sampling, a token the grammar allows is kept
as drawn. Without a grammar, greedy under a chain that can only lower logits asks
the chain about the likeliest raw token alone, and passes the whole vocabulary
through it only when that token is lowered (:class:`FreeSampler`): the same token.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import InternalError
from .base import Sampling

# DRY sampling (llama.cpp's defaults): a repeat longer than 2 tokens is penalised by
# multiplier × base^(length - 2); these strings end a repeated sequence.
DRY_BASE = 1.75
DRY_ALLOWED_LENGTH = 2
DRY_WINDOW = 1024  # how many recent output tokens DRY looks back over
DRY_BREAKERS = ["\n", ":", '"', "*"]


# Chain templates kept per engine (see ``Native.templates``): distinct settings are few.
TEMPLATES_KEPT = 16


@dataclass(frozen=True)
class Native:
    """What :mod:`.llama` hands over: ``llama_cpp``, its ``LlamaSampler``, the ``Llama``;
    and the engine's chain templates (:func:`sampler_chain`), used on the model's thread
    only."""

    lib: ModuleType
    chain: type
    llama: Any
    templates: dict[tuple[Sampling, bool], Any] = field(default_factory=dict)


def _template(native: Native, sampling: Sampling, free_text: bool) -> Any:
    """The chain's samplers before the last one, built once per setting: DRY's set-up
    scans the whole vocabulary for its breakers (~15 ms for SmolLM2's 49,152 tokens), on
    the model's thread, where every other sequence would wait for it."""
    key = (replace(sampling, seed=None, reasoning_budget=None), free_text)
    template = native.templates.pop(key, None)
    if template is None:
        llama = native.llama
        template = native.chain()
        template.add_penalties(
            n_vocab=llama.n_vocab(),
            penalty_last_n=llama.last_n_tokens_size,
            penalty_repeat=sampling.repeat_penalty,
            penalty_freq=sampling.frequency_penalty,
            penalty_present=sampling.presence_penalty,
        )
        if free_text and sampling.dry_multiplier > 0:
            template.add_dry(
                llama._model,
                sampling.dry_multiplier,
                DRY_BASE,
                DRY_ALLOWED_LENGTH,
                DRY_WINDOW,
                DRY_BREAKERS,
            )
        if sampling.temperature > 0:
            template.add_top_p(sampling.top_p, 1)
            if sampling.min_p > 0:
                template.add_min_p(sampling.min_p, 1)
            template.add_temp(sampling.temperature)
        while len(native.templates) >= TEMPLATES_KEPT:
            native.templates.pop(next(iter(native.templates))).close()
    native.templates[key] = template  # most recently used last
    return template


def sampler_chain(native: Native, sampling: Sampling, free_text: bool) -> Any:
    """llama.cpp's chain for ``sampling`` (a ``LlamaSampler``); DRY only on ``free_text``.
    A copy of the setting's template (fresh state: the template never samples) with the
    last sampler, greedy or a draw from its own seed, added for this sequence."""
    lib = native.lib
    chain = native.chain()
    lib.llama_sampler_free(chain.sampler)
    chain.sampler = lib.llama_sampler_clone(_template(native, sampling, free_text).sampler)
    if sampling.temperature <= 0:
        last = lib.llama_sampler_init_greedy()
    else:
        last = lib.llama_sampler_init_dist(
            lib.LLAMA_DEFAULT_SEED if sampling.seed is None else sampling.seed
        )
    lib.llama_sampler_chain_add(chain.sampler, last)
    return chain


def only_lowers(sampling: Sampling) -> bool:
    """Whether the chain before greedy can only lower logits (penalties of at least 1 and
    0, DRY): then, at temperature 0, the likeliest raw token is the one greedy picks
    unless the chain lowers that very token."""
    return (
        sampling.temperature <= 0
        and sampling.repeat_penalty >= 1.0
        and sampling.frequency_penalty >= 0.0
        and sampling.presence_penalty >= 0.0
    )


class FreeSampler:
    """No grammar: the chain samples from the logits of one row of the last decode.

    Greedy with a chain that only lowers logits (:func:`only_lowers`; the runs' DRY
    setting at temperature 0) asks the chain about the likeliest raw token alone: when
    the chain leaves its logit as it is, every other token can only have been lowered,
    so greedy over the whole vocabulary picks it too (the first of equal maxima either
    way). Only when the chain lowers it does the whole vocabulary go through the chain.
    llama.cpp's DRY looks up every candidate (0.15 ms a token for SmolLM2's 49,152),
    which the batched step of every generating sequence waits for."""

    def __init__(self, native: Native, sampling: Sampling) -> None:
        self._lib = native.lib
        self._chain = sampler_chain(native, sampling, free_text=True)
        self._n_vocab = int(native.llama.n_vocab())
        self._shortcut = only_lowers(sampling)
        entry = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        self._one = np.zeros(1, dtype=entry)
        self.shortcuts = 0  # tokens picked from the likeliest one alone (for tests)

    def sample(self, ctx: Any, row: int = -1) -> int:
        if self._shortcut:
            lib = self._lib
            logits = np.ctypeslib.as_array(
                lib.llama_get_logits_ith(ctx.ctx, row), shape=(self._n_vocab,)
            )
            token = int(logits.argmax())
            raw = logits[token]
            self._one[0] = (token, raw, 0.0)
            pointer = ctypes.cast(self._one.ctypes.data, ctypes.POINTER(lib.llama_token_data))
            single = lib.llama_token_data_array(data=pointer, size=1, selected=-1, sorted=False)
            lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(single))
            if self._one["logit"][0] == raw:  # not lowered: still above every other
                self._chain.accept(token)
                self.shortcuts += 1
                return token
        return int(self._chain.sample(ctx, row))

    def accept(self, token: int) -> None:
        self._chain.accept(token)


class GrammarSampler:
    """The chain picks, the grammar vets that one token, and only a refusal costs a pass
    of the grammar over the whole vocabulary (see the module docstring)."""

    def __init__(self, native: Native, sampling: Sampling, grammar: Any) -> None:
        self._lib = native.lib
        self._chain = sampler_chain(native, sampling, free_text=False)
        self._grammar = native.chain()  # a chain holding only the grammar
        self._grammar.add_grammar(native.llama._model, grammar)
        self._n_vocab = int(native.llama.n_vocab())
        entry = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        self._all = np.zeros(self._n_vocab, dtype=entry)
        self._ids = np.arange(self._n_vocab, dtype=np.int32)
        self._one = np.zeros(1, dtype=entry)

    def _candidates(self, data: np.ndarray) -> Any:
        lib = self._lib
        pointer = ctypes.cast(data.ctypes.data, ctypes.POINTER(lib.llama_token_data))
        return lib.llama_token_data_array(data=pointer, size=len(data), selected=-1, sorted=False)

    def _pick(self, ctx: Any, row: int, vetted: bool) -> int:
        """Apply the chain (after the grammar, when ``vetted``) to batch row ``row``'s logits."""
        logits = self._lib.llama_get_logits_ith(ctx.ctx, row)
        self._all["id"] = self._ids  # samplers sort the array in place: refill all of it
        self._all["logit"] = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        self._all["p"] = 0.0
        candidates = self._candidates(self._all)
        if vetted:
            self._lib.llama_sampler_apply(self._grammar.sampler, ctypes.byref(candidates))
        self._lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates))
        # Read through the struct: a sampler may point ``data`` at a sorted buffer of its own.
        return int(candidates.data[candidates.selected].id)

    def _allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, accepts ``token`` next."""
        self._one[0] = (token, 1.0, 0.0)
        single = self._candidates(self._one)
        self._lib.llama_sampler_apply(self._grammar.sampler, ctypes.byref(single))
        return bool(np.isfinite(self._one["logit"][0]))

    def sample(self, ctx: Any, row: int = -1) -> int:
        token = self._pick(ctx, row, vetted=False)
        if not self._allows(token):  # refused: choose among what the grammar allows
            token = self._pick(ctx, row, vetted=True)
            self._check(token)
        self._grammar.accept(token)
        self._chain.accept(token)
        return token

    def accept(self, token: int) -> None:
        self._check(token)
        self._grammar.accept(token)
        self._chain.accept(token)

    def _check(self, token: int) -> None:
        # llama.cpp aborts the whole process when its grammar is fed a token it refuses.
        if not self._allows(token):
            raise InternalError(f"the output grammar refused token {token}")
