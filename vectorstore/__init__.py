"""citeqa's ingestion side: loaders, sentences, chunks, embeddings and the Chroma-backed store."""

import os

# onnxruntime (the query encoder, the sentence reader) sends usage telemetry from Linux too
# since 1.29: a process that keeps it loaded for ~10 s looks up mobile.events.data.microsoft.com.
# The switch is read once, when onnxruntime starts, so it is set before anything imports it.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from vectorstore.settings import Settings, SettingsError
from vectorstore.types import Article, Chunk, IngestReport, LoadError, Sentence, StoredArticle

__all__ = [
    "Article",
    "Chunk",
    "IngestReport",
    "LoadError",
    "Sentence",
    "Settings",
    "SettingsError",
    "StoredArticle",
]
