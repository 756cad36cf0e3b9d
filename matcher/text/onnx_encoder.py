"""A registered model's encoder on onnxruntime: exported once from the verified weights, checked against torch.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin transformers < 4.58 (this
stack runs 5.x), so the transformer is exported here with `torch.onnx.export` into the model cache
(``<cache>/<model>-onnx/model.onnx``, written atomically; a stamp beside it records which weights it
came from and the graph's SHA-256, so a changed or foreign file is exported again, never trusted).
Pooling (mean over the attention mask) and L2 normalisation are done in numpy, as the two registered
models do in sentence-transformers. Every load encodes a few probe sentences both ways and refuses the
graph unless each vector is within `CHECK_TOLERANCE` of torch's, so stored vectors never depend on
which encoder wrote them. Needs the optional extra ``peermatch[onnx]``.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matcher.text.embedding import normalise_rows
from matcher.text.models import ModelUnavailableError, RegisteredModel, file_sha256, model_cache_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

GRAPH_FILE = "model.onnx"
GRAPH_STAMP = ".peermatch-onnx.json"
OPSET = 17
CHECK_TOLERANCE = 1e-4     # the most any component of a probe vector may differ from torch's
# Our own probe sentences, of different lengths so that one batch pads (the graph's dynamic axes).
PROBES = (
    "I lost my job in spring and I have not told my family yet.",
    "Since the diagnosis I feel like nobody around me understands what the treatment takes out of me.",
    "My brother died last year. Some days are fine and some days I cannot get out of bed, and I never "
    "know which it will be when I wake up. I would like to talk to someone who has been through a loss "
    "like this and is still standing.",
    "ok",
)


class OnnxEncoderError(ModelUnavailableError):
    """The model cannot run on onnxruntime here; the message says why."""


def graph_folder(model: RegisteredModel, cache_dir: Path | None = None) -> Path:
    return (cache_dir or model_cache_dir()) / f"{model.name}-onnx"


def check_mean_pooling(st_model: SentenceTransformer) -> None:
    """Refuse models whose modules are not transformer, mean pooling and (optionally) normalisation."""
    kinds = [type(module).__name__ for module in st_model]
    pooling = getattr(st_model[1], "pooling_mode", None) if len(st_model) > 1 else None
    if kinds[:2] != ["Transformer", "Pooling"] or pooling != "mean" or any(k != "Normalize" for k in kinds[2:]):
        raise OnnxEncoderError(f"onnxruntime encodes only mean-pooling models; this one is {kinds} "
                               f"(pooling {pooling!r}): set PEERMATCH_ENCODER=torch.")


def export_graph(st_model: SentenceTransformer, path: Path) -> None:
    """The model's transformer as an ONNX graph at `path` (token ids and mask in, last hidden state out)."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = st_model.tokenizer(["an example"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about transformers' own Python branches on shapes, fixed for these inputs' ranks
        warnings.simplefilter("ignore")
        transformer = st_model[0].auto_model
        assert isinstance(transformer, torch.nn.Module)
        torch.onnx.export(LastHiddenState(transformer.eval()),
                          (example["input_ids"], example["attention_mask"]), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                          opset_version=OPSET, dynamo=False)


def prepared_graph(model: RegisteredModel, st_model: SentenceTransformer, cache_dir: Path | None = None) -> Path:
    """The model's ONNX graph in the cache, exported now unless a stamped graph of the same weights is there."""
    folder = graph_folder(model, cache_dir)
    path, stamp_path = folder / GRAPH_FILE, folder / GRAPH_STAMP
    if path.is_file() and _stamp_matches(stamp_path, path, model):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as work:
        exported, stamp = Path(work) / GRAPH_FILE, Path(work) / GRAPH_STAMP
        export_graph(st_model, exported)
        status = exported.stat()     # os.replace keeps it: same file, same size and time
        stamp.write_text(json.dumps({"weights_sha256": model.weights_sha256, "graph_sha256": file_sha256(exported),
                                     "opset": OPSET, "size": status.st_size, "mtime_ns": status.st_mtime_ns}),
                         encoding="utf-8")
        # graph first, then its stamp: a reader between the two sees a stamp that does not match, and exports
        os.replace(exported, path)
        os.replace(stamp, stamp_path)
    return path


def _stamp_matches(stamp_path: Path, path: Path, model: RegisteredModel) -> bool:
    """Whether `path` is the graph the stamp describes, exported from `model`'s registered weights."""
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if stamp.get("weights_sha256") != model.weights_sha256 or stamp.get("opset") != OPSET:
        return False
    status = path.stat()
    if (stamp.get("size"), stamp.get("mtime_ns")) == (status.st_size, status.st_mtime_ns):
        return True
    return stamp.get("size") == status.st_size and file_sha256(path) == stamp.get("graph_sha256")


def threads() -> int:
    """onnxruntime's intra-op threads: OMP_NUM_THREADS when set (`peermatch serve` sets 1), else its default."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise OnnxEncoderError("onnxruntime is not installed: pip install 'peermatch[onnx]', "
                               "or set PEERMATCH_ENCODER=torch.") from exc
    return onnxruntime


class OnnxEncoder:
    """Encodes like `SentenceTransformer.encode(normalize_embeddings=True)` for a mean-pooling model."""

    def __init__(self, path: Path, st_model: SentenceTransformer, intra_op_threads: int | None = None) -> None:
        onnxruntime = _onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads() if intra_op_threads is None else intra_op_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = st_model.tokenizer
        self.max_tokens = st_model.max_seq_length

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """L2-normalised mean-pooled vectors of `texts`, batched longest first (less padding), in input order."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Encoding", unit="batch")
        batches = [self._encode_batch([texts[i] for i in order[first:first + batch_size]]) for first in starts]
        vectors = np.empty((len(texts), batches[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(batches)
        return vectors

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        tokens = self.tokenizer(batch, return_tensors="np", padding=True, truncation=True,
                                max_length=self.max_tokens)
        mask = tokens["attention_mask"].astype(np.int64)
        hidden = self.session.run(None, {"input_ids": tokens["input_ids"].astype(np.int64), "attention_mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        return normalise_rows((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None))


def largest_difference(encoder: OnnxEncoder, st_model: SentenceTransformer) -> float:
    """The largest difference of any component of the probe vectors between onnxruntime and torch."""
    reference = st_model.encode(list(PROBES), convert_to_numpy=True, normalize_embeddings=True)
    return float(np.abs(encoder.encode(list(PROBES)) - reference).max())


def load_onnx_encoder(model: RegisteredModel, st_model: SentenceTransformer,
                      cache_dir: Path | None = None) -> OnnxEncoder:
    """`model` on onnxruntime, its graph prepared in the cache and checked against torch on the probes.

    Raises
    ------
    OnnxEncoderError: onnxruntime is missing, the model is not mean pooling, or the graph disagrees with torch.
    """
    _onnxruntime()
    check_mean_pooling(st_model)
    encoder = OnnxEncoder(prepared_graph(model, st_model, cache_dir), st_model)
    moved = largest_difference(encoder, st_model)
    if moved > CHECK_TOLERANCE:
        raise OnnxEncoderError(f"{model.name} on onnxruntime gives vectors up to {moved:.2g} away from torch's "
                               f"(at most {CHECK_TOLERANCE:g} allowed): not using it; delete "
                               f"{graph_folder(model, cache_dir)} to export it again, or set PEERMATCH_ENCODER=torch.")
    return encoder
