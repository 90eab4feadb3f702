"""Engines: the Engine protocol, the llama-cpp-python implementation, model resolution."""

from .base import (
    ChatMessage,
    Engine,
    FinishReason,
    JsonObjectFormat,
    JsonSchemaFormat,
    OutputConstraint,
    Sampling,
    TokenStream,
)
from .models import EngineCache, EngineFactory, llama_factory, resolve_model

__all__ = [
    "ChatMessage",
    "Engine",
    "EngineCache",
    "EngineFactory",
    "FinishReason",
    "JsonObjectFormat",
    "JsonSchemaFormat",
    "OutputConstraint",
    "Sampling",
    "TokenStream",
    "llama_factory",
    "resolve_model",
]
