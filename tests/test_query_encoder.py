"""The ONNX query encoder: same vectors as sentence-transformers, never used when stale or
damaged, and a cold `ask` that answers without importing torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vectorstore import query_encoder
from vectorstore.embed import FastStartEmbedder, packaged_model_dir

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many spectators attended the Northfold Cup final?",
    "Who designed it?",
    "",
    "Émile's café — naïve «quotes», 東京 and 😀?",
    "word " * 600,  # far past the 256 word pieces the model reads
]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CITEQA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def model_copy(tmp_path) -> Path:
    """The packaged model in a folder of the test's own, so its weights can be touched."""
    target = tmp_path / "model"
    shutil.copytree(packaged_model_dir(), target)
    return target


@pytest.mark.integration
@pytest.mark.parametrize("int8", [True, False], ids=["int8 copy", "float32 only"])
def test_export_reproduces_sentence_transformers(cache, embedder, monkeypatch, int8):
    """Questions are embedded by the int8 copy (cosine > 0.98 to sentence-transformers); an
    export without one (the quantiser missing) embeds with the float32 export (> 0.995)."""
    if not int8:
        monkeypatch.setattr(query_encoder, "_quantised", lambda source, target: 0)
    name, location = "sentence-transformers/all-MiniLM-L6-v2", str(packaged_model_dir())
    record = query_encoder.export(embedder.model, name, location)
    assert record is not None and record.dimension == embedder.dimension
    assert (record.int8_size > 0) == int8
    encoder = query_encoder.load(name, location)
    assert encoder is not None and encoder.int8 == int8
    reference = embedder.model.encode(QUESTIONS, convert_to_numpy=True, normalize_embeddings=True)
    cosines = []
    for question, expected in zip(QUESTIONS, reference, strict=True):
        got = encoder.encode(question)
        assert got.dtype == np.float32
        assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5
        cosines.append(float(got @ expected))
    # bf16 sentence-transformers on machines that have it: the export runs in fp32 or int8
    # (the empty question, [CLS] and [SEP] alone, is the int8 copy's worst: 0.977)
    floor = 0.97 if int8 else 0.995
    assert min(cosines) > floor, cosines
    if int8:
        assert np.mean(cosines) > 0.985, cosines
        assert max(cosines[:2]) < 0.9999, "the int8 copy was not what embedded the questions"


@pytest.mark.integration
def test_fast_start_embedder_writes_then_uses_the_export(cache, embedder):
    assert query_encoder.find_export(embedder.name, str(packaged_model_dir())) is None
    first = FastStartEmbedder()
    assert first.query_runtime == "sentence-transformers"  # no export yet: loads the model,
    assert query_encoder.find_export(first.name, str(packaged_model_dir())) is not None  # writes
    second = FastStartEmbedder()
    assert second.query_runtime == "onnxruntime"
    assert (second.dimension, second.max_tokens) == (first.dimension, first.max_tokens)
    for question in QUESTIONS[:2]:
        assert float(first.embed_query(question) @ second.embed_query(question)) > 0.98
    # documents still go through sentence-transformers, loaded on first need
    vectors = second.embed_documents(["The council voted on Thursday."])
    assert vectors.shape == (1, second.dimension)


@pytest.mark.integration
def test_changed_weights_make_the_export_stale(cache, model_copy, embedder):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_copy), device="cpu")
    assert query_encoder.export(model, "copy", str(model_copy)) is not None
    assert query_encoder.find_export("copy", str(model_copy)) is not None
    assert query_encoder.find_export("another-name", str(model_copy)) is None
    weights = model_copy / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert query_encoder.find_export("copy", str(model_copy)) is None
    assert query_encoder.load("copy", str(model_copy)) is None


@pytest.mark.integration
@pytest.mark.parametrize("int8", [True, False], ids=["int8 copy", "float32 only"])
def test_a_damaged_export_is_not_used(cache, model_copy, monkeypatch, int8):
    from sentence_transformers import SentenceTransformer

    if not int8:
        monkeypatch.setattr(query_encoder, "_quantised", lambda source, target: 0)
    model = SentenceTransformer(str(model_copy), device="cpu")
    assert query_encoder.export(model, "copy", str(model_copy)) is not None
    used = query_encoder.export_dir("copy") / (query_encoder.INT8_MODEL if int8 else "model.onnx")
    size = used.stat().st_size
    used.write_bytes(b"\0" * size)  # same size, so only loading it can tell
    assert query_encoder.find_export("copy", str(model_copy)) is not None
    assert query_encoder.load("copy", str(model_copy)) is None
    record = json.loads((query_encoder.export_dir("copy") / "record.json").read_text())
    record["probe"] = [-x for x in record["probe"]]  # a probe the weights do not reproduce
    (query_encoder.export_dir("copy") / "record.json").write_text(json.dumps(record))
    assert query_encoder.export(model, "copy", str(model_copy)) is not None  # rewritten
    assert query_encoder.load("copy", str(model_copy)) is not None


@pytest.mark.integration
def test_pipelines_other_than_mean_pooling_are_not_exported(cache, model_copy):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(model_copy))
    cls = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
    model = SentenceTransformer(modules=[transformer, cls], device="cpu")
    assert not query_encoder.exportable(model)
    assert query_encoder.export(model, "cls", str(model_copy)) is None
    assert query_encoder.find_export("cls", str(model_copy)) is None


COLD_ASK = """
import json, sys
from qa import Assistant
with Assistant(sys.argv[1]) as assistant:
    answer = assistant.ask("How many spectators attended the Northfold Cup final?")
    runtime = assistant.embedder.query_runtime
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sentence_transformers",
               "transformers", "langchain", "gradio"})
print(json.dumps({"runtime": runtime, "heavy": heavy, "text": answer.text}))
"""


@pytest.mark.integration
def test_a_cold_ask_with_an_export_imports_no_torch(tmp_path, cache):
    env = {**os.environ, "CITEQA_CACHE_DIR": str(cache)}
    home = tmp_path / "home"
    ingest = subprocess.run(
        [
            sys.executable,
            "-m",
            "ui.cli",
            "--home",
            str(home),
            "ingest",
            "--quiet",
            "samples/articles",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert ingest.returncode == 0, ingest.stderr
    done = subprocess.run(
        [sys.executable, "-c", COLD_ASK, str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["runtime"] == "onnxruntime"
    assert probe["heavy"] == []
    assert "12,480" in probe["text"]


@pytest.mark.integration
def test_a_failed_export_is_remembered_not_retried(cache, model_copy, monkeypatch):
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_copy), device="cpu")

    def no_exporter(*args, **kwargs):
        raise RuntimeError("Module onnx is not installed!")

    monkeypatch.setattr(torch.onnx, "export", no_exporter)
    assert not query_encoder.failed_before("copy", str(model_copy))
    assert query_encoder.export(model, "copy", str(model_copy)) is None
    assert query_encoder.failed_before("copy", str(model_copy))
    assert "onnx is not installed" in (query_encoder.export_dir("copy") / "failed.json").read_text()
    weights = model_copy / "model.safetensors"  # other weights: worth another try
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert not query_encoder.failed_before("copy", str(model_copy))
