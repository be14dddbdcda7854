"""Can a model fitted on the abstention signals abstain better than the hand-set confidence?

    python bench/abstain_data.py --set squad-train --out train.jsonl
    python bench/abstain_data.py --set squad --out squad.jsonl
    python bench/abstain_data.py --set samples --out samples.jsonl
    python bench/abstain_fit.py train.jsonl squad.jsonl samples.jsonl

A logistic regression (scikit-learn, the `train` extra) over the signals of
`qa.search.confidence.abstain_features`, cross-validated on squad-train with folds by article
(GroupKFold, 5 folds; deterministic), its threshold set to answer 96 % of the training set's
answerable questions; then fitted on all of squad-train and applied unchanged to the other
files. Printed beside the hand-set confidence at its threshold (ABSTAIN_BELOW) on the same rows,
and, for word-piece alignment's term in the confidence, the centre that keeps squad-train's
answered rate for each weight (ALIGN_WEIGHT, ALIGN_CENTER).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SHARED  # noqa: E402

FEATURES = (
    "dense",
    "coverage1",
    "coverage_chunk",
    "coverage_article",
    "top_dense",
    "top_score",
    "margin",
    "kind_asked",
    "kind_held",
    "query_terms",
    "aligned",
)
ANSWERED = 0.96


def load(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def rates(scores: np.ndarray, threshold: float, rows: list[dict]) -> dict[str, float]:
    kinds = np.array([r["kind"] for r in rows])
    out = {"answered": float((scores[kinds == "answerable"] >= threshold).mean())}
    for kind in sorted(set(kinds) - {"answerable"}):
        out[f"abstained {kind}"] = float((scores[kinds == kind] < threshold).mean())
    return {k: round(v, 3) for k, v in out.items()}


def centre_alignment(train: list[dict]) -> None:
    """qa/search/confidence.py's ALIGN_CENTER for each weight: the centre at which squad-train's
    answerable questions are answered at ABSTAIN_BELOW as often as without alignment, and what
    each kind of unanswerable question then gets."""
    from qa.search.confidence import ABSTAIN_BELOW

    kinds = np.array([r["kind"] for r in train])
    base = np.array([r["base_confidence"] for r in train])
    aligned = np.array([r["aligned"] for r in train])
    answerable = kinds == "answerable"
    answered = float((base[answerable] >= ABSTAIN_BELOW).mean())
    print(f"  without alignment at {ABSTAIN_BELOW}: {rates(base, ABSTAIN_BELOW, train)}")
    for weight in (0.25, 0.5, 0.75, 1.0):
        combined = base + weight * aligned
        centre = (float(np.quantile(combined[answerable], 1 - answered)) - ABSTAIN_BELOW) / weight
        scores = base + weight * (aligned - centre)
        print(f"  alignment x {weight}, centre {centre:.3f}: {rates(scores, ABSTAIN_BELOW, train)}")


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    from qa.search.confidence import ABSTAIN_BELOW

    train_file, *others = sys.argv[1:]
    questions = SHARED / "bench" / "squad-train" / "questions.jsonl"
    article = {q["id"]: q["article"] for q in map(json.loads, questions.read_text().splitlines())}
    train = load(train_file)
    x = np.array([[r[f] for f in FEATURES] for r in train])
    y = np.array([r["answerable"] for r in train], dtype=int)
    groups = np.array([article[r["id"]] for r in train])
    out_of_fold = np.zeros(len(y))
    for fit, held in GroupKFold(5).split(x, y, groups):
        model = LogisticRegression(max_iter=2000).fit(x[fit], y[fit])
        out_of_fold[held] = model.predict_proba(x[held])[:, 1]
    hand = np.array([r["confidence"] for r in train])
    threshold = float(np.quantile(out_of_fold[y == 1], 1 - ANSWERED))
    hand_threshold = float(np.quantile(hand[y == 1], 1 - ANSWERED))
    print(f"squad-train, by-article 5-fold CV ({len(train)} rows)")
    fitted_auc, hand_auc = roc_auc_score(y, out_of_fold), roc_auc_score(y, hand)
    print(f"  AUC fitted {fitted_auc:.3f}, hand-set {hand_auc:.3f}")
    print(f"  fitted at {ANSWERED:.0%} answered: {rates(out_of_fold, threshold, train)}")
    print(f"  hand-set at {ANSWERED:.0%} answered: {rates(hand, hand_threshold, train)}")
    print(f"  hand-set at {ABSTAIN_BELOW}: {rates(hand, ABSTAIN_BELOW, train)}")
    centre_alignment(train)
    model = LogisticRegression(max_iter=2000).fit(x, y)
    print("  weights", dict(zip(FEATURES, model.coef_[0].round(3).tolist(), strict=True)))
    for path in others:
        rows = load(path)
        xs = np.array([[r[f] for f in FEATURES] for r in rows])
        ys = np.array([r["answerable"] for r in rows], dtype=int)
        fitted = model.predict_proba(xs)[:, 1]
        hand = np.array([r["confidence"] for r in rows])
        print(f"{path} ({len(rows)} questions)")
        print(f"  fitted: {rates(fitted, threshold, rows)}, AUC {roc_auc_score(ys, fitted):.3f}")
        print(f"  hand-set: {rates(hand, ABSTAIN_BELOW, rows)}, AUC {roc_auc_score(ys, hand):.3f}")


if __name__ == "__main__":
    main()
