"""Near-duplicate articles (wire copies, syndicated stories lightly edited) found at ingest.

Each article gets a MinHash signature (datasketch) over its word 4-grams; the signature is cut
into LSH bands whose keys are stored in the manifest, so finding an article's near copies is
an indexed lookup of its band keys there, not a scan, and survives restarts. A band match is
confirmed by the signatures' estimated Jaccard similarity before two articles are grouped.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vectorstore.types import StoredArticle

PERMUTATIONS = 128
BANDS, ROWS = 32, 4  # 32 x 4 = 128: pairs at Jaccard 0.5 meet in a band with p ≈ 0.87
SIMILAR = 0.5  # estimated Jaccard of 4-gram sets at which two articles are copies of a story
SHINGLE = 4
SEED = 1
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Fingerprint:
    """An article's MinHash signature and the LSH band keys it is filed under."""

    signature: np.ndarray  # uint64, PERMUTATIONS values
    bands: tuple[str, ...]

    def similarity(self, other: np.ndarray) -> float:
        """Estimated Jaccard similarity of the two articles' 4-gram sets."""
        return float(np.mean(self.signature == other))

    def to_bytes(self) -> bytes:
        return self.signature.astype("<u8").tobytes()


def shingles(text: str) -> set[bytes]:
    """The article's word 4-grams, lower-cased (a short text: its words)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {
        " ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(len(words) - SHINGLE + 1)
    }


def fingerprint(text: str) -> Fingerprint:
    from datasketch import MinHash  # ~0.6 s of imports: only ingest needs it, not `ask`

    minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED)
    minhash.update_batch(list(shingles(text)))
    signature = np.asarray(minhash.hashvalues, dtype=np.uint64)
    return Fingerprint(signature, band_keys(signature))


def band_keys(signature: np.ndarray) -> tuple[str, ...]:
    """One key per band: the band number and a hash of its rows."""
    raw = signature.astype("<u8")
    keys = []
    for band in range(BANDS):
        rows = raw[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"{band}:{hashlib.blake2b(rows, digest_size=8).hexdigest()}")
    return tuple(keys)


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


def closest(
    print_: Fingerprint, candidates: Iterable[tuple[str, bytes]]
) -> tuple[str, float] | None:
    """The most similar candidate (id, stored signature) at or above SIMILAR, if any."""
    best: tuple[str, float] | None = None
    for article_id, data in candidates:
        score = print_.similarity(signature_from_bytes(data))
        if score >= SIMILAR and (best is None or score > best[1]):
            best = (article_id, score)
    return best


def story_labels(rows: Sequence[StoredArticle]) -> dict[str, str]:
    """article id → "story 1 (3 articles)" for articles with stored near copies, numbered in
    the order the rows list them; articles without copies are left out."""
    sizes = Counter(a.story for a in rows if a.story)
    numbers: dict[str, int] = {}
    labels = {}
    for a in rows:
        if sizes.get(a.story, 0) > 1:
            number = numbers.setdefault(a.story, len(numbers) + 1)
            labels[a.id] = f"story {number} ({sizes[a.story]} articles)"
    return labels
