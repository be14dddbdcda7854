"""A query encoder that starts fast: the same model, exported once to ONNX.

`citeqa ask` from a cold start spent about 3 s importing torch and sentence-transformers to
embed one question. A process that has the sentence-transformers model loaded anyway (an ingest,
a server) exports its transformer and mean pooling once with `torch.onnx` into the user's cache;
later processes embed questions with onnxruntime and the model's own tokenizer (`tokenizers`),
which load in a fraction of a second. The export holds the model's weights unchanged: its
vectors match sentence-transformers' to cosine 1.0000 (tests/test_query_encoder.py). Beside it
goes an int8 copy (weights per channel), which is what questions are embedded with when it
could be made: cosine 0.995 to the float32 vectors, 3.4x faster, 90 MB less held by every
answering process, and the dev sets' first citation moves by at most 0.1 point
(bench/RESULTS.md). Each load re-embeds a probe sentence recorded at export time before the
encoder is trusted. Models whose
pipeline is not "transformer, mean pooling, normalise", or that are not in a local folder, keep
using sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROBE = "Which council approved the replacement of the bridge on Thursday evening?"
PROBE_MIN_COSINE = 0.9999  # the float32 export against sentence-transformers' probe vector
INT8_PROBE_MIN_COSINE = 0.98  # the int8 copy against it (0.993 measured; SQuAD dev p1 0.990)
# bump when the export's inputs, outputs or record change (2: token vectors too; 3: the int8
# copy embeds questions as well)
FORMAT = 3
INT8_MODEL = "model-int8.onnx"


@dataclass(frozen=True)
class ExportRecord:
    """What an export was made from, so a stale one (other weights, other model) is not used."""

    format: int
    model: str  # canonical name, as the store records it
    weights: str  # the model's weights file
    weights_size: int
    weights_mtime_ns: int
    dimension: int
    max_tokens: int
    lowercase: bool
    probe: tuple[float, ...]  # sentence-transformers' vector of PROBE
    onnx_size: int
    int8_size: int  # the int8 copy that embeds questions and word pieces (0: none was made)


def cache_root() -> Path:
    """CITEQA_CACHE_DIR, else the platform's user cache folder."""
    configured = os.environ.get("CITEQA_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("citeqa"))


def export_dir(model: str) -> Path:
    key = hashlib.sha256(f"{FORMAT}:{model}".encode()).hexdigest()[:16]
    return cache_root() / "query-encoders" / key


def weights_file(location: str) -> Path | None:
    """The safetensors file of a model kept in a local folder (None for a hub id)."""
    path = Path(location) / "model.safetensors"
    return path if path.is_file() else None


def find_export(model: str, location: str) -> ExportRecord | None:
    """The export for this model and these exact weights, or None."""
    weights = weights_file(location)
    folder = export_dir(model)
    try:
        data = json.loads((folder / "record.json").read_text())
        data["probe"] = tuple(data["probe"])
        record = ExportRecord(**data)
        onnx_size = (folder / "model.onnx").stat().st_size
        int8_size = (folder / INT8_MODEL).stat().st_size if record.int8_size else 0
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if weights is None or record.format != FORMAT or record.model != model:
        return None
    stat = weights.stat()
    same_weights = (
        record.weights == str(weights)
        and record.weights_size == stat.st_size
        and record.weights_mtime_ns == stat.st_mtime_ns
    )
    intact = record.onnx_size == onnx_size and record.int8_size == int8_size
    return record if same_weights and intact else None


def _weights_key(weights: Path) -> str:
    stat = weights.stat()
    return f"{FORMAT}:{weights}:{stat.st_size}:{stat.st_mtime_ns}"


def _remember_failure(model: str, weights: Path, err: Exception) -> None:
    """A failed export is not retried for the same weights (it would cost every start ~2 s)."""
    folder = export_dir(model)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        note = {"weights": _weights_key(weights), "error": f"{type(err).__name__}: {err}"[:500]}
        (folder / "failed.json").write_text(json.dumps(note))
    except OSError:
        pass


def failed_before(model: str, location: str) -> bool:
    """Whether exporting these exact weights failed before (see `failed.json` for why)."""
    weights = weights_file(location)
    try:
        note = json.loads((export_dir(model) / "failed.json").read_text())
    except (OSError, ValueError):
        return False
    return weights is not None and note.get("weights") == _weights_key(weights)


def exportable(model: Any) -> bool:
    """Transformer → mean pooling (→ normalise): the pipeline the export reproduces."""
    kinds = [type(module).__name__ for module in model]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        return False
    pooling = model[1].get_config_dict()
    return bool(pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens"))


def export(model: Any, name: str, location: str) -> ExportRecord | None:
    """Write the ONNX export of a loaded sentence-transformers model; None when it cannot be."""
    weights = weights_file(location)
    tokenizer = Path(location) / "tokenizer.json"
    if weights is None or not tokenizer.is_file() or not exportable(model):
        return None
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer: Any):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), hidden

    transformer = model[0].auto_model
    dtype = next(transformer.parameters()).dtype
    folder = export_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    ids = torch.tensor([[101, 2023, 102]])
    tokens = {0: "batch", 1: "tokens"}
    dynamic = {"input_ids": tokens, "attention_mask": tokens, "token_type_ids": tokens}
    dynamic["embedding"] = {0: "batch"}
    dynamic["tokens"] = tokens  # each word piece's contextual vector (qa/search/alignment.py)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        onnx_path = Path(scratch) / "model.onnx"
        try:
            transformer.float()
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes on shapes fixed per call
                torch.onnx.export(
                    MeanPooled(transformer).eval(),
                    (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                    str(onnx_path),
                    input_names=["input_ids", "attention_mask", "token_type_ids"],
                    output_names=["embedding", "tokens"],
                    dynamic_axes=dynamic,
                    opset_version=17,
                    dynamo=False,
                )
            probe = model.encode([PROBE], convert_to_numpy=True, normalize_embeddings=True)[0]
        except Exception as err:  # no `onnx` package, an exporter limit: queries use the model
            _remember_failure(name, weights, err)
            return None
        finally:
            transformer.to(dtype)
        stat = weights.stat()
        record = ExportRecord(
            format=FORMAT,
            model=name,
            weights=str(weights),
            weights_size=stat.st_size,
            weights_mtime_ns=stat.st_mtime_ns,
            dimension=int(probe.shape[0]),
            max_tokens=int(model.max_seq_length or 256),
            lowercase=bool(getattr(model[0], "do_lower_case", False)),
            probe=tuple(float(x) for x in probe),
            onnx_size=onnx_path.stat().st_size,
            int8_size=_quantised(onnx_path, Path(scratch) / INT8_MODEL),
        )
        if record.int8_size:
            os.replace(Path(scratch) / INT8_MODEL, folder / INT8_MODEL)
        os.replace(onnx_path, folder / "model.onnx")
        record_tmp = Path(scratch) / "record.json"
        record_tmp.write_text(json.dumps(asdict(record)))
        os.replace(record_tmp, folder / "record.json")  # last: the export counts once this exists
    return record


class OnnxQueryEncoder:
    """Embeds one question at a time with onnxruntime; unit-length float32 vectors. One
    session: the int8 copy when the export has one, else the float32 export."""

    def __init__(self, record: ExportRecord, location: str):
        import onnxruntime
        from tokenizers import Tokenizer

        self.record = record
        self._tokenizer = Tokenizer.from_file(str(Path(location) / "tokenizer.json"))
        self._tokenizer.enable_truncation(record.max_tokens)
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        # one thread: a question is a few dozen word pieces, and a second thread only waits
        # for the other core when the machine is busy (see SentenceTransformerEmbedder)
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.int8 = bool(record.int8_size)
        model = export_dir(record.model) / (INT8_MODEL if self.int8 else "model.onnx")
        self._session = onnxruntime.InferenceSession(str(model), options, ["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        # the last question encoded, with its word-piece vectors (encode, then encode_tokens)
        self._last_tokens: tuple[str, np.ndarray] | None = None
        probe = self.encode(PROBE)
        floor = INT8_PROBE_MIN_COSINE if self.int8 else PROBE_MIN_COSINE
        if float(probe @ np.asarray(record.probe, dtype=np.float32)) < floor:
            raise ValueError(f"the export {model.name} does not reproduce the model's probe vector")

    def encode(self, text: str) -> np.ndarray:
        """The question's vector. The same run gives its word-piece vectors, kept for the
        question's alignment (qa/search/alignment.py), which asks for them next: one run of
        the model fewer a question."""
        pooled, tokens = self._run_both(text)
        self._last_tokens = (text, tokens)
        out = np.asarray(pooled, dtype=np.float32)
        norm = float(np.linalg.norm(out))
        return out / norm if norm > 0 else out

    def encode_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's word-piece vectors in context (unit length, [CLS] and [SEP] left out).
        One run per text: int8 activations are scaled per run, so in a padded batch a text's
        vectors would depend on the others (and the padding is wasted work)."""
        return [unit_rows(np.asarray(self._tokens(text)[1:-1], dtype=np.float32)) for text in texts]

    def _tokens(self, text: str) -> np.ndarray:
        last = self._last_tokens  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == text:
            return last[1]
        return self._run("tokens", text)

    def piece_words(self, text: str) -> list[str]:
        """The whole word each of `encode_tokens`' word pieces of `text` belongs to."""
        folded, encoding = self._encoding(text)
        return words_of_pieces(folded, encoding.word_ids[1:-1], encoding.offsets[1:-1])

    def _encoding(self, text: str) -> tuple[str, Any]:
        """(the text as the model reads it, its tokenizer encoding)."""
        folded = text.lower() if self.record.lowercase else text
        return folded, self._tokenizer.encode(folded)

    def _run(self, output: str, text: str) -> np.ndarray:
        """One text through the session, unpadded; `output`'s row for it."""
        return np.asarray(self._session.run([output], self._feed(text))[0][0])

    def _run_both(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(the pooled vector, the word-piece vectors) of one run."""
        pooled, tokens = self._session.run(["embedding", "tokens"], self._feed(text))
        return np.asarray(pooled[0]), np.asarray(tokens[0])

    def _feed(self, text: str) -> dict[str, np.ndarray]:
        _, encoding = self._encoding(text)
        feed = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        return {k: v for k, v in feed.items() if k in self._inputs}


def _quantised(source: Path, target: Path) -> int:
    """An int8 copy of the export (weights per channel, activations per run), which embeds
    questions and word pieces: 2.5-3.4x faster than float32 here, and the figures move by
    under a point (bench/RESULTS.md). Its size, or 0 when it cannot be made (the float32
    export is used then)."""
    root = logging.getLogger()  # the quantiser logs advice on the root logger
    level = root.level
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)
        return target.stat().st_size
    except Exception:  # an onnxruntime without its quantisation tools
        return 0
    finally:
        root.setLevel(level)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def load(model: str, location: str) -> OnnxQueryEncoder | None:
    """The export's encoder when a valid one exists for these weights, else None."""
    record = find_export(model, location)
    if record is None:
        return None
    try:
        return OnnxQueryEncoder(record, location)
    except Exception:  # a damaged or foreign export: fall back to sentence-transformers
        return None


def words_of_pieces(
    text: str, word_ids: Sequence[int | None], offsets: Sequence[tuple[int, int]]
) -> list[str]:
    """Each word piece's whole word: the span of `text` from the first to the last piece that
    shares its word id (a piece without one stands for itself)."""
    spans: dict[int, list[int]] = {}
    for word, (start, end) in zip(word_ids, offsets, strict=True):
        if word is not None:
            span = spans.setdefault(word, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    return [
        text[slice(*spans[word])] if word is not None else text[start:end]
        for word, (start, end) in zip(word_ids, offsets, strict=True)
    ]
