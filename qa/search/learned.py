"""A trained ranker: the model in qa/search/ranker_model.json, evaluated with numpy.

`bench/train_ranker.py` writes the model (trained on SQuAD v2 train articles only, chosen by
cross-validation with folds by article) and its sidecar ranker_model.meta.json: the model's
sha256, feature names, training command, data provenance, seed and CV figures. The file is
checked against that sha256 before use; a changed file is an error naming it.

The model reorders the hand-set `WeightedSumRanker`'s best `cascade` candidates (30: the gold
sentence is among them for 96.5 % of the training questions); the others follow, below all of
them, in the hand-set order. Training saw the same cut, and only those rows are scored.

Two kinds of model are read: `trees` (LightGBM's lambdarank trees flattened to arrays, walked
here for all trees and rows at once) and `linear` (weights on the raw features).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.search.features import FEATURE_NAMES, CandidateFeatures, feature_matrix
from qa.search.rank import WeightedSumRanker
from vectorstore.errors import CiteqaError

PACKAGED_MODEL = Path(__file__).resolve().parent / "ranker_model.json"
_WEIGHTED = WeightedSumRanker()
_BLOCK = 1024  # rows walked through the trees at once
_BELOW = -1e6  # rows past the cascade: below every model score, in the hand-set order


class RankerModelError(RuntimeError, CiteqaError):
    """The ranker's model file is missing, altered or does not fit these features."""


def _sidecar(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".json") + ".meta.json")


def expected_sha256(model: Path) -> str:
    sidecar = _sidecar(model)
    try:
        return str(json.loads(sidecar.read_text(encoding="utf-8"))["sha256"])
    except (OSError, ValueError, KeyError) as err:
        raise RankerModelError(f"{sidecar}: cannot read the model's sha256 ({err})") from None


class TreeEnsemble:
    """Sum of regression trees; node arrays padded to the largest tree. A child < 0 is a leaf
    (~child); a split sends `value <= threshold` left."""

    def __init__(self, body: dict[str, Any]):
        self.feature = np.asarray(body["feature"], dtype=np.intp)
        self.threshold = np.asarray(body["threshold"], dtype=np.float64)
        self.left = np.asarray(body["left"], dtype=np.intp)
        self.right = np.asarray(body["right"], dtype=np.intp)
        self.default_left = np.asarray(body["default_left"], dtype=bool)
        self.leaf = np.asarray(body["leaf"], dtype=np.float64)
        self.depth = int(body["depth"])
        self.trees = np.arange(len(self.feature))[:, None]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if len(X) > _BLOCK:  # bounded memory: trees × rows index arrays per block
            return np.concatenate([self(X[i : i + _BLOCK]) for i in range(0, len(X), _BLOCK)])
        node = np.zeros((len(self.feature), len(X)), dtype=np.intp)
        columns = np.arange(len(X))[None, :]
        for _ in range(self.depth):
            inner = node >= 0
            at = np.where(inner, node, 0)
            values = X[columns, self.feature[self.trees, at]]
            go_left = values <= self.threshold[self.trees, at]
            go_left |= np.isnan(values) & self.default_left[self.trees, at]
            step = np.where(go_left, self.left[self.trees, at], self.right[self.trees, at])
            node = np.where(inner, step, node)
        return self.leaf[self.trees, ~node].sum(axis=0)


class LearnedRanker:
    """Implements `qa.search.rank.Ranker` with the trained model; higher is better."""

    def __init__(self, path: str | Path = PACKAGED_MODEL, sha256: str | None = None):
        self.path = Path(path)
        try:
            raw = self.path.read_bytes()
        except OSError as err:
            raise RankerModelError(f"{self.path}: cannot read the ranker model ({err})") from None
        expected = sha256 or expected_sha256(self.path)
        actual = hashlib.sha256(raw).hexdigest()
        if actual != expected:
            raise RankerModelError(
                f"{self.path}: sha256 {actual} does not match the expected {expected}; "
                "the ranker model was altered (regenerate it: python bench/train_ranker.py)"
            )
        body = json.loads(raw)
        if body.get("format") != "citeqa-ranker-1":
            raise RankerModelError(f"{self.path}: unknown model format {body.get('format')!r}")
        features = tuple(body["features"])
        missing = [name for name in features if name not in FEATURE_NAMES]
        if missing:
            raise RankerModelError(f"{self.path}: features this code lacks: {missing}")
        self.columns = np.array([FEATURE_NAMES.index(name) for name in features], dtype=np.intp)
        self.cascade = int(body.get("cascade") or 0)
        self.kind = body["kind"]
        if self.kind == "trees":
            self._model: Any = TreeEnsemble(body)
        elif self.kind == "linear":
            coef, intercept = np.asarray(body["coef"], dtype=np.float64), float(body["intercept"])
            self._model = lambda X: X @ coef + intercept
        else:
            raise RankerModelError(f"{self.path}: unknown model kind {self.kind!r}")

    def score_matrix(self, X: np.ndarray) -> np.ndarray:
        """Scores for rows × FEATURE_NAMES."""
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self._model(X[:, self.columns]), dtype=np.float64)

    def scores(self, rows: Sequence[CandidateFeatures]) -> list[float]:
        if not self.cascade or len(rows) <= self.cascade:
            return self.score_matrix(feature_matrix(rows)).tolist()
        weighted = _WEIGHTED.scores(rows)
        order = sorted(
            range(len(rows)),
            key=lambda n: (-weighted[n], rows[n].article_id, rows[n].sentence_index),
        )
        kept = order[: self.cascade]
        out = [_BELOW + w for w in weighted]
        for n, score in zip(
            kept, self.score_matrix(feature_matrix([rows[n] for n in kept])), strict=True
        ):
            out[n] = float(score)
        return out


@lru_cache(maxsize=1)
def packaged_ranker() -> LearnedRanker:
    """The packaged model, loaded and checked once per process."""
    return LearnedRanker()
