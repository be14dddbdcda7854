"""The abstention signals of every question of a set, one JSON line each, for fitting and
checking the abstention model (bench/train_abstain.py).

    python bench/abstain_data.py --set squad-train|squad|samples|newsqa --out FILE [--home DIR]

Each question is searched as `Assistant.ask` searches a first turn; the row holds the signals
`qa.search.confidence.abstain_features` reads, whether the question is answerable, and whether
its top sentence answers. On `squad-train` every answerable question is also searched with its
own article excluded (`--off-topic`, the default there): the collection then holds no answer,
which is what an off-topic question looks like; SQuAD dev's unanswerable questions are of that
kind, the 348 on-topic unanswerable ones of squad-train and the sample set's are the other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import ROOT, SEEDS, SHARED, SQUAD

SETS = {
    "squad-train": (
        [SHARED / "bench" / "squad-train" / "articles.jsonl"],
        SHARED / "bench" / "squad-train" / "questions.jsonl",
    ),
    "squad": ([SQUAD / "articles.jsonl", SEEDS], SQUAD / "questions-dev.jsonl"),
    "samples": ([ROOT / "samples" / "articles"], ROOT / "samples" / "questions.jsonl"),
    "newsqa": (
        [SHARED / "bench" / "newsqa" / "dev-articles.jsonl"],
        SHARED / "bench" / "newsqa" / "dev-questions.jsonl",
    ),
}


def titles_by_data_id(corpus: list[Path]) -> dict[str, str]:
    """The data's article id → its title (stored articles are found by title)."""
    found: dict[str, str] = {}
    for path in corpus:
        if path.suffix == ".jsonl":
            for line in path.read_text().splitlines():
                item = json.loads(line)
                found[str(item.get("id"))] = str(item.get("title", ""))
    return found


def row(assistant: Any, q: Any, answers: Any, excluded: str | None = None) -> dict[str, Any]:
    from qa.assistant import SEARCH_K
    from qa.filters import Filters
    from qa.search.confidence import abstain_features

    filters = Filters()
    if excluded is not None:
        keep = tuple(a.id for a in assistant.store.list_articles() if a.id != excluded)
        filters = Filters(articles=keep)
    result = assistant.searcher.search(q.question, SEARCH_K, filters)
    features = abstain_features(assistant.store, q.question, result)
    top = result.evidence[0].sentence if result.evidence else ""
    return {
        "id": q.id,
        "kind": "off-topic"
        if excluded
        else ("answerable" if q.answerable else getattr(q, "type", None) or "unanswerable"),
        "answerable": bool(q.answerable and excluded is None),
        "top_hit": bool(q.answerable and excluded is None and top and answers(q, top)),
        "confidence": result.confidence,
        **features,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", required=True, choices=sorted(SETS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--home")
    parser.add_argument("--no-off-topic", action="store_true")
    args = parser.parse_args()

    from qa import Assistant
    from qa.eval.evaluate import read_questions
    from qa.eval.matching import matcher

    corpus, question_file = SETS[args.set]
    questions = read_questions(question_file)
    home = args.home or tempfile.mkdtemp(prefix=f"citeqa-abstain-{args.set}-")
    titles = titles_by_data_id(corpus)
    article_of = {
        str(item.get("id")): str(item.get("article", ""))
        for item in map(json.loads, question_file.read_text().splitlines())
    }

    def answers(q: Any, sentence: str) -> bool:
        return matcher(q.evidence, q.answers)(sentence)

    with Assistant(home=home) as assistant, open(args.out, "w") as out:
        if assistant.store.is_empty():
            print(assistant.ingest([str(p) for p in corpus]).summary(), flush=True)
        stored = {a.title: a.id for a in assistant.store.list_articles()}
        off_topic = args.set == "squad-train" and not args.no_off_topic
        for number, q in enumerate(questions):
            out.write(json.dumps(row(assistant, q, answers)) + "\n")
            data_article = article_of.get(q.id, "")
            article = stored.get(titles.get(data_article, data_article))
            if off_topic and q.answerable and article and number % 3 == 0:
                out.write(json.dumps(row(assistant, q, answers, excluded=article)) + "\n")
            if number % 500 == 0:
                print(f"{args.set} {number}/{len(questions)}", flush=True)


if __name__ == "__main__":
    main()
