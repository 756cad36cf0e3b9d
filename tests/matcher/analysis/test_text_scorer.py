"""The text adapter: fitting, saving, the committed artefact and the fallback to plain cosine."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone

from matcher.analysis.evaluation import holdout_split
from matcher.analysis.text_scorer import AdapterUnavailableWarning, TextScorer, fit_adapter, text_similarity_matrix
from matcher.analysis.train_adapter import PROBABILITY_WEIGHTS, TrainingSet, cross_validate, extend, pooled, search
from matcher.text.adapter import ADAPTER_ENV, DEFAULT_ADAPTER_PATH, TextAdapter, service_fingerprint
from matcher.text.embedding import Embedder, normalise_rows


def two_topic_vectors(n_per_class: int = 40, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Classes differ only along axis 0; axes 1-7 carry larger, label-free noise."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0, 1.0, size=(2 * n_per_class, 8))
    vectors[:, 0] = np.repeat([0.6, -0.6], n_per_class) + rng.normal(0, 0.1, 2 * n_per_class)
    return normalise_rows(vectors), ["a"] * n_per_class + ["b"] * n_per_class


def within_minus_between(vectors: np.ndarray, labels: list[str]) -> float:
    sims = vectors @ vectors.T
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    return float(sims[same].mean() - sims[~np.equal.outer(labels, labels)].mean())


def test_fit_adapter_brings_same_label_vectors_together():
    vectors, labels = two_topic_vectors()
    adapter = fit_adapter(vectors, labels, shrinkage=0.5, lda_weight=2.0, model_id="toy")
    adapted = adapter.apply(vectors)
    assert adapted.shape == (80, adapter.output_dimension) == (80, 9)
    np.testing.assert_allclose(np.linalg.norm(adapted, axis=1), 1.0, rtol=1e-5)
    assert within_minus_between(adapted, labels) > within_minus_between(vectors, labels) + 0.2


def test_fit_adapter_rejects_bad_input():
    vectors, labels = two_topic_vectors()
    with pytest.raises(ValueError, match="two different labels"):
        fit_adapter(vectors, ["a"] * len(labels))
    with pytest.raises(ValueError, match="shrinkage"):
        fit_adapter(vectors, labels, shrinkage=1.5)


def test_adapter_round_trips_through_a_file_and_recognises_training_texts(tmp_path):
    vectors, labels = two_topic_vectors()
    texts = [f"made-up text {i}" for i in range(len(labels))]
    adapter = fit_adapter(vectors, labels, 0.3, 1.0, "toy", texts, {"note": "test"})
    adapter.save(tmp_path / "adapter.npz")
    loaded = TextAdapter.load(tmp_path / "adapter.npz")
    assert (loaded.model_id, loaded.lda_weight, loaded.meta["note"]) == ("toy", 1.0, "test")
    np.testing.assert_allclose(loaded.apply(vectors), adapter.apply(vectors), atol=1e-5)
    assert loaded.trained_on([texts[0], "something new"]).tolist() == [True, False]


def test_an_adapters_fingerprint_names_the_vectors_it_makes(tmp_path, monkeypatch):
    adapter = TextAdapter.load(DEFAULT_ADAPTER_PATH)
    assert TextAdapter.load(DEFAULT_ADAPTER_PATH).fingerprint == adapter.fingerprint   # the same file, the same
    assert re.fullmatch(r"adapter:[0-9a-f]{16}", adapter.fingerprint)
    moved = replace(adapter, mean=adapter.mean + 1e-3)
    assert moved.fingerprint != adapter.fingerprint
    assert replace(adapter, lda_weight=adapter.lda_weight + 0.1).fingerprint != adapter.fingerprint
    assert service_fingerprint("all-MiniLM-L6-v2", 384) == adapter.fingerprint
    assert service_fingerprint("all-MiniLM-L6-v2", 100) == "plain"    # fitted on other vectors: not used
    moved.save(tmp_path / "moved.npz")
    monkeypatch.setenv(ADAPTER_ENV, str(tmp_path / "moved.npz"))
    assert service_fingerprint("all-MiniLM-L6-v2", 384) == TextAdapter.load(tmp_path / "moved.npz").fingerprint
    monkeypatch.setenv(ADAPTER_ENV, "off")
    assert service_fingerprint("all-MiniLM-L6-v2", 384) == "plain"


def test_the_committed_adapter_is_small_and_fits_the_bundled_model():
    assert DEFAULT_ADAPTER_PATH.stat().st_size < 5 * 1024 * 1024
    adapter = TextAdapter.load(DEFAULT_ADAPTER_PATH)
    assert adapter.model_id == "all-MiniLM-L6-v2"
    assert adapter.input_dimension == 384
    assert "python -m matcher.analysis.train_adapter" in adapter.meta["command"]


def test_scorer_uses_the_committed_adapter():
    vectors = normalise_rows(np.random.default_rng(1).normal(size=(5, 384)))
    scorer = TextScorer(model_id="all-MiniLM-L6-v2").fit(vectors)
    assert scorer.fallback_reason_ is None
    assert scorer.transform(vectors).shape == (5, scorer.n_features_out_)
    sims = text_similarity_matrix(vectors, vectors[:2], scorer)
    assert sims.shape == (5, 2)
    np.testing.assert_allclose(np.diag(sims[:2]), 1.0, rtol=1e-5)


@pytest.mark.parametrize("params, reason", [
    ({"adapter_path": "no/such/adapter.npz"}, "No text adapter"),
    ({"adapter_path": str(DEFAULT_ADAPTER_PATH), "model_id": "another-model"}, "fitted on all-MiniLM-L6-v2"),
    ({"model_id": "another-model"}, "text_adapter.another-model.npz"),   # each model looks for its own
])
def test_scorer_falls_back_to_plain_cosine_and_says_so(params, reason):
    vectors = normalise_rows(np.random.default_rng(2).normal(size=(4, 384)))
    with pytest.warns(AdapterUnavailableWarning, match=reason):
        scorer = TextScorer(**params).fit(vectors)
    assert reason in scorer.fallback_reason_
    np.testing.assert_allclose(scorer.similarity_matrix(vectors), vectors @ vectors.T, atol=1e-6)


def test_scorer_without_adapter_on_purpose_is_silent_and_clonable():
    vectors = normalise_rows(np.random.default_rng(3).normal(size=(3, 16)))
    scorer = TextScorer(use_adapter=False).fit(vectors)
    np.testing.assert_allclose(scorer.transform(vectors), vectors, atol=1e-6)
    assert clone(scorer).get_params() == {"adapter_path": None, "model_id": None, "use_adapter": False}
    with pytest.raises(ValueError, match="16-d"):
        scorer.transform(vectors[:, :8])


def toy_set(vectors: np.ndarray, labels: list[str], view: str = "text") -> TrainingSet:
    texts = [f"row {i}" for i in range(len(labels))]
    first, second = holdout_split(texts, labels)
    return TrainingSet("toy", view, texts, np.array(labels), vectors, "sha", [(first, second), (second, first)])


def test_cross_validation_of_the_training_script_prefers_the_adapter_on_separable_data():
    vectors, labels = two_topic_vectors(60)
    sets = [toy_set(vectors, labels)]
    embeddings, qualified = pooled(sets, [np.arange(len(labels))])
    assert qualified[0] == "toy:a" and embeddings.shape == vectors.shape
    assert cross_validate(sets, 0.5, 2.0, 5)["toy[text]"] > cross_validate(sets, 0.5, 0.0, 5)["toy[text]"]


def test_topic_probabilities_are_appended_saved_and_loaded(tmp_path):
    vectors, labels = two_topic_vectors(60)
    adapter = fit_adapter(vectors, labels, 0.5, 0.0, "toy", probability_weight=1.0, regularisation=10.0)
    assert adapter.topics == 2 and adapter.output_dimension == 8 + 1 + 2
    adapted = adapter.apply(vectors)
    np.testing.assert_allclose(np.linalg.norm(adapted, axis=1), 1.0, rtol=1e-5)
    without = fit_adapter(vectors, labels, 0.5, 0.0, "toy")
    assert within_minus_between(adapted, labels) > within_minus_between(without.apply(vectors), labels) + 0.1
    adapter.save(tmp_path / "adapter.npz")
    loaded = TextAdapter.load(tmp_path / "adapter.npz")
    assert (loaded.topics, loaded.probability_weight) == (2, 1.0)
    np.testing.assert_allclose(loaded.apply(vectors), adapted, atol=1e-5)
    without.save(tmp_path / "plain.npz")
    assert TextAdapter.load(tmp_path / "plain.npz").topics == 0


def test_search_of_the_training_script_uses_both_views_of_a_file_and_chooses_by_precision():
    vectors, labels = two_topic_vectors(60)
    noisy = normalise_rows(vectors + np.random.default_rng(5).normal(0, 0.3, vectors.shape))
    sets = [toy_set(vectors, labels, "title+text"), toy_set(noisy, labels, "text")]
    best, table = search(sets, 5)
    assert {row["score"] for row in table} and max(row["score"] for row in table) == next(
        row["score"] for row in table if all(row[name] == value for name, value in best.items()))
    assert set(table[0]["cv_precision"]) == {"toy[title+text]", "toy[text]"}
    assert best["lda_weight"] > 0 or best["probability_weight"] > 0


class TopicWordModel:
    """A stand-in sentence-transformers model: axis 0 says whether the text mentions sleep, the rest is noise."""

    def get_sentence_embedding_dimension(self) -> int:
        return 6

    def encode(self, texts, **_: object) -> np.ndarray:
        rows = []
        for text in texts:
            noise = np.random.default_rng(int.from_bytes(text.encode()[-4:], "big")).normal(0, 1, 6)
            noise[0] = (1.5 if "sleep" in text else -1.5) + noise[0] * 0.2
            rows.append(noise)
        return normalise_rows(np.array(rows))


def test_extend_keeps_the_base_lda_and_adds_a_classifier_chosen_on_train_rows(tmp_path):
    rows = ["title,text,label"] + [f"t{i},{'cannot sleep' if i % 2 else 'so angry'} story {i},"
                                   f"{'sleep' if i % 2 else 'anger'}" for i in range(80)]
    (tmp_path / "counsel_chat_questions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    embedder = Embedder(model=TopicWordModel(), model_name="toy")  # type: ignore[arg-type]
    vectors, labels = two_topic_vectors(30)
    base = fit_adapter(normalise_rows(np.hstack([vectors[:, :6]])), labels, 0.5, 0.5, "toy", ["a base text"])
    extended = extend(base, tmp_path, 5, embedder, ("counsel_chat_questions.csv",))
    np.testing.assert_array_equal(extended.projection, base.projection)
    np.testing.assert_array_equal(extended.mean, base.mean)
    titled = [f"t{i} {'cannot sleep' if i % 2 else 'so angry'} story {i}" for i in range(80)]
    train, held = holdout_split(titled, ["sleep" if i % 2 else "anger" for i in range(80)])
    untitled = [t.split(" ", 1)[1] for t in titled]
    assert extended.trained_on(["a base text"] + [titled[i] for i in train] + [untitled[i] for i in train]).all()
    assert not extended.trained_on([titled[i] for i in held] + [untitled[i] for i in held]).any()
    rows_scored = extended.meta["extended"]["search"]["table"]
    assert {row["probability_weight"] for row in rows_scored} == set(PROBABILITY_WEIGHTS)
    assert extended.topics in (0, 2)
    with pytest.raises(ValueError, match="fitted on toy"):
        extend(base, tmp_path, 5, Embedder(model=TopicWordModel(), model_name="other"),  # type: ignore[arg-type]
               ("counsel_chat_questions.csv",))
