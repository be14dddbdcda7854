"""Cold start of `citeqa ask`: wall and CPU time of a fresh process answering one question.

    python bench/cli_start.py [--rounds 5] [--old REF_OR_DIR] [--home DIR]

Each round runs `python -m ui.cli --home H ask Q` (and `--help`) as a new process; with `--old`
(a git ref, default HEAD, exported to a temporary folder, or a folder holding an older tree) the
old and the new code run alternately in the same rounds, so both see the same machine load.
The store is built once from samples/articles with the new code. Wall time is what a user
waits; CPU time (user + system of the child) is less sensitive to other processes on the cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many vehicles cross the Old Tanner Bridge on a weekday?"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def timed(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall s, child CPU s) of `python -m ui.cli ARGS` run from `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=tree,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def old_tree(ref: str, into: Path) -> Path:
    if Path(ref).is_dir():
        return Path(ref)
    archive = into / "old.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", ref], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "old", filter="data")
    return into / "old"


def summary(name: str, runs: list[tuple[float, float]]) -> str:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    return (
        f"{name:<12} wall median {statistics.median(walls):5.2f} s (min {min(walls):5.2f}, "
        f"max {max(walls):5.2f}); CPU median {statistics.median(cpus):5.2f} s "
        f"(min {min(cpus):5.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--old", default="HEAD", help="git ref or folder; 'none' to skip")
    parser.add_argument("--home", type=Path, help="an existing store (default: samples)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="citeqa-cli-start-") as tmp:
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            timed(ROOT, ["--home", str(home), "ingest", "--quiet", str(ROOT / "samples/articles")])
        trees = {"new": ROOT}
        if args.old != "none":
            trees["old"] = old_tree(args.old, Path(tmp))
        ask = ["--home", str(home), "ask", QUESTION]
        for tree in trees.values():  # warm the page cache and .pyc files once, untimed
            timed(tree, ask)
        results: dict[str, list[tuple[float, float]]] = {f"{n} ask": [] for n in trees}
        results.update({f"{n} --help": [] for n in trees})
        for number in range(args.rounds):
            names = list(trees) if number % 2 == 0 else list(reversed(trees))
            for name in names:
                results[f"{name} ask"].append(timed(trees[name], ask))
                results[f"{name} --help"].append(timed(trees[name], ["--help"]))
            shown = ", ".join(f"{n} {results[f'{n} ask'][-1][0]:.2f} s" for n in names)
            print(f"round {number + 1}: ask {shown}; load {os.getloadavg()[0]:.1f}", flush=True)
        for name, runs in results.items():
            print(summary(name, runs))
        if "old" in trees:
            new, old = results["new ask"], results["old ask"]
            ratios = [o[0] / n[0] for o, n in zip(old, new, strict=True)]
            med = statistics.median
            wall = med(w for w, _ in old) / med(w for w, _ in new)
            cpu = med(c for _, c in old) / med(c for _, c in new)
            rounds = ", ".join(f"{r:.2f}x" for r in ratios)
            print(f"old/new ask wall per round: {rounds}; medians {wall:.2f}x, CPU {cpu:.2f}x")


if __name__ == "__main__":
    main()
