"""Scale benchmark: ingest speed, store size, ask latency and memory at 1k, 3k and 10k articles.

    python bench/scale.py [--sizes 1000,3000,10000] [--modes embedded,server] [--questions 200]
                          [--probe 1000] [--out bench/scale.json] [--chart docs/scale.png]

What is real and what is synthesised (see bench/synth.py): paragraphs, sentences, questions
and every vector are real; the articles are synthesised by joining 3 random paragraphs of the
SQuAD benchmark corpus under new titles, dates and ids. Each distinct sentence is embedded by the
real model once, up front (that run gives the embedding throughput and its share of the matmul
roofline). Each size is reached in two parts: its articles up to the last `--probe` come from
that cache (the model is skipped, so the run stays short), and the last `--probe` articles go
through the whole pipeline with the model embedding every sentence: their throughput is the
size's ingest throughput, split into the model's time, Chroma's upserts and the rest. Queries
are always embedded by the model. Each step runs in its own process; `server` runs the same
steps against a local `chroma run` server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SQUAD, machine, peak_rss_mb, run_child
from bench.serve import free_port, measure_serve


def child_ingest(home: str, url: str, articles: str, cache_dir: str) -> dict:
    """Ingest one file of articles; with `cache_dir` empty every sentence goes to the model."""
    from bench.synth import CachedEmbedder, load_cache
    from vectorstore.embed import SentenceTransformerEmbedder
    from vectorstore.ingest import ingest_paths
    from vectorstore.settings import Settings
    from vectorstore.store import open_store

    model = SentenceTransformerEmbedder()
    embedder = CachedEmbedder(model, *load_cache(Path(cache_dir))) if cache_dir else model
    started = time.perf_counter()
    store = open_store(Settings(home=Path(home), chroma_url=url or None), embedder)
    opened = time.perf_counter() - started
    report = ingest_paths(store, embedder, [articles])
    seconds = time.perf_counter() - started - opened
    store.close()
    return {
        "open_s": round(opened, 2),
        "ingest_s": round(seconds, 2),
        "chroma_s": round(report.extra.get("chroma_seconds", 0.0), 2),
        "embed_s": round(report.extra.get("embed_seconds", 0.0), 2),
        "sentences": report.sentences,
        "added": len(report.added),
        "unchanged": len(report.unchanged),  # synthesised twins of an earlier article
        "failed": len(report.failed),
        "embedded_by_model": getattr(embedder, "misses", report.sentences),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def child_ask(home: str, url: str, count: int) -> dict:
    from qa import Assistant
    from qa.eval.evaluate import evaluate, read_questions, spread

    assistant = Assistant(home=home, chroma_url=url or None)
    questions = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
    summary, _ = evaluate(spread(questions, count), assistant.ask, warmup=20)
    assistant.close()
    return {
        "p50_ms": summary["latency_p50_ms"],
        "p95_ms": summary["latency_p95_ms"],
        "hit@1": summary["hit@1"],
        "questions": summary["questions"],
        "peak_rss_mb": round(peak_rss_mb()),
    }


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


class ChromaServer:
    """A local `chroma run` on a free port, for the server side of the comparison."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        chroma = str(Path(sys.executable).parent / "chroma")
        self.process = subprocess.Popen(
            [chroma, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        import socket

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("chroma run did not start")

    def rss_mb(self) -> float:
        from bench.serve import rss_mb

        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def run_mode(
    mode: str, sizes: list[int], questions: int, probe: int, cache_dir: Path, work: Path
) -> dict:
    """Build each size in turn: the step's articles from the embedding cache, except its last
    `probe` articles, which go through the whole pipeline (the model embeds every sentence) and
    give the size's ingest throughput."""
    from bench.synth import write_articles

    home = work / f"{mode}-home"
    server = ChromaServer(work / f"{mode}-chroma") if mode == "server" else None
    url = server.url if server else ""

    def ingest(first: int, last: int, cached: bool) -> dict:
        """One folder of JSONL files (5,000 articles each: files have a 20 MB limit)."""
        folder = work / f"{mode}-articles-{first}-{last}"
        folder.mkdir()
        chars = sum(
            write_articles(folder / f"{begin}.jsonl", begin, min(5000, last - begin))
            for begin in range(first, last, 5000)
        )
        step = run_child(
            [
                __file__,
                "--child-ingest",
                str(home),
                url,
                str(folder),
                str(cache_dir) if cached else "",
            ]
        )
        if step["failed"] or step["added"] + step["unchanged"] != last - first:
            raise SystemExit(f"ingest of {folder} failed: {step}")
        if step["unchanged"]:  # two synthesised articles drew the same paragraphs: stored once
            print(f"{folder.name}: {step['unchanged']} duplicate articles unchanged", flush=True)
        return {**step, "chars": chars}

    rows, built, build_s, sentences = [], 0, 0.0, 0
    try:
        for size in sizes:
            probe_from = max(built, size - probe)
            fill = ingest(built, probe_from, cached=True) if probe_from > built else None
            step = ingest(probe_from, size, cached=False)
            for part in (fill, step):
                if part:
                    build_s += part["ingest_s"]
                    sentences += part["sentences"]
            built = size
            asked = run_child([__file__, "--child-ask", str(home), url, str(questions)])
            disk = du_mb(home) + (du_mb(server.folder) if server else 0.0)
            chars, seconds = step["chars"], step["ingest_s"]
            row = {
                "articles": size,
                "sentences": sentences,
                # the probe: the size's last articles, through the whole pipeline
                "probe_articles": step["added"],
                "probe_sentences": step["sentences"],
                "chars_per_s": round(chars / seconds),
                "sentences_per_s": round(step["sentences"] / seconds),
                "ingest_s": seconds,
                "embed_s": step["embed_s"],
                "chroma_s": step["chroma_s"],
                "embedded_by_model": step["embedded_by_model"],
                # the same probe without the model's time, and without Chroma's upserts too
                "chars_per_s_without_model": round(chars / (seconds - step["embed_s"])),
                "chars_per_s_without_model_or_chroma": round(
                    chars / (seconds - step["embed_s"] - step["chroma_s"])
                ),
                "chroma_ms_per_sentence": round(1000 * step["chroma_s"] / step["sentences"], 3),
                "build_s": round(build_s, 1),
                # the ingest processes' peak (the fill holds the most: the store grows in it)
                "ingest_peak_rss_mb": max(part["peak_rss_mb"] for part in (fill, step) if part),
                "open_s": step["open_s"],
                "disk_mb": round(disk),
                **{f"ask_{k}": v for k, v in asked.items()},
            }
            if fill:  # the rest of the step, vectors from the cache (model-free throughput)
                row["fill"] = {
                    "articles": fill["added"],
                    "sentences": fill["sentences"],
                    "chars_per_s": round(fill["chars"] / fill["ingest_s"]),
                    "chroma_ms_per_sentence": round(1000 * fill["chroma_s"] / fill["sentences"], 3),
                    "embedded_by_model": fill["embedded_by_model"],
                }
            if server:
                row["chroma_server_rss_mb"] = round(server.rss_mb())
            rows.append(row)
            print(json.dumps({"mode": mode, **row}), flush=True)
        small = ingest(10_000_000, 10_000_010, cached=False)
        serve = measure_serve(str(home), url or None)
    finally:
        if server:
            server.stop()
    return {"rows": rows, "build_s": round(build_s, 1), "add_10": small, "serve": serve}


def print_table(results: dict) -> None:
    print(f"\nscale benchmark on {machine()}")
    roof, embed = results["roofline"], results["embedding"]
    from bench.roofline import report

    for line in report(roof, embed):
        print("  " + line)
    header = (
        f"{'mode':9}{'articles':>9}{'sentences':>10}{'chars/s':>9}{'sent/s':>8}"
        f"{'no-model':>10}{'chroma ms':>10}{'disk MB':>9}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'RSS MB':>8}"
    )
    print(header)
    for mode, result in results["modes"].items():
        for r in result["rows"]:
            print(
                f"{mode:9}{r['articles']:>9,}{r['sentences']:>10,}{r['chars_per_s']:>9,}"
                f"{r['sentences_per_s']:>8,}{r['chars_per_s_without_model']:>10,}"
                f"{r['chroma_ms_per_sentence']:>10.2f}{r['disk_mb']:>9,}"
                f"{r['ask_p50_ms']:>8.1f}{r['ask_p95_ms']:>8.1f}{r['ask_peak_rss_mb']:>8,}"
            )
    print(
        f"(chars/s, sent/s: the last {results['probe']:,} articles of each size, the model "
        f"embedding every sentence; no-model: the same without the model's time; chroma ms: "
        f"Chroma upsert per sentence)"
    )
    for mode, result in results["modes"].items():
        rows = result["rows"]
        first, last = rows[0], rows[-1]
        add = result["add_10"]

        def ratio(key: str, first: dict = first, last: dict = last) -> str:
            return f"{last[key] / first[key]:.0%}"

        print(
            f"{mode}: ask p50 {last['articles']:,}/{first['articles']:,} = "
            f"{last['ask_p50_ms'] / first['ask_p50_ms']:.2f}x (target <= 1.5x); ingest "
            f"throughput {ratio('chars_per_s')} of the first size (target >= 85%); "
            f"without the model {ratio('chars_per_s_without_model')}, without the model "
            f"and Chroma's upserts {ratio('chars_per_s_without_model_or_chroma')}; Chroma "
            f"upsert {first['chroma_ms_per_sentence']:.2f} -> "
            f"{last['chroma_ms_per_sentence']:.2f} ms per sentence; adding 10 articles took "
            f"{add['ingest_s']:.2f} s = "
            f"{add['ingest_s'] / result['build_s']:.2%} of building {last['articles']:,} "
            f"(target < 5%); serve RSS {result['serve']['rss_mb']:,} MB (target <= 1,500)"
        )


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, result in results["modes"].items():
        sizes = [r["articles"] for r in result["rows"]]
        left.plot(sizes, [r["ask_p50_ms"] for r in result["rows"]], "o-", label=f"{mode} p50")
        left.plot(sizes, [r["ask_p95_ms"] for r in result["rows"]], "o--", label=f"{mode} p95")
        right.plot(
            sizes,
            [r["ask_peak_rss_mb"] for r in result["rows"]],
            "o-",
            label=f"{mode}: ask process",
        )
        if "chroma_server_rss_mb" in result["rows"][0]:
            right.plot(
                sizes,
                [r["chroma_server_rss_mb"] for r in result["rows"]],
                "o:",
                label=f"{mode}: chroma run process",
            )
    left.set(xscale="log", xlabel="articles", ylabel="ask latency (ms)", ylim=(0, None))
    right.set(xscale="log", xlabel="articles", ylabel="peak RSS (MB)", ylim=(0, None))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    fig.suptitle("citeqa: ask latency and memory against collection size")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("--child-"):
        step, *rest = sys.argv[1:]
        if step == "--child-ingest":
            print(json.dumps(child_ingest(*rest)))
        else:
            print(json.dumps(child_ask(rest[0], rest[1], int(rest[2]))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--probe",
        type=int,
        default=1000,
        help="articles at the end of each size ingested with the model",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "scale.json"))
    parser.add_argument("--chart", default=str(Path(__file__).parent.parent / "docs" / "scale.png"))
    parser.add_argument("--keep", help="build the stores in this folder and keep them")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from bench.roofline import embedding_throughput, matmul_roofline
    from bench.synth import pool_sentences, save_cache
    from vectorstore.embed import SentenceTransformerEmbedder

    started = time.perf_counter()
    work = Path(args.keep or tempfile.mkdtemp(prefix="citeqa-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results: dict = {
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
            "sizes": sizes,
            "roofline": matmul_roofline(),
        }
        sentences = pool_sentences()
        embedder = SentenceTransformerEmbedder()
        results["embedding"], vectors = embedding_throughput(embedder, sentences)
        save_cache(work / "cache", sentences, vectors)
        del embedder, vectors
        results["probe"] = args.probe
        results["modes"] = {
            mode: run_mode(mode, sizes, args.questions, args.probe, work / "cache", work)
            for mode in args.modes.split(",")
        }
        results["wall_s"] = round(time.perf_counter() - started)
        Path(args.out).write_text(json.dumps(results, indent=2))
        print_table(results)
        chart(results, Path(args.chart))
        print(f"wrote {args.out} and {args.chart} in {results['wall_s']} s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
