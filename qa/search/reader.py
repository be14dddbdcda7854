"""A reader that reads the question and each of the best few sentences together.

The retrieval signals score a sentence and the question apart (a cosine, shared words), so
within the right article they often put first a sentence that repeats the question's words over
the one that answers it (bench/RESULTS.md, misses by shape). The reader is a cross-encoder:
the six layers of the packaged all-MiniLM-L6-v2 with a scoring head, fine-tuned on
squad-train only (`python bench/train_reader.py`, fixed seed, folds by article), exported to
ONNX with int8 weights (`reader_model.onnx`) and run with onnxruntime, so answering needs no
torch. The assistant (qa/assistant.py) lets it reorder an extractive answer's first `top_n`
sentences by `ranker score + alignment bonus + weight × reader score`; the rest keep their
order below them (on by default; CITEQA_READER=0 leaves it out). Only the sentences the reader
could still put first are read, best first, and each pair read narrows that further
(`head_bonus`); the search reads the first sentence while it aligns (`read_one`). About 1.6
pairs a question are left to read after the search, and the first sentence is always the one
reading every pair would put first.
Abstention is decided before, on the ranker's best sentence, as it was calibrated.

The model's sidecar `reader_model.meta.json` records its sha256 (checked before use: a changed
file is an error naming it), the training command, data, seed and cross-validated figures, and
the weight with the dev-set figures it was chosen by (`python bench/reader_weight.py --write`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.search.head import passage, reorder_head
from qa.types import Evidence
from vectorstore.errors import CiteqaError

PACKAGED_READER = Path(__file__).resolve().parent / "reader_model.onnx"


class ReaderModelError(RuntimeError, CiteqaError):
    """The reader's model file is missing, altered or unreadable."""


@dataclass(frozen=True)
class ReaderMeta:
    """What the sidecar says about the model and how to use it."""

    sha256: str
    max_tokens: int  # question and sentence together, in word pieces
    top_n: int  # how many of the evidence's first sentences the reader reorders
    weight: float  # reader score's weight beside the ranker's score
    # the lowest and highest score the model gave squad-train's candidates: scores are held to
    # it, so a sentence further than weight x (high - low) below the best cannot overtake it
    # and is not read (None: every sentence of the head is read)
    score_range: tuple[float, float] | None = None

    def within_reach(self, scores: np.ndarray) -> np.ndarray:
        """Which sentences the reader's bonus could still put first, given their scores
        before it: reading only these leaves the first sentence as reading all would."""
        if self.score_range is None or not len(scores):
            return np.ones(len(scores), dtype=bool)
        low, high = self.score_range
        return scores >= scores.max() - self.weight * (high - low)

    def bonus(self, score: float | None) -> float:
        """weight x `score` held to the range; for a sentence not read (None), weight x the
        range's low end, which keeps it below those read (0 when no range is recorded)."""
        low, high = self.score_range or (-np.inf, np.inf)
        if score is None:
            return self.weight * (low if np.isfinite(low) else 0.0)
        return self.weight * float(np.clip(score, low, high))


def sidecar(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".onnx") + ".meta.json")


