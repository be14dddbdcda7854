"""Chat models from a short spec: `ollama:MODEL`, `openai:MODEL` (with a base URL) or
`llamacpp:PATH.gguf` (in-process, offline); and fitting a prompt to a model's context."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from vectorstore.errors import CiteqaError

E = TypeVar("E")


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
    if provider == "llamacpp":
        if base_url:
            raise LLMError("--llm-base-url: llamacpp runs in this process and has no server")
        from qa.llamacpp import llamacpp_chat

        return llamacpp_chat(model)
    raise LLMError(
        f"--llm {spec!r}: unknown provider {provider!r} (use ollama, openai or llamacpp)"
    )


def fit_prompt(
    llm: Any, evidence: Sequence[E], build: Callable[[Sequence[E]], Any]
) -> tuple[Sequence[E], Any]:
    """(evidence kept, prompt) with the prompt inside the model's context window.

    `build(evidence)` renders the prompt. A model that tells its budget (`prompt_budget`,
    `count_prompt_tokens(messages)`, as `qa.llamacpp.LlamaCppChat` does) gets the evidence
    trimmed from the end, the weakest sentence first; if even the first sentence alone does
    not fit, it is shortened in the prompt (the citation check still reads the whole
    sentence). Other models get the prompt as built."""
    prompt = build(evidence)
    budget = getattr(llm, "prompt_budget", None)
    count = getattr(llm, "count_prompt_tokens", None)
    if not isinstance(budget, int) or count is None:
        return evidence, prompt

    def fits(value: Any) -> bool:
        return int(count(value.to_messages())) <= budget

    kept = list(evidence)
    while len(kept) > 1 and not fits(prompt):
        kept.pop()
        prompt = build(kept)
    if fits(prompt) or not kept:
        return kept, prompt
    words = str(getattr(kept[0], "sentence", "")).split()
    low, high = 0, len(words)  # the longest prefix of the first sentence that fits
    while low < high:
        middle = (low + high + 1) // 2
        if fits(build([_shortened(kept[0], words[:middle])])):
            low = middle
        else:
            high = middle - 1
    prompt = build([_shortened(kept[0], words[:low])])
    if not fits(prompt):
        raise LLMError(
            f"the question alone does not fit the model's context of {budget} "
            "prompt tokens; ask a shorter question or raise CITEQA_LLM_CTX"
        )
    return kept, prompt


def _shortened(item: Any, words: Sequence[str]) -> Any:
    return replace(item, sentence=" ".join(words) + " …")
