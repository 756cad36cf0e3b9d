"""Fitting and applying text adapters for analysis (scikit-learn's estimator contract, scipy's eigh).

`fit_adapter` learns a `matcher.text.adapter.TextAdapter` (a centring vector and shrinkage-LDA
directions) from labelled embeddings; `TextScorer` applies the committed adapter, or falls back to
plain embedding cosine and says so with an `AdapterUnavailableWarning`. Serving never imports this
module: it applies a fitted adapter with `matcher.text.adapter.service_vectors` (numpy only).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.linalg import eigh
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_array, check_is_fitted

from matcher.text.adapter import TextAdapter, adapter_path_for, short_hash
from matcher.text.embedding import normalise_rows


class AdapterUnavailableWarning(UserWarning):
    """The text adapter cannot be used, so text similarity is plain embedding cosine."""


def fit_adapter(embeddings: np.ndarray, labels: Sequence[str], shrinkage: float = 0.5,
                lda_weight: float = 1.0, model_id: str = "", training_texts: Sequence[str] = (),
                meta: dict | None = None, probability_weight: float = 0.0,
                regularisation: float = 1.0) -> TextAdapter:
    """Fit a `TextAdapter` with a shrinkage LDA on labelled embeddings.

    Parameters
    ----------
    embeddings : (n, d) L2-normalised vectors of labelled texts.
    labels : one label per row; at least two labels are needed.
    shrinkage : in [0, 1]; the within-class covariance is shrunk towards a scaled identity.
    lda_weight : >= 0; how much the discriminant part counts against the plain embedding.
    model_id : the embedding model the vectors came from (checked when the adapter is used).
    training_texts : the training texts, stored only as 8-byte hashes to flag leaks in evaluations.
    meta : anything worth recording (hyper-parameter search, data checksums, the command).
    probability_weight : >= 0; above 0, a multinomial logistic regression over the labels is fitted
        and its (normalised) class probabilities are appended to the vectors with this weight.
    regularisation : the logistic regression's inverse regularisation strength (scikit-learn's ``C``).

    Raises
    ------
    ValueError: for fewer than two labels or parameters out of range.
    """
    if not 0 <= shrinkage <= 1 or lda_weight < 0 or probability_weight < 0 or regularisation <= 0:
        raise ValueError("shrinkage must be in [0, 1], lda_weight and probability_weight >= 0, "
                         "regularisation > 0.")
    X = check_array(embeddings, dtype=np.float64)
    classes, codes = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2 or len(codes) != len(X):
        raise ValueError("Give one label per row and at least two different labels.")
    mean = X.mean(axis=0)
    projection = discriminant_directions(X, codes, len(classes), shrinkage)
    hashes = np.array([short_hash(t) for t in training_texts], dtype=np.uint64)
    coef, intercept = (topic_classifier(normalise_rows(X - mean), codes, regularisation)
                       if probability_weight > 0 else (None, None))
    return TextAdapter(mean, projection, float(lda_weight), model_id, hashes, dict(meta or {}),
                       coef, intercept, float(probability_weight) if coef is not None else 0.0)


def topic_classifier(unit_centred: np.ndarray, codes: np.ndarray,
                     regularisation: float) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (classes, d) and intercepts (classes,) of a multinomial logistic regression (lbfgs)."""
    model = LogisticRegression(C=regularisation, max_iter=2000)
    model.fit(unit_centred.astype(np.float64), codes)
    coef, intercept = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    if coef.shape[0] == 1:      # two classes: scikit-learn keeps one logit; softmax of (0, z) is the same model
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept


def discriminant_directions(X: np.ndarray, codes: np.ndarray, n_classes: int, shrinkage: float) -> np.ndarray:
    """The top (n_classes - 1) generalised eigenvectors of (between, shrunk within) class scatter."""
    means = np.stack([X[codes == c].mean(axis=0) for c in range(n_classes)])
    within = X - means[codes]
    s_within = within.T @ within / len(X)
    weights = np.sqrt(np.bincount(codes, minlength=n_classes) / len(X))[:, None]
    between = (means - X.mean(axis=0)) * weights
    s_between = between.T @ between
    target = np.trace(s_within) / X.shape[1] * np.eye(X.shape[1])
    values, vectors = eigh(s_between, (1 - shrinkage) * s_within + shrinkage * target)
    return vectors[:, np.argsort(values)[::-1][: n_classes - 1]]


