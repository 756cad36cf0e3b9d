"""The onnxruntime encoder: exported once from verified weights, checked against torch, torch where it cannot run."""
from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest

from matcher.text import embedding, onnx_encoder
from matcher.text.embedding import Embedder, Encoder, requested_encoder
from matcher.text.models import MINILM, MPNET, ModelUnavailableError
from matcher.text.onnx_encoder import GRAPH_FILE, GRAPH_STAMP, OnnxEncoderError, graph_folder

TEXTS = [
    "After the miscarriage I stopped answering my friends' messages.",
    "I care for my mother, who has dementia, and I have not slept a whole night in months.",
    "ok",
    "Coming out to my parents went badly; I moved out the week after and I am still finding my feet in a "
    "new city where I know nobody, and some evenings the quiet is very loud.",
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A model cache of the test's own, so each test sees its own export."""
    monkeypatch.setenv("PEERMATCH_MODEL_CACHE", str(tmp_path))
    return tmp_path


def torch_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    return embedder.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)


def test_minilm_on_onnxruntime_gives_torchs_vectors_in_input_order(embedder, cache):
    onnx = Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")
    assert onnx.encoder is Encoder.ONNXRUNTIME and onnx.onnx is not None
    vectors = onnx.encode(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    # batched longest first and put back: every row is its own text's vector
    assert np.abs(vectors - torch_vectors(embedder, TEXTS)).max() < 1e-4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert onnx.encode([]).shape == (0, 384)
    assert (graph_folder(MINILM, cache) / GRAPH_FILE).is_file()


def test_the_graph_is_exported_once_and_reused(embedder, cache, monkeypatch):
    Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")
    stamp = json.loads((graph_folder(MINILM, cache) / GRAPH_STAMP).read_text())
    assert stamp["weights_sha256"] == MINILM.weights_sha256 and len(stamp["graph_sha256"]) == 64

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_encoder, "export_graph", no_export)
    again = Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")
    assert again.encoder is Encoder.ONNXRUNTIME


def test_a_changed_graph_is_exported_again_never_trusted(embedder, cache):
    Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")
    path = graph_folder(MINILM, cache) / GRAPH_FILE
    size = path.stat().st_size
    with open(path, "r+b") as graph:     # same size, other bytes: only the hash can tell
        graph.seek(size // 2)
        graph.write(b"\0" * 4096)
    assert onnx_encoder.file_sha256(path) != json.loads((path.parent / GRAPH_STAMP).read_text())["graph_sha256"]
    onnx = Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")
    assert onnx_encoder.file_sha256(path) == json.loads((path.parent / GRAPH_STAMP).read_text())["graph_sha256"]
    assert np.abs(onnx.encode(TEXTS[:2]) - torch_vectors(embedder, TEXTS[:2])).max() < 1e-4


def test_a_graph_that_disagrees_with_torch_is_refused_when_asked_for(embedder, cache, monkeypatch):
    real = onnx_encoder.OnnxEncoder.encode
    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "encode",
                        lambda self, texts, *a, **k: real(self, texts, *a, **k) + np.float32(0.01))
    with pytest.raises(OnnxEncoderError, match="away from torch's .* set PEERMATCH_ENCODER=torch"):
        Embedder(embedder.model, embedder.model_name, encoder="onnxruntime")


def test_by_default_a_graph_that_cannot_run_leaves_torch_encoding(embedder, cache, monkeypatch, caplog):
    prefers_onnx = dataclasses.replace(MINILM, encoder=Encoder.ONNXRUNTIME)
    monkeypatch.setattr(embedding, "verified_registration", lambda name: prefers_onnx)
    assert Embedder(embedder.model, embedder.model_name).encoder is Encoder.ONNXRUNTIME
    monkeypatch.setattr(onnx_encoder, "largest_difference", lambda encoder, model: 0.5)
    with caplog.at_level(logging.WARNING, logger="matcher.text.embedding"):
        fallback = Embedder(embedder.model, embedder.model_name)
    assert fallback.encoder is Encoder.TORCH and fallback.onnx is None
    assert "Encoding all-MiniLM-L6-v2 with torch" in caplog.text and "0.5 away from torch's" in caplog.text
    assert np.abs(fallback.encode(TEXTS[:1]) - torch_vectors(embedder, TEXTS[:1])).max() < 1e-6


def test_the_registry_chooses_each_models_encoder(embedder, mpnet_embedder, monkeypatch):
    monkeypatch.delenv("PEERMATCH_ENCODER", raising=False)
    # measured: onnxruntime fp32 within 5% of torch and ~0.67 GB more per process, so torch serves both
    assert (MINILM.encoder, MPNET.encoder) == (Encoder.TORCH, Encoder.TORCH)
    assert embedder.encoder is mpnet_embedder.encoder is Encoder.TORCH and embedder.onnx is None
    assert requested_encoder() is None
    monkeypatch.setenv("PEERMATCH_ENCODER", "ONNXRuntime")
    assert requested_encoder() is Encoder.ONNXRUNTIME
    assert requested_encoder("torch") is Encoder.TORCH


def test_bad_encoder_settings_get_a_sentence(embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("PEERMATCH_ENCODER", "tensorrt")
    with pytest.raises(ModelUnavailableError, match="PEERMATCH_ENCODER='tensorrt' is not an encoder: use auto"):
        Embedder(embedder.model, embedder.model_name)
    monkeypatch.delenv("PEERMATCH_ENCODER")
    # a model folder that is not a registered model's runs on torch only
    with pytest.raises(ModelUnavailableError, match="onnxruntime runs only the registered models"):
        Embedder(embedder.model, str(tmp_path), encoder="onnxruntime")


def test_only_mean_pooling_models_are_exported():
    class Transformer:
        pass

    class Pooling:
        pooling_mode = "cls"

    with pytest.raises(OnnxEncoderError, match="only mean-pooling models"):
        onnx_encoder.check_mean_pooling([Transformer(), Pooling()])
    Pooling.pooling_mode = "mean"
    onnx_encoder.check_mean_pooling([Transformer(), Pooling()])


def test_mpnet_on_onnxruntime_gives_torchs_vectors(mpnet_embedder):
    onnx = Embedder(mpnet_embedder.model, mpnet_embedder.model_name, encoder="onnxruntime")
    # its graph sits in the model cache beside the assembled weights
    assert onnx.encoder is Encoder.ONNXRUNTIME and (graph_folder(MPNET) / GRAPH_FILE).is_file()
    assert np.abs(onnx.encode(TEXTS) - torch_vectors(mpnet_embedder, TEXTS)).max() < 1e-4
    onnx.encode(TEXTS[:1])
    twin = onnx.fresh()
    assert twin.onnx is onnx.onnx and twin.encoded_count == 0 and onnx.encoded_count == 4
    assert twin.encode(TEXTS[:1]).shape == (1, 768) and twin.encoded_count == 1 and len(onnx._cache) == 4
