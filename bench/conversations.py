"""Conversation sets asked turn by turn: how many first turns and follow-ups are cited right.

    python bench/conversations.py [FILE ...] [--home DIR] [--misses]

Each conversation is asked as the chat asks it (every turn with the earlier questions and the
answers given as history); a turn is cited right when the answer does not abstain and its [1]
sentence holds the turn's evidence string (tests/test_conversations.py's rule, which asserts
the floors on samples/conversations.jsonl). Default files: that set and
samples/conversations-blind.jsonl, whose three parts (ids h…, b…, k…) were written blind by
helpers who saw only the articles (samples/README.md); figures are printed per id prefix.
The store is --home, or a throwaway one holding samples/articles and ../shared/seeds.
Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import ROOT, SEEDS

DEFAULT_SETS = (
    ROOT / "samples" / "conversations.jsonl",
    ROOT / "samples" / "conversations-blind.jsonl",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_SETS))
    parser.add_argument("--home", help="a store holding the sample articles and the seed")
    parser.add_argument("--misses", action="store_true", help="print each turn cited wrong")
    args = parser.parse_args()

    from qa import Assistant

    home = args.home or tempfile.mkdtemp(prefix="citeqa-conversations-")
    counts: Counter[tuple[str, str]] = Counter()
    with Assistant(home=home) as assistant:
        if assistant.store.is_empty():
            print(assistant.ingest([str(ROOT / "samples" / "articles"), str(SEEDS)]).summary())
        for path in args.files:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    ask(assistant, json.loads(line), path, counts, args.misses)
    for group in sorted({g for g, _ in counts}):
        c = {k: counts[(group, k)] for k in ("first", "first_right", "follow", "follow_right")}
        print(
            f"{group:34s} first turns {c['first_right']}/{c['first']}, "
            f"follow-ups {c['follow_right']}/{c['follow']}, "
            f"wrongly abstained {counts[(group, 'abstained')]}/{c['follow']}, "
            f"unanswerable abstained {counts[(group, 'unanswerable_abstained')]}"
            f"/{counts[(group, 'unanswerable')]}"
        )


def ask(
    assistant: Any,
    conversation: dict[str, Any],
    path: Path,
    counts: Counter[tuple[str, str]],
    misses: bool,
) -> None:
    """Ask one conversation turn by turn, counting under "<file> <id prefix>"."""
    group = f"{path.name} {re.sub(r'[0-9]+$', '', conversation['id'])}"
    history: list[tuple[str, str]] = []
    for number, turn in enumerate(conversation["turns"]):
        answer = assistant.ask(turn["question"], history)
        evidence = turn["evidence"] or ()
        evidence = [evidence] if isinstance(evidence, str) else evidence
        first = answer.citations[0].sentence if answer.citations else ""
        right = not answer.abstained and any(e in first for e in evidence)
        if number == 0:
            counts[(group, "first")] += 1
            counts[(group, "first_right")] += right
        elif turn["answerable"]:
            counts[(group, "follow")] += 1
            counts[(group, "follow_right")] += right
            counts[(group, "abstained")] += answer.abstained
        else:
            counts[(group, "unanswerable")] += 1
            counts[(group, "unanswerable_abstained")] += answer.abstained
        if misses and turn["answerable"] and not right:
            print(f"{conversation['id']}.{number} {turn['question']!r} → {answer.text[:90]!r}")
        history.append((turn["question"], answer.text))


if __name__ == "__main__":
    main()
