"""Engines: the Engine protocol, the llama-cpp-python implementation, model resolution."""

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
from .models import EngineCache, EngineFactory, llama_factory, resolve_model

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
    "resolve_model",
]
