"""The reader's misses grouped by shape: why the sentence cited [1] does not answer.

    citeqa --home H eval QUESTIONS --out DIR      # H holds the set's corpus
    python bench/misses.py QUESTIONS ARTICLES DIR/per_question.jsonl --home H

Every answerable question whose [1] is not a hit falls in the first shape that fits:

* abstained — no citation at all;
* wrong article — [1] comes from another article than the question's;
* answer one sentence before — right article, and the sentence before [1] holds the answer
  (the cited sentence refers back: "He said…", "The figure…");
* gold elsewhere in the article's top 10 — right article, and a hit is in the evidence list;
* answer kind missing — right article, the question asks who/when/how many and [1] holds no
  name, date or number;
* other — right article, the kind is there, the wrong sentence anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+")  # roughly: the sentence before [1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions")
    parser.add_argument("articles")
    parser.add_argument("per_question")
    parser.add_argument("--home", required=True)
    parser.add_argument("--examples", type=int, default=2)
    args = parser.parse_args()

    from qa.answer_type import expected_kind, holds_kind
    from qa.eval.matching import matcher
    from vectorstore.embed import SentenceTransformerEmbedder
    from vectorstore.settings import Settings
    from vectorstore.store import open_store

    raw = {q["id"]: q for q in map(json.loads, Path(args.questions).read_text().splitlines())}
    titles = {
        str(a["id"]): a["title"]
        for a in map(json.loads, Path(args.articles).read_text().splitlines())
    }
    store = open_store(Settings(home=Path(args.home)), SentenceTransformerEmbedder())
    title_of = {a.id: a.title for a in store.list_articles()}

    shapes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    answerable = 0
    for row in map(json.loads, Path(args.per_question).read_text().splitlines()):
        q = raw[row["id"]]
        if not row["answerable"]:
            continue
        answerable += 1
        if row["first_citation_hit"]:
            continue
        hit = matcher(q.get("evidence") or (), q.get("answers") or ())
        first = next((c for c in row["citations"] if c["n"] == 1), None)
        gold_title = titles.get(str(q.get("article")), q.get("article"))
        if first is None:
            shape = "abstained"
        elif title_of.get(first["article_id"]) != gold_title:
            shape = "wrong article"
        else:
            text = store.text(first["article_id"]) or ""
            start = text.find(first["sentence"])
            before = text[max(0, start - 400) : start]
            previous = SENTENCE_END.split(before.strip())[-1] if before.strip() else ""
            kind = expected_kind(q["question"])
            if previous and hit(previous):
                shape = "answer one sentence before"
            elif row.get("hit10"):
                shape = "gold elsewhere in the top 10"
            elif kind and not holds_kind(first["sentence"], kind):
                shape = f"answer kind missing ({kind})"
            else:
                shape = "other"
        shapes[shape] += 1
        cited = first["sentence"][:90] if first else ""
        examples.setdefault(shape, []).append(f"{q['question']!r} → {cited!r}")
    misses = sum(shapes.values())
    print(f"{answerable} answerable questions, {misses} misses ({misses / answerable:.1%})")
    for shape, count in shapes.most_common():
        print(f"  {shape:34s} {count:5d}  {count / answerable:6.1%} of questions")
        for example in examples[shape][: args.examples]:
            print(f"      e.g. {example}")
    store.close()


if __name__ == "__main__":
    main()