def read_meta(model: Path) -> ReaderMeta:
    path = sidecar(model)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ReaderMeta(
            sha256=str(data["sha256"]),
            max_tokens=int(data["max_tokens"]),
            top_n=int(data["top_n"]),
            weight=float(data["weight"]),
            score_range=_score_range(data.get("score_range")),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReaderModelError(f"{path}: cannot read the reader's settings ({err})") from None


def _score_range(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    low, high = (float(x) for x in value)  # type: ignore[attr-defined]
    if not low < high:
        raise ValueError(f"score_range {value!r} is not [low, high]")
    return low, high


class SentenceReader:
    """Scores (question, sentence) pairs; higher means more likely to answer."""

    def __init__(self, model: Path = PACKAGED_READER, tokenizer: Path | None = None):
        meta = read_meta(model)
        try:
            data = model.read_bytes()
        except OSError as err:
            raise ReaderModelError(f"{model}: cannot read the reader ({err})") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != meta.sha256:
            raise ReaderModelError(
                f"{model}: sha256 {digest} is not the {meta.sha256} its sidecar records "
                "(retrain with `python bench/train_reader.py` or restore the file)"
            )
        import onnxruntime
        from tokenizers import Tokenizer

        self.meta = meta
        self._tokenizer = Tokenizer.from_file(str(tokenizer or packaged_tokenizer()))
        # longest first: the sentence is cut (as in training) unless the question is the
        # longer part, which only a question of hundreds of words is
        self._tokenizer.enable_truncation(meta.max_tokens, strategy="longest_first")
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # a handful of short pairs: one core is enough
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(data, options, ["CPUExecutionProvider"])

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One score per passage, each pair run on its own: int8 activations are scaled per
        run, so in a padded batch a pair's score would depend on the other pairs."""
        out = np.zeros(len(passages), dtype=np.float32)
        for n, encoding in enumerate(
            self._tokenizer.encode_batch([(question, p) for p in passages])
        ):
            feed = {
                "input_ids": np.asarray([encoding.ids], dtype=np.int64),
                "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
            }
            out[n] = float(np.asarray(self._session.run(None, feed)[0]).reshape(-1)[0])
        return out

    def head_bonus(
        self,
        question: str,
        head: Sequence[Evidence],
        before: np.ndarray,
        known: Mapping[tuple[str, int], float] | None = None,
    ) -> tuple[np.ndarray, int]:
        """(the reader's bonus for each sentence of `head`, how many pairs were read), given
        their scores `before` it and the scores already `known` (read while the search aligned,
        by (article id, sentence index)). Only the sentences it could still put first are
        read, best first, one pair at a time: once a score is known the best total so far is
        too, and a sentence whose score plus the highest bonus cannot reach it is not read.
        Sentences not read get the lowest bonus, so they stay below those read, in their
        order; the first sentence is the one reading them all would put first. One pair at a
        time on one core: the two cores here are siblings, and two pairs at once took 1.3x
        as long as one."""
        known = known or {}
        reach = self.meta.within_reach(before)
        best_first = [int(n) for n in np.argsort(-before, kind="stable") if reach[n]]
        bonus = np.full(len(head), self.meta.bonus(None), dtype=np.float64)
        if len(best_first) < 2:
            return bonus, 0

        def key(n: int) -> tuple[str, int]:
            return head[n].article_id, head[n].sentence_index

        # scores already known first (free, and they may spare a read), then best first
        unread = sorted(best_first, key=lambda n: key(n) not in known)
        ceiling = self.meta.bonus(np.inf)
        best, pairs = -np.inf, 0
        while unread := [m for m in unread if before[m] + ceiling >= best]:
            n, unread = unread[0], unread[1:]
            if key(n) in known:
                score = known[key(n)]
            else:
                score, pairs = self.read_one(question, head[n]), pairs + 1
            bonus[n] = self.meta.bonus(score)
            best = max(best, float(before[n] + bonus[n]))
        return bonus, pairs

    def read_one(self, question: str, evidence: Evidence) -> float:
        """The reader's score of one sentence (read after its title)."""
        return float(self.scores(question, [passage(evidence.title, evidence.sentence)])[0])

    def reorder(self, question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
        """The first `top_n` sentences by ranker score + weight × reader score; the rest after
        (qa/search/head.py)."""
        head = evidence[: self.meta.top_n]
        if len(head) < 2:
            return list(evidence)
        bonus, _ = self.head_bonus(question, head, np.array([e.score for e in head]))
        return reorder_head(evidence, bonus)


def packaged_tokenizer() -> Path:
    """The packaged MiniLM's tokenizer: the reader is built from that model's layers."""
    from vectorstore.embed import packaged_model_dir

    return Path(packaged_model_dir()) / "tokenizer.json"


@lru_cache(maxsize=1)
def packaged_reader() -> SentenceReader:
    """The reader shipped in the repo (loaded once per process)."""
    return SentenceReader(PACKAGED_READER)
