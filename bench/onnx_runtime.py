"""onnxruntime against torch for one sentence-transformers model: encode rate and how far similarities move.

The graph is exported as the service exports it (`matcher.text.onnx_encoder`), into a temporary folder;
a copy is quantised with onnxruntime's dynamic int8 quantisation (per channel, MatMul weights). All
three encoders run with the same intra-op threads as the service's onnxruntime (``OMP_NUM_THREADS``
when set, which `peermatch serve` sets to 1) and torch with its current thread count. Used by
``python -m bench.onboard --backends onnxruntime``. Needs the optional extra ``peermatch[onnx]``.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from matcher.text.embedding import Embedder
from matcher.text.onnx_encoder import OnnxEncoder, export_graph

SIMILARITY_TOLERANCE = 0.01    # the most any pairwise cosine may move for a backend to be usable


def quantise_int8(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name("model.int8.onnx")
    quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    return target


def timed(encode, texts: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - start, vectors


def compare_backends(embedder: Embedder, texts: list[str]) -> dict:
    """Rates of torch, onnxruntime fp32 and int8 on `texts` (best of two passes each, interleaved) and the
    largest change of any pairwise cosine against torch's vectors."""
    def torch_encode(batch: list[str]) -> np.ndarray:
        return embedder.model.encode(batch, batch_size=embedder.batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True)

    def onnx_encode(path: Path):
        encoder = OnnxEncoder(path, embedder.model)
        return lambda batch: encoder.encode(batch, embedder.batch_size)

    with tempfile.TemporaryDirectory(prefix="peermatch-onnx-") as folder:
        fp32 = Path(folder) / "model.onnx"
        export_graph(embedder.model, fp32)
        encoders = {"torch": torch_encode, "onnxruntime-fp32": onnx_encode(fp32),
                    "onnxruntime-int8": onnx_encode(quantise_int8(fp32))}
        seconds: dict[str, float] = {}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(2):
            for name, encode in encoders.items():
                took, vectors[name] = timed(encode, texts)
                seconds[name] = min(seconds.get(name, took), took)
    reference = vectors["torch"] @ vectors["torch"].T
    report = {}
    for name in encoders:
        moved = float(np.abs(vectors[name] @ vectors[name].T - reference).max())
        report[name] = {"texts_per_s": round(len(texts) / seconds[name], 1),
                        "ratio_to_torch": round(seconds["torch"] / seconds[name], 3),
                        "max_similarity_change": round(moved, 4),
                        "within_tolerance": moved <= SIMILARITY_TOLERANCE}
    return report
