"""Engines: the Engine protocol, its llama-cpp-python and remote (HTTP) implementations, model
resolution."""

from .base import (
    ChatMessage,
    Engine,
    FinishReason,
    FunctionSpec,
    Grammar,
    Sampling,
    TokenStream,
    ToolCall,
    ToolChoice,
    ToolFormat,
)
from .engine_cache import EngineCache, EngineFactory, llama_factory, remote_factory, resolve_model

__all__ = [
    "ChatMessage",
    "Engine",
    "EngineCache",
    "EngineFactory",
    "FinishReason",
    "FunctionSpec",
    "Grammar",
    "Sampling",
    "TokenStream",
    "ToolCall",
    "ToolChoice",
    "ToolFormat",
    "llama_factory",
    "remote_factory",
    "resolve_model",
]
