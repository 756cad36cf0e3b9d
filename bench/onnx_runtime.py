"""onnxruntime against torch for one sentence-transformers model: encode rate and how far similarities move.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin transformers < 4.58 (this stack
runs 5.x), so this module exports the model's transformer itself (`torch.onnx.export`), quantises a copy
with onnxruntime's dynamic int8 quantisation (per channel, MatMul weights) and encodes with mean pooling
and L2 normalisation, as all-MiniLM-L6-v2 and all-mpnet-base-v2 do. Used by ``python -m bench.onboard
--backends onnxruntime``; never by the service. Needs the optional extra ``peermatch[onnx]``.
"""
from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from matcher.text.embedding import Embedder

SIMILARITY_TOLERANCE = 0.01    # the most any pairwise cosine may move for a backend to be usable


def export_onnx(embedder: Embedder, folder: Path) -> Path:
    """The model's transformer as an ONNX graph (token ids and mask in, last hidden state out)."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    path = folder / "model.onnx"
    example = embedder.model.tokenizer(["an example"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        # the tracer warns about transformers' own Python branches on shapes, fixed for these inputs' ranks
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHiddenState(embedder.model[0].auto_model.eval()),
                          (example["input_ids"], example["attention_mask"]), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                          opset_version=17, dynamo=False)
    return path


def quantise_int8(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name("model.int8.onnx")
    quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    return target


class OnnxEncoder:
    """Encodes like `SentenceTransformer.encode(normalize_embeddings=True)` for a mean-pooling model."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1     # as the service's torch: one thread per worker
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = embedder.model.tokenizer
        self.max_tokens = embedder.model.max_seq_length
        self.batch_size = embedder.batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        batches = []
        for first in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(texts[first:first + self.batch_size], return_tensors="np", padding=True,
                                    truncation=True, max_length=self.max_tokens)
            mask = tokens["attention_mask"].astype(np.int64)
            hidden = self.session.run(None, {"input_ids": tokens["input_ids"].astype(np.int64),
                                             "attention_mask": mask})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            batches.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.vstack(batches).astype(np.float32)


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

    with tempfile.TemporaryDirectory(prefix="peermatch-onnx-") as folder:
        fp32 = export_onnx(embedder, Path(folder))
        encoders = {"torch": torch_encode, "onnxruntime-fp32": OnnxEncoder(fp32, embedder).encode,
                    "onnxruntime-int8": OnnxEncoder(quantise_int8(fp32), embedder).encode}
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
