"""The analysis-only embedding cache: vectors on disk per model, keyed by the text's SHA-256, never the text."""
from __future__ import annotations

import hashlib

import numpy as np

from matcher.analysis.embedding_cache import CACHE_ENV, CachedEmbedder, cached
from matcher.text.embedding import Embedder


class CountingModel:
    """A stand-in sentence-transformers model: a text's vector comes from its hash; calls are counted."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts, **_: object) -> np.ndarray:
        self.encoded.extend(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.float32) for t in texts]
        return np.nan_to_num(np.stack(rows)) % 7 + 1


def embedder(name: str = "toy-model") -> tuple[Embedder, CountingModel]:
    model = CountingModel()
    return Embedder(model=model, model_name=name), model  # type: ignore[arg-type]


def test_a_second_run_reads_every_vector_from_disk(tmp_path):
    first, first_model = embedder()
    texts = ["one narrative", "another narrative", "one narrative"]
    vectors = CachedEmbedder(first, tmp_path).encode(texts)
    assert first_model.encoded == ["one narrative", "another narrative"]
    second, second_model = embedder()
    again = CachedEmbedder(second, tmp_path)
    np.testing.assert_array_equal(again.encode(texts), vectors)
    assert second_model.encoded == [] and again.hits == 3
    assert again.encode([]).shape == (0, 4)


def test_the_cache_keeps_models_apart_and_stores_no_text(tmp_path):
    CachedEmbedder(embedder("model-a")[0], tmp_path).encode(["a private sentence"])
    other, other_model = embedder("model-b")
    CachedEmbedder(other, tmp_path).encode(["a private sentence"])
    assert other_model.encoded == ["a private sentence"]          # model-a's vector is not model-b's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-a", "model-b"]
    for shard in tmp_path.rglob("*"):
        if shard.is_file():
            assert b"private" not in shard.read_bytes()


def test_an_unreadable_shard_is_ignored_and_encoded_again(tmp_path, capsys):
    CachedEmbedder(embedder()[0], tmp_path).encode(["text"])
    for shard in (tmp_path / "toy-model").iterdir():
        shard.write_bytes(b"not a shard")
    again, model = embedder()
    CachedEmbedder(again, tmp_path).encode(["text"])
    assert model.encoded == ["text"] and "Ignoring unreadable" in capsys.readouterr().err


def test_cached_uses_the_environment_variable_or_nothing(tmp_path, monkeypatch):
    plain, _ = embedder()
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert cached(plain) is plain
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    wrapped = cached(plain)
    assert isinstance(wrapped, CachedEmbedder) and wrapped.folder == tmp_path / "toy-model"