class TextScorer(TransformerMixin, BaseEstimator):
    """Maps embeddings to the vectors whose dot products are peermatch's text similarity.

    Parameters
    ----------
    adapter_path : the adapter file; None means the committed one of `model_id` (`adapter_path_for`).
    model_id : the model that produced the embeddings (``Embedder.model_id``); when given and
        different from the adapter's, the adapter is not used.
    use_adapter : False scores with plain embedding cosine on purpose (no warning).

    Attributes
    ----------
    adapter_ : the `TextAdapter` in use, or None.
    fallback_reason_ : why plain embedding cosine is used, or None when the adapter is used.
    """

    def __init__(self, adapter_path: str | Path | None = None, model_id: str | None = None,
                 use_adapter: bool = True) -> None:
        self.adapter_path = adapter_path
        self.model_id = model_id
        self.use_adapter = use_adapter

    def fit(self, X: np.ndarray, y: object = None) -> TextScorer:
        """Load and check the adapter against the embeddings `X` (nothing is learned from `X`)."""
        X = check_array(X, dtype=np.float32)
        self.n_features_in_ = X.shape[1]
        self.adapter_, self.fallback_reason_ = None, None
        if self.use_adapter:
            self.adapter_, self.fallback_reason_ = self._load_adapter(X.shape[1])
            if self.fallback_reason_:
                warnings.warn(self.fallback_reason_, AdapterUnavailableWarning, stacklevel=2)
        self.n_features_out_ = self.adapter_.output_dimension if self.adapter_ else X.shape[1]
        return self

    def _load_adapter(self, dimension: int) -> tuple[TextAdapter | None, str | None]:
        path = Path(self.adapter_path or adapter_path_for(self.model_id))
        plain = "text similarity falls back to plain embedding cosine"
        if not path.is_file():
            return None, (f"No text adapter at {path}: {plain} "
                          "(rebuild it with `python -m matcher.analysis.train_adapter`).")
        adapter = TextAdapter.load(path)
        if self.model_id is not None and self.model_id != adapter.model_id:
            return None, f"The text adapter was fitted on {adapter.model_id} vectors, not {self.model_id}: {plain}."
        if adapter.input_dimension != dimension:
            return None, f"The text adapter expects {adapter.input_dimension}-d vectors, not {dimension}-d: {plain}."
        return adapter, None

    def transform(self, X: np.ndarray) -> np.ndarray:
        """L2-normalised float32 vectors (n, n_features_out_); their dot products are the similarity."""
        check_is_fitted(self, "n_features_out_")
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"Expected {self.n_features_in_}-d embeddings, got {X.shape[1]}-d.")
        return self.adapter_.apply(X) if self.adapter_ else normalise_rows(X)

    def similarity_matrix(self, X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
        """Text similarity of every row of `X` with every row of `Y` (default: `X` itself)."""
        ZX = self.transform(X)
        return ZX @ (ZX if Y is None else self.transform(Y)).T


def text_similarity_matrix(embeddings_a: np.ndarray, embeddings_b: np.ndarray | None = None,
                           scorer: TextScorer | None = None) -> np.ndarray:
    """peermatch's text similarity between two sets of embeddings (or one set and itself).

    Parameters
    ----------
    embeddings_a, embeddings_b : (n, d) and (m, d) embeddings from `Embedder.encode`.
    scorer : a fitted `TextScorer`; None fits the default one (the committed adapter).

    Returns
    -------
    (n, m) float32 matrix of similarities in [-1, 1].
    """
    scorer = scorer if scorer is not None else TextScorer().fit(embeddings_a)
    return scorer.similarity_matrix(embeddings_a, embeddings_b)
