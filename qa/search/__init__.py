"""Finding evidence: the staged search and its LangChain retriever.

candidates (candidates.py) → features (features.py) → rank (rank.py) → evidence (evidence.py)
→ confidence (confidence.py) → reader (reader.py: reorders the best few, after the confidence
has read the ranker's best), run in order by `Searcher` (searcher.py).
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
