"""Function definitions used across the function-calling tests (the overview's quiz, and more)."""

from __future__ import annotations

from typing import Any

DISPLAY_QUIZ: dict[str, Any] = {
    "name": "display_quiz",
    "description": (
        "Displays a quiz to the student, and returns the student's response. "
        "A single quiz can have multiple questions."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "questions": {
                "type": "array",
                "description": "An array of questions, each with a title and potentially options "
                "(if multiple choice).",
                "items": {
                    "type": "object",
                    "properties": {
                        "question_text": {"type": "string"},
                        "question_type": {
                            "type": "string",
                            "enum": ["MULTIPLE_CHOICE", "FREE_RESPONSE"],
                        },
                        "choices": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["question_text"],
                },
            },
        },
        "required": ["title", "questions"],
    },
}

GET_WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 40},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}

QUIZ_REQUEST = (
    "Make a quiz with 2 questions: One open ended, one multiple choice. "
    "Then, give me feedback for the responses."
)
