"""Chat models from a short spec: `ollama:MODEL` or `openai:MODEL` (with a base URL)."""

from __future__ import annotations

from typing import Any

from vectorstore.errors import CiteqaError


class LLMError(ValueError, CiteqaError):
    pass


def chat_model_from_spec(spec: str, base_url: str | None = None) -> Any:
    """A LangChain chat model; the provider package is imported only when asked for."""
    provider, _, model = spec.partition(":")
    if not model:
        raise LLMError(f"--llm {spec!r}: expected PROVIDER:MODEL, e.g. ollama:llama3.2")
    if provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError:
            raise LLMError("--llm ollama:… needs `pip install 'citeqa[llm]'`") from None
        kwargs: dict[str, Any] = {"model": model, "temperature": 0}
        if base_url:
            kwargs["base_url"] = base_url
        return ChatOllama(**kwargs)
    if provider == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise LLMError("--llm openai:… needs `pip install 'citeqa[llm]'`") from None
        return ChatOpenAI(model=model, base_url=base_url, temperature=0)
    raise LLMError(f"--llm {spec!r}: unknown provider {provider!r} (use ollama or openai)")
