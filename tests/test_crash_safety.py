"""Crash-safe ingest: a real `citeqa ingest` of 1,000 articles is SIGKILLed again and again.

All kills hit one store, as they would in real life. Each kill is aimed at a phase of the
ingest (start-up, embedding, Chroma writes, BM25 writes, manifest commit, just after a commit,
removal of replaced articles) by watching the store from outside; after every kill a new
ingest of the same files must finish with exit code 0 and leave the store exactly as a clean
ingest would: every article once, with all its sentences and chunks in the manifest, in Chroma
and in BM25, nothing else, and answers citing stored text. Between kills a random set of files
is edited, so every ingest has work to do and the replace path is crashed too.

CITEQA_CRASH_SEED=N repeats a run's random choices (the seed is printed); timing still varies.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.assistant import Assistant
from tests.store_invariants import (
    Council,
    Reference,
    check_cited,
    check_store,
    council,
    report,
    share_model,
)
from ui.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTICLES = 1000
KILLS = 10
MAX_ATTEMPTS = 18  # an attempt whose ingest ends before its planned moment is not a kill
EDITS = (60, 150)  # files edited between attempts, so the next ingest has work to do
QUESTIONS = 3  # asked after every recovery
PROCESS_TIMEOUT = 300.0
# where to aim each kill; shuffled by the seed (see Watcher.phase for what each one means)
PLANS = (
    "startup",
    "startup",
    "embedding",
    "embedding",
    "chroma-write",
    "chroma-write",
    "bm25-write",
    "manifest-commit",
    "after-commit",
    "remove-old",
)
CLEAN_ENV = {
    name: None
    for name in (
        "CITEQA_HOME",
        "CITEQA_CHROMA_URL",
        "CITEQA_MODEL",
        "CITEQA_DATE_ORDER",
        "CITEQA_MAX_FILE_MB",
    )
}


@dataclass(frozen=True)
class Look:
    """The store as seen from outside, without taking its lock."""

    opened: bool  # the child has the store open (its PID is in citeqa.pid)
    adding: int  # journal rows of an add in progress
    removing: int  # journal rows of a remove in progress
    articles: int
    bm25: tuple[tuple[int, int], tuple[int, int]]  # (inode, mtime) of both state.json files


class Watcher:
    """Polls the manifest (read-only) and the BM25 state files of a store another process writes."""

    def __init__(self, home: Path, pid: int):
        self.home = home
        self.pid = str(pid)
        self._db: sqlite3.Connection | None = None
        self._idle: tuple[tuple[int, int], tuple[int, int]] | None = None
        self._wrote = False

    def look(self) -> Look:
        try:
            opened = (self.home / "citeqa.pid").read_text().strip() == self.pid
        except OSError:
            opened = False
        adding = removing = articles = 0
        try:
            if self._db is None and (self.home / "manifest.sqlite3").exists():
                self._db = sqlite3.connect(
                    f"file:{self.home / 'manifest.sqlite3'}?mode=ro", uri=True, timeout=0.05
                )
            if self._db is not None:
                for action, n in self._db.execute(
                    "SELECT action, count(*) FROM pending GROUP BY action"
                ):
                    adding += n if action == "add" else 0
                    removing += n if action == "remove" else 0
                articles = self._db.execute("SELECT count(*) FROM articles").fetchone()[0]
        except sqlite3.Error:
            pass  # not created yet, or busy for a moment: the next look will tell
        return Look(
            opened, adding, removing, articles, (self._stamp("sentences"), self._stamp("chunks"))
        )

    def _stamp(self, field: str) -> tuple[int, int]:
        try:
            st = (self.home / "bm25" / field / "state.json").stat()
        except OSError:
            return (0, 0)
        return (st.st_ino, st.st_mtime_ns)

    def phase(self, look: Look) -> str:
        """Which step of an ingest the child is in (store.write: journal → Chroma → BM25
        sentences → BM25 chunks → manifest commit; then removal of replaced articles)."""
        if not look.opened:
            return "startup"  # imports, model loading, opening the store
        if look.removing:
            return "remove-old"
        if not look.adding:
            self._idle = look.bm25
            # reading, splitting, embedding; after a commit: the next batch, or finding the
            # articles the new ones replace
            return "after-commit" if self._wrote else "embedding"
        self._wrote = True
        idle = self._idle or look.bm25
        if look.bm25[0] == idle[0]:
            return "chroma-write"
        if look.bm25[1] == idle[1]:
            return "bm25-write"
        return "manifest-commit"

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


@dataclass
class Kill:
    plan: str
    phase: str  # what the watcher saw just before the kill
    seconds: float  # after the child started
    journal_left: int  # pending rows the killed child left behind
    articles_left: int
    recovery: str = ""  # the summary line of the ingest that followed


def citeqa() -> str:
    path = Path(sys.executable).parent / "citeqa"
    assert path.exists(), path
    return str(path)


def spawn_ingest(home: Path, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    with log.open("ab") as out:
        return subprocess.Popen(
            [citeqa(), "--home", str(home), "ingest", "--quiet", str(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def kill_at(
    plan: str, proc: subprocess.Popen[bytes], home: Path, rng: random.Random
) -> Kill | None:
    """SIGKILL the child when it reaches the planned phase (plus a random delay)."""
    watcher = Watcher(home, proc.pid)
    started = time.monotonic()
    startup_at = rng.uniform(0.3, 5.0)
    delay = {
        "embedding": rng.uniform(0.1, 1.5),
        "chroma-write": rng.uniform(0.0, 0.08),
        "bm25-write": rng.uniform(0.0, 0.01),
        "manifest-commit": 0.0,
        "after-commit": 0.0,
        "remove-old": rng.uniform(0.0, 0.03),
    }.get(plan, 0.0)
    fire_at: float | None = started + startup_at if plan == "startup" else None
    try:
        while proc.poll() is None:
            now = time.monotonic()
            assert now - started < PROCESS_TIMEOUT, "the ingest did not finish in time"
            phase = watcher.phase(watcher.look())
            if fire_at is None and phase == plan:
                fire_at = now + delay
            if fire_at is not None and now >= fire_at:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                if proc.returncode != -signal.SIGKILL:
                    return None  # it had already exited normally
                after = watcher.look()
                return Kill(
                    plan,
                    phase,
                    round(now - started, 3),
                    after.adding + after.removing,
                    after.articles,
                )
            time.sleep(0.002)
        return None
    finally:
        watcher.close()


def recover(home: Path, folder: Path, real_process: bool) -> str:
    """A new ingest of the same files: it must take the store over and finish cleanly."""
    if real_process:
        env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        done = subprocess.run(
            [citeqa(), "--home", str(home), "ingest", "--quiet", str(folder)],
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip().splitlines()[-1]
    result = CliRunner(env=CLEAN_ENV).invoke(
        main, ["--home", str(home), "ingest", "--quiet", str(folder)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_sigkill_during_ingest_loses_nothing(tmp_path, embedder, monkeypatch):
    """Ten SIGKILLs at different phases; after each, a re-ingest restores every article."""
    seed = int(os.environ.get("CITEQA_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\ncrash-safety seed: {seed} (CITEQA_CRASH_SEED={seed} repeats the choices)")
    rng = random.Random(seed)
    # recovery ingests and checks run in this process with the session's model (no reload)
    share_model(monkeypatch, embedder)
    folder = tmp_path / "articles"
    folder.mkdir()
    home = tmp_path / "home"
    log = tmp_path / "killed-ingests.log"
    current: list[Council] = [council(i) for i in range(ARTICLES)]
    for article in current:
        article.write(folder)
    reference = Reference(embedder)
    plans = list(PLANS)
    rng.shuffle(plans)
    kills: list[Kill] = []
    attempts = lost = 0
    started = time.monotonic()

    while len(kills) < KILLS:
        attempts += 1
        assert attempts <= MAX_ATTEMPTS, f"only {len(kills)} kills landed (seed {seed})"
        if attempts > 1:
            for number in rng.sample(range(ARTICLES), rng.randint(*EDITS)):
                current[number] = council(number, current[number].version + 1)
                current[number].write(folder)
        proc = spawn_ingest(home, folder, log)
        try:
            kill = kill_at(plans[0], proc, home, rng)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if kill is None:
            assert proc.returncode == 0, log.read_text(errors="replace")[-2000:]
        else:
            kills.append(kill)
            plans.pop(0)
        last = len(kills) == KILLS
        summary = recover(home, folder, real_process=last)
        if kill is not None:
            kill.recovery = summary

        expected = {a.id: a.text for a in current}
        origins = {str(folder / f"council_{a.number:04d}.json"): a.id for a in current}
        with Assistant(home=home) as assistant:
            lost += len(set(expected) - set(assistant.store.article_ids()))
            try:
                assert (
                    check_store(assistant.store, expected, reference, origins).articles == ARTICLES
                )
                for article in rng.sample(current, QUESTIONS):
                    answer = assistant.ask(article.question)
                    assert not answer.abstained, article.question
                    check_cited(answer, assistant.store, expected)
                    assert any(
                        c.article_id == article.id and article.answer in c.sentence
                        for c in answer.citations
                    ), (article.question, answer.text)
            except Exception as err:
                err.add_note(f"after kill {len(kills)} ({kill}), seed {seed}")
                raise

    phases = sorted({k.phase for k in kills})
    result = {
        "seed": seed,
        "kills": len(kills),
        "survived": len(kills),
        "records_lost": lost,
        "attempts": attempts,
        "phases": phases,
        "articles": ARTICLES,
        "seconds": round(time.monotonic() - started, 1),
        "detail": [asdict(k) for k in kills],
    }
    (tmp_path / "crash_summary.json").write_text(json.dumps(result, indent=2), "utf-8")
    for k in kills:
        print(
            f"  kill aimed at {k.plan:<15} landed in {k.phase:<15} at {k.seconds:6.2f} s; "
            f"journal rows left {k.journal_left:4d}; recovery: {k.recovery}"
        )
    print(f"kills survived: {len(kills)}/{len(kills)}, records lost: {lost} (seed {seed})")
    report("crash_safety", {k: v for k, v in result.items() if k != "detail"})
    assert lost == 0
    assert len(phases) >= 4, f"kills landed in too few phases: {phases} (seed {seed})"
