"""How close the embedding stage gets to this CPU's matmul throughput.

    python bench/roofline.py

Measures torch matmul throughput in bf16 and fp32 (large square matrices: the roofline; and the
model's own layer shapes), counts the model's FLOPs per token from its config, embeds real
sentences, and prints the share of the bf16 roofline the embedding reaches.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def matmul_gflops(dtype_name: str, m: int, k: int, n: int, seconds: float = 1.0) -> float:
    """Sustained GFLOP/s of one (m×k)@(k×n) product, repeated for about `seconds`."""
    import torch

    dtype = getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[dtype_name])
    a = torch.randn(m, k, dtype=dtype)
    b = torch.randn(k, n, dtype=dtype)
    for _ in range(3):
        a @ b
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        runs += 1
    return 2 * m * k * n * runs / (time.perf_counter() - started) / 1e9


def matmul_roofline(hidden: int = 384, intermediate: int = 1536, rows: int = 1280) -> dict:
    """Peak (2048³) and model-shaped throughput for bf16 and fp32, in GFLOP/s."""
    out: dict[str, float] = {}
    for dtype in ("bf16", "fp32"):
        out[f"{dtype}_peak"] = matmul_gflops(dtype, 2048, 2048, 2048)
        # a batch of 32 sentences × 40 tokens through the model's layer shapes, FLOP-weighted
        square = matmul_gflops(dtype, rows, hidden, hidden, 0.5)
        up = matmul_gflops(dtype, rows, hidden, intermediate, 0.5)
        down = matmul_gflops(dtype, rows, intermediate, hidden, 0.5)
        flops = [4 * hidden * hidden, hidden * intermediate, intermediate * hidden]
        seconds = sum(f / g for f, g in zip(flops, [square, up, down], strict=True))
        out[f"{dtype}_model_shapes"] = sum(flops) / seconds
    return {k: round(v, 1) for k, v in out.items()}


def model_flops_per_token(config: Any, mean_tokens: float) -> float:
    """Multiply-adds ×2 of a BERT-style encoder per token: projections, FFN, attention."""
    layers = int(config.num_hidden_layers)
    hidden = int(config.hidden_size)
    intermediate = int(config.intermediate_size)
    linear = 4 * hidden * hidden + 2 * hidden * intermediate
    attention = 2 * mean_tokens * hidden  # QKᵀ and PV
    return 2.0 * layers * (linear + attention)


def embedding_throughput(embedder: object, sentences: Sequence[str]) -> tuple[dict, np.ndarray]:
    """Embed `sentences` once (after a warm-up); tokens/s, GFLOP/s and the vectors."""
    tokens = sum(embedder.count_tokens(sentences)) + 2 * len(sentences)  # type: ignore[attr-defined]
    embedder.embed_documents(list(sentences[:64]))  # type: ignore[attr-defined]
    started = time.perf_counter()
    vectors = embedder.embed_documents(list(sentences))  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    config = embedder._model[0].auto_model.config  # type: ignore[attr-defined]
    flops = model_flops_per_token(config, tokens / max(1, len(sentences)))
    return {
        "sentences": len(sentences),
        "tokens": tokens,
        "chars": sum(map(len, sentences)),
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds),
        "chars_per_s": round(sum(map(len, sentences)) / seconds),
        "gflops": round(tokens * flops / seconds / 1e9, 1),
        "mflop_per_token": round(flops / 1e6, 2),
        "precision": getattr(embedder, "precision", "?"),
    }, vectors


def report(roof: dict, embed: dict) -> list[str]:
    share_peak = embed["gflops"] / roof["bf16_peak"]
    share_shapes = embed["gflops"] / roof["bf16_model_shapes"]
    return [
        f"matmul bf16: {roof['bf16_peak']:.0f} GFLOP/s peak (2048³), "
        f"{roof['bf16_model_shapes']:.0f} at the model's shapes; fp32: {roof['fp32_peak']:.0f} / "
        f"{roof['fp32_model_shapes']:.0f}",
        f"embedding ({embed['precision']}): {embed['sentences']:,} sentences, "
        f"{embed['tokens_per_s']:,} tokens/s, {embed['chars_per_s']:,} chars/s, "
        f"{embed['gflops']:.0f} GFLOP/s ({embed['mflop_per_token']} MFLOP/token) = "
        f"{share_peak:.0%} of the bf16 peak, {share_shapes:.0%} of bf16 at the model's shapes",
    ]


def main() -> None:
    from bench.synth import pool_sentences
    from vectorstore.embed import SentenceTransformerEmbedder

    roof = matmul_roofline()
    embed, _ = embedding_throughput(SentenceTransformerEmbedder(), pool_sentences()[:3000])
    print("\n".join(report(roof, embed)))


if __name__ == "__main__":
    main()
