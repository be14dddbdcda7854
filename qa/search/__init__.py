"""Finding evidence: the staged search and its LangChain retriever.

candidates (candidates.py) → features (features.py) → rank (rank.py) → evidence (evidence.py)
→ confidence (confidence.py), run in order by `Searcher` (searcher.py). The reader (reader.py)
is not a search stage: the assistant applies it to an extractive answer's best sentences.
"""

from qa.search.confidence import ABSTAIN_BELOW, Signals
from qa.search.features import CandidateFeatures
from qa.search.rank import Ranker, WeightedSumRanker
from qa.search.searcher import Searcher, SearchResult

__all__ = [
    "ABSTAIN_BELOW",
    "CandidateFeatures",
    "Ranker",
    "SearchResult",
    "Searcher",
    "Signals",
    "WeightedSumRanker",
]
