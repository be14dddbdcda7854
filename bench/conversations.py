"""Conversation sets asked turn by turn: how many first turns and follow-ups are cited right.

    python bench/conversations.py [FILE ...] [--home DIR] [--misses]

Each conversation is asked as the chat asks it, through tests/test_conversations.py's
`conversation_rates` (every turn with the earlier questions and the answers given as history;
a turn is cited right when the answer does not abstain and its [1] sentence holds the turn's
evidence string). That test asserts the floors on samples/conversations.jsonl; this prints
figures for any set. Default files: that set and samples/conversations-blind.jsonl, whose
three parts (ids h…, b…, k…) were written blind by helpers who saw only the articles
(samples/README.md); figures are printed per file and id prefix. The store is --home, or a
throwaway one holding samples/articles and ../shared/seeds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

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
    from vectorstore.query_encoder import cache_root

    # the tests' conftest points the query encoder's export cache at a fresh folder, which
    # embeds questions through torch instead of the ONNX export the chat uses: keep the user's
    os.environ["CITEQA_CACHE_DIR"] = str(cache_root())
    from tests import test_conversations as chat

    home = args.home or tempfile.mkdtemp(prefix="citeqa-conversations-")
    with Assistant(home=home) as assistant:
        if assistant.store.is_empty():
            print(assistant.ingest([str(ROOT / "samples" / "articles"), str(SEEDS)]).summary())
        for path in args.files:
            groups: dict[str, list[tuple[str, list[chat.Turn]]]] = {}
            for cid, turns in chat.read_conversations(path):
                groups.setdefault(re.sub(r"[0-9]+$", "", cid), []).append((cid, turns))
            for prefix, conversations in groups.items():
                rates = chat.conversation_rates(assistant, conversations)
                print(
                    f"{path.name} {prefix:4s} first turns {rates.first_right}/{rates.first}, "
                    f"follow-ups {rates.follow_right}/{rates.follow}, "
                    f"wrongly abstained {rates.abstained}/{rates.follow}, "
                    f"unanswerable abstained "
                    f"{rates.unanswerable_abstained}/{rates.unanswerable}"
                )
                if args.misses:
                    print("\n".join(f"  {miss}" for miss in rates.misses))


if __name__ == "__main__":
    main()
