"""Train the learned ranker on SQuAD v2 train articles only; write the artefact and its sidecar.

    python bench/train_ranker.py [--home DIR] [--cache FILE] [--folds 5] [--seed 13]

1. Ingests ../shared/bench/squad-train/articles.jsonl into two throwaway stores (or --home):
   the articles whole, and each paragraph as a story of its own titled by its first words
   (like a news archive of short stories); --unit article|paragraph uses one of them. One
   article's questions are always in the same fold, whichever store they were asked in.
2. Runs the search for every answerable question of squad-train/questions.jsonl and keeps every
   candidate's feature row (`SearchResult.ranked`); a candidate is labelled 1 when its sentence
   contains a gold evidence sentence or is contained in one (whitespace removed, casefolded).
3. Keeps each question's 30 best candidates by the hand-set score (the cascade the learned
   ranker reorders; the gold sentence is among them for 96.5 % of the questions), and
   cross-validates, with folds BY ARTICLE (GroupKFold: no article is ever in both the training
   and the validation part), LightGBM lambdarank and a logistic regression, scored by the
   reader's figure: is the first-ranked sentence a gold one (questions whose gold sentence is
   not among the candidates count as misses). The hand-set `WeightedSumRanker` is scored on the
   same rows.
4. Fits the better one on all squad-train questions and writes qa/search/ranker_model.json
   (numpy-evaluable: LightGBM's trees flattened to arrays, or the linear weights) and
   qa/search/ranker_model.meta.json (sha256, feature names, command, data provenance, seed, CV).

Nothing from squad/ dev or newsqa/ is read here.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import ROOT, SHARED

TRAIN = SHARED / "bench" / "squad-train"
MODEL = ROOT / "qa" / "search" / "ranker_model.json"
SIDECAR = ROOT / "qa" / "search" / "ranker_model.meta.json"
SEED = 13
LGBM_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "ndcg_eval_at": [1],
    "lambdarank_truncation_level": 10,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
}
LGBM_ROUNDS = 400
PREFER_LINEAR_WITHIN = 0.005  # CV first-hit margin the trees must beat the linear model by
CASCADE = 30  # the model reorders the hand-set ranker's top 30 (gold within: 96.5 % on train)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- extraction ------------------------------------------------------------------------------
def paragraph_stories(articles: Path, out: Path) -> Path:
    """Each paragraph of each training article as a short story of its own, titled like the
    NewsQA stories (its first 12 words): many short, same-topic stories make the article-level
    signals (title, lead, best candidate per article) carry information, as in a news archive.
    Still only squad-train text."""
    with articles.open(encoding="utf-8") as handle, out.open("w", encoding="utf-8") as sink:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            for number, paragraph in enumerate(record["text"].split("\n\n")):
                paragraph = paragraph.strip()
                if paragraph:
                    sink.write(
                        json.dumps(
                            {
                                "id": f"{record['id']}-{number}",
                                "title": " ".join(paragraph.split()[:12]),
                                "text": paragraph,
                                "source": record.get("source", ""),
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
    return out


def extract(assistant: Any, questions: list[Any], evidence_of: Any) -> dict[str, np.ndarray]:
    """Every candidate's feature row, its label, its question number and (for the confidence)
    the query coverage of the sentence and of its chunk. `evidence_of(question, sentence)` says
    whether a sentence answers."""
    from qa.search.features import feature_matrix
    from qa.search.rank import WeightedSumRanker

    store, searcher = assistant.store, assistant.searcher
    texts = store.texts(store.article_ids())
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    weighted = WeightedSumRanker()
    xs, ys, qids, ws, cov1, covc, dense_top = [], [], [], [], [], [], []
    started = time.perf_counter()
    for number, q in enumerate(questions):
        result = searcher.search(q.question, k=10)
        rows = [r.features for r in result.ranked]
        keys = [f.key for f in rows]
        sentence_rows = store.sentence_rows(keys)
        chunks = store.chunk_members({(f.article_id, f.chunk) for f in rows})
        labels, c1, cc = [], [], []
        for f in rows:
            row = sentence_rows[f.key]
            sentence = texts[f.article_id][row.start : row.end]
            labels.append(1 if evidence_of(q, sentence) else 0)
            c1.append(store.query_coverage(q.question, sentence))
            ck = (f.article_id, f.chunk)
            if ck not in spans:
                members = chunks.get(ck)
                ends = store.sentence_rows([(ck[0], members[0]), (ck[0], members[-1])])
                spans[ck] = (ends[(ck[0], members[0])].start, ends[(ck[0], members[-1])].end)
            begin, end = spans[ck]
            cc.append(store.query_coverage(q.question, texts[f.article_id][begin:end]))
        xs.append(feature_matrix(rows))
        ys.extend(labels)
        qids.extend([number] * len(rows))
        ws.extend(weighted.scores(rows))
        cov1.extend(c1)
        covc.extend(cc)
        dense_top.extend([result.signals.dense] * len(rows))
        if number % 500 == 0:
            print(
                f"  {number}/{len(questions)} questions, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return {
        "X": np.vstack(xs),
        "y": np.array(ys, dtype=np.int8),
        "qid": np.array(qids),
        "weighted": np.array(ws),
        "coverage1": np.array(cov1),
        "coverage_chunk": np.array(covc),
        "dense_top": np.array(dense_top),
    }


def rows_for(
    unit: str, args: Any, articles_path: Path, questions: list[Any]
) -> dict[str, np.ndarray]:
    """The candidate rows of every question over one store (`unit`), from the cache if any."""
    from qa.eval.evaluate import matches
    from qa.search.features import FEATURE_NAMES, POSITION_CAP

    cache = args.cache.format(unit=unit) if args.cache else None
    if cache and Path(cache).exists():
        loaded = np.load(cache)
        data = {k: loaded[k] for k in loaded.files}
        print(f"rows from {cache}")
    else:
        from qa import Assistant

        home = (
            args.home.format(unit=unit)
            if args.home
            else tempfile.mkdtemp(prefix=f"citeqa-train-{unit}-")
        )
        with Assistant(home=home) as assistant:
            if assistant.store.is_empty():
                corpus = (
                    articles_path
                    if unit == "article"
                    else paragraph_stories(
                        articles_path, Path(home).parent / f"{Path(home).name}-paragraphs.jsonl"
                    )
                )
                print(f"ingest: {assistant.ingest([str(corpus)]).summary()}")
            data = extract(assistant, questions, lambda q, s: matches(s, q.evidence))
        if cache:
            np.savez_compressed(cache, **data)  # type: ignore[arg-type]
    column = FEATURE_NAMES.index("position")  # rows cached before the cap: same as now
    data["X"][:, column] = np.minimum(data["X"][:, column], POSITION_CAP)
    return data


# -- scoring ---------------------------------------------------------------------------------
def first_hits(scores: np.ndarray, y: np.ndarray, qid: np.ndarray) -> np.ndarray:
    """Per question: 1 when its best-scored candidate is labelled 1 (ties: first row)."""
    order = np.lexsort((-scores, qid))  # by question, best first
    q_sorted = qid[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = q_sorted[1:] != q_sorted[:-1]
    return y[order][first].astype(float)


def first_rows(scores: np.ndarray, qid: np.ndarray) -> np.ndarray:
    """Index of each question's best-scored row."""
    order = np.lexsort((-scores, qid))
    q_sorted = qid[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = q_sorted[1:] != q_sorted[:-1]
    return order[first]


def cascade_mask(weighted: np.ndarray, qid: np.ndarray, top: int) -> np.ndarray:
    """Rows among their question's `top` best by the hand-set score (ties: row order, as
    `qa.search.learned.LearnedRanker` breaks them by key; exact ties are rare)."""
    order = np.lexsort((-weighted, qid))
    q_sorted = qid[order]
    starts = np.r_[0, np.flatnonzero(q_sorted[1:] != q_sorted[:-1]) + 1]
    within = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    place = np.empty(len(order), dtype=int)
    place[order] = within
    return place < top


def cascaded(scores: np.ndarray, keep: np.ndarray, weighted: np.ndarray) -> np.ndarray:
    """Model scores for the kept rows; the others below all of them, in hand-set order."""
    return np.where(keep, scores, -1e6 + weighted)


def group_sizes(qid: np.ndarray) -> list[int]:
    _, counts = np.unique(qid, return_counts=True)  # qid is sorted (rows in question order)
    return counts.tolist()


# -- models ----------------------------------------------------------------------------------
def fit_lgbm(X: np.ndarray, y: np.ndarray, qid: np.ndarray, seed: int) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(X, y, group=group_sizes(qid), free_raw_data=False)
    params = {**LGBM_PARAMS, "seed": seed}
    return lgb.train(params, data, num_boost_round=LGBM_ROUNDS)


def fit_linear(X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    model.fit((X - mean) / scale, y)
    coef = model.coef_[0] / scale
    return {"coef": coef.tolist(), "intercept": float(model.intercept_[0] - coef @ mean)}


def linear_scores(model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    return X @ np.asarray(model["coef"]) + model["intercept"]


def trees_artefact(booster: Any) -> dict[str, Any]:
    """LightGBM's trees as flat arrays a numpy loop can walk (qa.search.learned.TreeEnsemble).

    Internal nodes are numbered per tree; a child < 0 is leaf ~child. Every split is
    numerical `value <= threshold` (no categorical features; the features are never NaN, and
    LightGBM's missing-value direction is kept as `default_left` for completeness).
    """
    dump = booster.dump_model()
    trees = dump["tree_info"]
    max_nodes = max(max(t["num_leaves"] - 1, 1) for t in trees)
    max_leaves = max(t["num_leaves"] for t in trees)
    n = len(trees)
    feature = np.zeros((n, max_nodes), dtype=int)
    threshold = np.zeros((n, max_nodes))
    left = np.full((n, max_nodes), -1, dtype=int)
    right = np.full((n, max_nodes), -1, dtype=int)
    default_left = np.zeros((n, max_nodes), dtype=bool)
    leaf = np.zeros((n, max_leaves))
    depth = 0

    for t, info in enumerate(trees):
        root = info["tree_structure"]
        if "leaf_value" in root:  # a single-leaf tree: node 0 sends everything to leaf 0
            threshold[t, 0] = np.inf
            leaf[t, 0] = root["leaf_value"]
            continue

        def child(node: dict[str, Any], t: int = t) -> int:
            if "leaf_index" in node:
                leaf[t, node["leaf_index"]] = node["leaf_value"]
                return ~int(node["leaf_index"])
            return int(node["split_index"])

        stack = [(root, 1)]
        while stack:
            node, d = stack.pop()
            depth = max(depth, d)
            i = node["split_index"]
            if node["decision_type"] != "<=":
                raise SystemExit(f"unsupported split {node['decision_type']}")
            feature[t, i] = node["split_feature"]
            threshold[t, i] = node["threshold"]
            default_left[t, i] = node["default_left"]
            left[t, i] = child(node["left_child"])
            right[t, i] = child(node["right_child"])
            stack.extend(
                (c, d + 1) for c in (node["left_child"], node["right_child"]) if "split_index" in c
            )
    return {
        "depth": depth,
        "feature": feature.tolist(),
        "threshold": threshold.tolist(),
        "left": left.tolist(),
        "right": right.tolist(),
        "default_left": default_left.tolist(),
        "leaf": leaf.tolist(),
    }


def cross_validate(
    data: dict[str, np.ndarray], groups: np.ndarray, folds: int, seed: int, n_questions: int
) -> dict[str, Any]:
    from sklearn.model_selection import GroupKFold

    X, y, qid = data["X"], data["y"], data["qid"]
    keep = cascade_mask(data["weighted"], qid, CASCADE)
    questions = np.arange(n_questions)
    q_groups = groups
    result: dict[str, list[float]] = {"weighted": [], "lightgbm": [], "linear": []}
    scores = {name: np.zeros(len(y)) for name in result}
    fold_articles = []
    for train_q, valid_q in GroupKFold(n_splits=folds).split(questions, groups=q_groups):
        train_rows = np.isin(qid, train_q)
        valid_rows = np.isin(qid, valid_q)
        fold_articles.append(sorted({str(a) for a in q_groups[valid_q]}))
        fit_rows = train_rows & keep
        started = time.perf_counter()
        booster = fit_lgbm(X[fit_rows], y[fit_rows], qid[fit_rows], seed)
        linear = fit_linear(X[fit_rows], y[fit_rows], seed)
        w = data["weighted"][valid_rows]
        scores["lightgbm"][valid_rows] = cascaded(
            booster.predict(X[valid_rows]), keep[valid_rows], w
        )
        scores["linear"][valid_rows] = cascaded(
            linear_scores(linear, X[valid_rows]), keep[valid_rows], w
        )
        print(f"  fold {len(fold_articles)}: {time.perf_counter() - started:.0f} s", flush=True)
        scores["weighted"][valid_rows] = data["weighted"][valid_rows]
        for name in result:
            hits = first_hits(scores[name][valid_rows], y[valid_rows], qid[valid_rows])
            # questions with no candidate rows (none expected) would count as misses
            result[name].append(float(hits.sum() / len(valid_q)))
    summary: dict[str, Any] = {"folds": folds, "fold_articles": fold_articles}
    for name, values in result.items():
        pooled = first_hits(scores[name], y, qid)
        summary[name] = {
            "first_hit_pooled": round(float(pooled.sum() / n_questions), 4),
            "first_hit_by_fold": [round(v, 4) for v in values],
        }
    summary["_scores"] = scores
    return summary


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", help="store to use, {unit} replaced (default: throwaway)")
    parser.add_argument("--cache", help="reuse/save the extracted rows (.npz), {unit} replaced")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--model", choices=["auto", "lightgbm", "linear"], default="auto")
    parser.add_argument(
        "--unit",
        choices=["both", "paragraph", "article"],
        default="both",
        help="train on a store of the whole articles, one of their paragraphs "
        "as short stories, or both (default)",
    )
    args = parser.parse_args()
    np.random.seed(args.seed)

    from qa.eval.evaluate import read_questions
    from qa.search.features import FEATURE_NAMES

    questions_path = TRAIN / "questions.jsonl"
    articles_path = TRAIN / "articles.jsonl"
    questions = [q for q in read_questions(questions_path) if q.answerable]
    with questions_path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    articles = {str(r["id"]): r["article"] for r in records}
    groups = np.array([articles[q.id] for q in questions])

    units = ["article", "paragraph"] if args.unit == "both" else [args.unit]
    parts = [rows_for(unit, args, articles_path, questions) for unit in units]
    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    data["qid"] = np.concatenate([p["qid"] + n * len(questions) for n, p in enumerate(parts)])
    groups = np.concatenate([groups] * len(units))  # one article's copies share a fold
    n_questions = len(questions) * len(units)
    X, y, qid = data["X"], data["y"], data["qid"]
    if X.shape[1] != len(FEATURE_NAMES):
        raise SystemExit("cached rows have other features; delete the cache")
    reachable = np.bincount(qid, weights=y, minlength=n_questions) > 0
    print(
        f"{len(questions)} answerable questions x {len(units)} stores, {len(y)} candidate rows, "
        f"gold among the candidates for {reachable.mean():.4f}"
    )

    cv = cross_validate(data, groups, args.folds, args.seed, n_questions)
    cv_scores = cv.pop("_scores")
    for name in ("weighted", "lightgbm", "linear"):
        print(
            f"  CV first-sentence hit {name:9} {cv[name]['first_hit_pooled']:.4f}  "
            f"folds {cv[name]['first_hit_by_fold']}"
        )
    choice = args.model
    if choice == "auto":
        # the simpler model unless the trees are clearly better (0.005 ≈ 22 questions)
        margin = cv["lightgbm"]["first_hit_pooled"] - cv["linear"]["first_hit_pooled"]
        choice = "lightgbm" if margin >= PREFER_LINEAR_WITHIN else "linear"
    cv["threshold"] = refit_threshold(data, cv_scores[choice], groups, questions)

    keep = cascade_mask(data["weighted"], qid, CASCADE)
    if choice == "lightgbm":
        booster = fit_lgbm(X[keep], y[keep], qid[keep], args.seed)
        body: dict[str, Any] = {"kind": "trees", **trees_artefact(booster)}
        reference = booster.predict(X)
    else:
        linear = fit_linear(X[keep], y[keep], args.seed)
        body = {"kind": "linear", **linear}
        reference = linear_scores(linear, X)
    artefact = {
        "format": "citeqa-ranker-1",
        "features": list(FEATURE_NAMES),
        "cascade": CASCADE,
        "choice_rule": f"lightgbm only if its pooled CV first hit beats linear's by "
        f">= {PREFER_LINEAR_WITHIN}",
        **body,
    }
    MODEL.write_text(json.dumps(artefact, separators=(",", ":")) + "\n")

    from qa.search.learned import LearnedRanker

    ranker = LearnedRanker(MODEL, sha256=sha256(MODEL))
    mine = ranker.score_matrix(X)
    if not np.allclose(mine, reference, rtol=0, atol=1e-9):
        raise SystemExit(f"numpy scores differ from the trainer's: {abs(mine - reference).max()}")
    full_fit = first_hits(cascaded(reference, keep, data["weighted"]), y, qid).sum() / n_questions
    SIDECAR.write_text(
        json.dumps(
            {
                "model": MODEL.name,
                "sha256": sha256(MODEL),
                "kind": choice,
                "features": list(FEATURE_NAMES),
                "command": "python bench/train_ranker.py"
                + (f" --seed {args.seed}" if args.seed != SEED else "")
                + (f" --unit {args.unit}" if args.unit != "both" else ""),
                "unit": args.unit,
                "seed": args.seed,
                "params": {**LGBM_PARAMS, "rounds": LGBM_ROUNDS}
                if choice == "lightgbm"
                else {"C": 1.0, "standardised": True},
                "cascade": CASCADE,
                "choice_rule": f"lightgbm only if its pooled CV first hit beats linear's by "
                f">= {PREFER_LINEAR_WITHIN}",
                "data": {
                    "questions": str(questions_path.relative_to(SHARED)),
                    "questions_sha256": sha256(questions_path),
                    "articles": str(articles_path.relative_to(SHARED)),
                    "articles_sha256": sha256(articles_path),
                    "answerable_questions": len(questions),
                    "stores": units,
                    "candidate_rows": len(y),
                    "gold_among_candidates": round(float(reachable.mean()), 4),
                },
                "cross_validation": {"grouped_by": "article", **cv},
                "training_fit_first_hit": round(float(full_fit), 4),
                "versions": versions(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {MODEL} ({choice}, sha256 {sha256(MODEL)[:12]}) and {SIDECAR}")


def refit_threshold(
    data: dict[str, np.ndarray], scores: np.ndarray, groups: np.ndarray, questions: list[Any]
) -> dict[str, Any]:
    """The confidence of the top sentence under the hand-set and the learned ranker (CV
    scores), on squad-train's answerable questions: the threshold keeping the hand-set
    ranker's answered rate is reported, not applied (the confidence reads coverage of the top
    sentence, which the ranker changes)."""
    from qa.search.confidence import ABSTAIN_BELOW, COVERAGE_WEIGHT

    out: dict[str, Any] = {"abstain_below": ABSTAIN_BELOW}
    for name, s in (("weighted", data["weighted"]), ("chosen", scores)):
        top = first_rows(s, data["qid"])
        conf = data["dense_top"][top] + COVERAGE_WEIGHT * (
            data["coverage1"][top] + data["coverage_chunk"][top]
        )
        out[f"answered_{name}"] = round(float((conf >= ABSTAIN_BELOW).mean()), 4)
    return out


def versions() -> dict[str, str]:
    import platform

    out = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("lightgbm", "sklearn"):
        with contextlib.suppress(ImportError):
            out[name] = __import__(name).__version__
    return out


if __name__ == "__main__":
    main()
