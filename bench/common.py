"""Helpers shared by the benchmarks: corpus location, peak memory, child processes."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SQUAD = SHARED / "bench" / "squad"
SEEDS = SHARED / "seeds"


def default_corpus() -> list[Path]:
    paths = [SQUAD / "articles.jsonl"] if (SQUAD / "articles.jsonl").exists() else []
    if SEEDS.is_dir():
        paths.append(SEEDS)
    if not paths:
        paths = [ROOT / "samples" / "articles"]
    return paths


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM…) in MB; 0 when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def run_child(module_args: list[str]) -> dict:
    """Run a benchmark step in a fresh interpreter so its peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, *module_args], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(module_args)}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
