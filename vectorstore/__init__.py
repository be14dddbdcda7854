"""citeqa's ingestion side: loaders, sentences, chunks, embeddings and the Chroma-backed store."""

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
