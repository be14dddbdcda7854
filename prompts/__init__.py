"""Prompt templates shipped as package data and loaded by name."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_prompt(name: str) -> str:
    """The text of prompts/<name>.txt; a missing prompt is a clear error."""
    resource = resources.files(__package__).joinpath(f"{name}.txt")
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in the prompts package")
    return resource.read_text(encoding="utf-8")
