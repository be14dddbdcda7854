"""Deterministic ids: the same article text gets the same id wherever it came from."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The form that is hashed: NFC, whitespace collapsed, case kept (case can change meaning)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def article_id(text: str) -> str:
    """16 hex digits of the SHA-256 of the normalised article text."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


def chunk_id(article: str, number: int) -> str:
    return f"{article}:{number}"


def sentence_id(article: str, index: int) -> str:
    return f"{article}:s{index}"


def parse_vector_id(vector_id: str) -> tuple[str, int]:
    """(article id, sentence index or chunk number) of a `sentence_id` or `chunk_id`.

    Chroma keeps only filter fields as metadata; positions are read back from the id.
    """
    article, _, number = vector_id.rpartition(":")
    return article, int(number.removeprefix("s"))
