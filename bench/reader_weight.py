"""How much the reader's score counts beside the ranker's: a grid over the dev sets.

    python bench/reader_weight.py [--squad-home H] [--newsqa-home H] [--samples-home H] [--write]

bench/train_reader.py chose the weight by 2-fold cross-validation on squad-train, where each
fold's reader learns from half of its 10 articles; the shipped reader learns from all of them
and is stronger, so it can be given more say. This script measures that directly: for every
answerable question of SQuAD dev, NewsQA dev and samples/questions.jsonl it searches as the
chat does, reads the best TOP_N sentences and records ranker score, alignment, reader score
and whether each sentence is right, then scores each weight by its first-sentence hit rate
(abstention is decided before the reader and does not depend on the weight). The chosen
weight is the best mean of the SQuAD and NewsQA rates (the two sets count alike; the sample
set is too small to choose by and is reported). `--write` puts it in the reader's sidecar with
the figures. No model is trained here; the reader's weights are untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import ROOT, SEEDS, SHARED, SQUAD

WEIGHTS = (0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
NEWSQA = SHARED / "bench" / "newsqa"
SETS = {
    "squad": (SQUAD / "questions-dev.jsonl", [SQUAD / "articles.jsonl", SEEDS]),
    "newsqa": (NEWSQA / "dev-questions.jsonl", [NEWSQA / "dev-articles.jsonl"]),
    "samples": (ROOT / "samples" / "questions.jsonl", [ROOT / "samples" / "articles"]),
}
CHOOSE_BY = ("squad", "newsqa")


def heads(home: str | None, questions: Path, corpus: list[Path]) -> list[dict[str, Any]]:
    """Each answerable question's best TOP_N sentences: score, alignment, reader, right."""
    from qa import Assistant
    from qa.eval.evaluate import read_questions
    from qa.search.alignment import TOP_N
    from qa.search.head import passage

    out = []
    with Assistant(home=home or tempfile.mkdtemp(prefix="citeqa-weight-")) as assistant:
        if assistant.store.is_empty():
            print(f"  ingest: {assistant.ingest([str(p) for p in corpus]).summary()}")
        reader = assistant.reader
        assert reader is not None, "the reader is off (CITEQA_READER=0)"
        for q in read_questions(questions):
            if not q.answerable:
                continue
            result = assistant.searcher.search(q.question, k=10)
            head = result.evidence[:TOP_N]
            hit, aligned = q.matcher(), result.aligned
            read = reader.scores(q.question, [passage(e.title, e.sentence) for e in head])
            out.append(
                {
                    "score": [e.score for e in head],
                    "align": [aligned.get((e.article_id, e.sentence_index), 0.0) for e in head],
                    "read": read.tolist(),
                    "right": [int(hit(e.sentence)) for e in head],
                }
            )
    return out


def first_hit(rows: list[dict[str, Any]], weight: float, align_weight: float) -> float:
    """Share of questions whose first sentence is right once the head is reordered by
    score + align_weight x alignment + weight x reader (held to its range), as the chat does."""
    from qa.search.reader import packaged_reader

    low, high = packaged_reader().meta.score_range or (-np.inf, np.inf)
    hits = []
    for r in rows:
        if not r["score"]:
            hits.append(0)
            continue
        read = weight * np.clip(r["read"], low, high)
        total = np.array(r["score"]) + align_weight * np.array(r["align"]) + read
        hits.append(r["right"][int(np.argmax(total))])
    return float(np.mean(hits))


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in SETS:
        parser.add_argument(f"--{name}-home", help=f"a store holding the {name} corpus")
    parser.add_argument("--write", action="store_true", help="put the chosen weight in the sidecar")
    args = parser.parse_args()

    from qa.search.alignment import WEIGHT as ALIGN_WEIGHT
    from qa.search.reader import PACKAGED_READER, sidecar

    figures: dict[str, dict[str, float]] = {}
    sizes = {}
    for name, (questions, corpus) in SETS.items():
        print(f"{name}: reading the heads of {questions.name}", flush=True)
        rows = heads(getattr(args, f"{name}_home"), questions, corpus)
        sizes[name] = len(rows)
        figures[name] = {f"{w:g}": round(first_hit(rows, w, ALIGN_WEIGHT), 4) for w in WEIGHTS}
        print(
            f"  {len(rows)} answerable: "
            + "  ".join(f"w{k} {v:.4f}" for k, v in figures[name].items())
        )
    mean = {f"{w:g}": float(np.mean([figures[s][f"{w:g}"] for s in CHOOSE_BY])) for w in WEIGHTS}
    chosen = max(WEIGHTS, key=lambda w: (round(mean[f"{w:g}"], 6), -w))  # ties: the smaller
    print(f"chosen weight {chosen:g} (mean of {', '.join(CHOOSE_BY)} {mean[f'{chosen:g}']:.4f})")
    if args.write:
        path = sidecar(PACKAGED_READER)
        meta = json.loads(path.read_text())
        meta["weight"] = chosen
        meta["weight_choice"] = {
            "command": "python bench/reader_weight.py --write",
            "why": "the shipped reader (all 10 squad-train articles) is stronger than the CV "
            "folds' (5 each); the weight is the best mean first-sentence hit of SQuAD dev and "
            "NewsQA dev answerable questions",
            "questions": sizes,
            "first_hit": figures,
            "chosen": chosen,
        }
        path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote weight {chosen:g} to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
