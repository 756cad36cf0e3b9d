"""How similar two narratives are: the text score the service ranks with and the evaluation measures.

peermatch compares *adapted* embeddings. An all-MiniLM-L6-v2 vector ``x`` becomes

    c = normalise(x - mean)
    z = normalise([c, lda_weight * normalise((x - mean) @ projection),
                   probability_weight * normalise(softmax(c @ coef.T + intercept))])

where ``mean`` and ``projection`` (the discriminant directions of a shrinkage LDA) and ``coef`` and
``intercept`` (a multinomial logistic regression over the support topics) were fitted on labelled
peer-support text by ``python -m matcher.analysis.train_adapter``. The first part keeps everything the
model knows; the second stresses the directions that separate support topics; the third (absent when
the adapter has no classifier) compares how likely each topic is for the two texts. The similarity of
two narratives is ``z_a @ z_b`` (a cosine, in [-1, 1]).

Each model has its own fitted arrays, committed in ``matcher/text/artifacts/`` (`adapter_path_for`:
``text_adapter.npz`` for all-MiniLM-L6-v2, ``text_adapter.<model>.npz`` for the others). An adapter
records the model and vector length it was fitted on and is never applied to another model's
vectors; without one, `TextScorer` falls back to plain embedding cosine and says so with an
`AdapterUnavailableWarning`.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matcher.text.embedding import normalise_rows

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DEFAULT_ADAPTER_PATH = ARTIFACT_DIR / "text_adapter.npz"     # all-MiniLM-L6-v2's (the first model's name kept)
DEFAULT_ADAPTER_MODEL = "all-MiniLM-L6-v2"


def adapter_path_for(model_id: str | None) -> Path:
    """Where the committed adapter of `model_id` lives (it may not exist)."""
    if not model_id or model_id == DEFAULT_ADAPTER_MODEL:
        return DEFAULT_ADAPTER_PATH
    return ARTIFACT_DIR / f"text_adapter.{model_id.replace('/', '_')}.npz"


def short_hash(text: str) -> int:
    """The first 8 bytes of the text's SHA-256 as an unsigned integer (to recognise training rows)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True, eq=False)
class TextAdapter:
    """A fitted adapter: centring vector, discriminant projection, optional topic classifier and their weights."""

    mean: np.ndarray
    projection: np.ndarray
    lda_weight: float
    model_id: str
    training_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    meta: dict = field(default_factory=dict)
    classifier_coef: np.ndarray | None = None        # (topics, input_dimension); None: no probability part
    classifier_intercept: np.ndarray | None = None   # (topics,)
    probability_weight: float = 0.0

    @property
    def topics(self) -> int:
        """How many topic probabilities the vectors carry (0 without a classifier)."""
        return 0 if self.classifier_coef is None else int(self.classifier_coef.shape[0])

    @property
    def input_dimension(self) -> int:
        return int(self.mean.shape[0])

    @property
    def output_dimension(self) -> int:
        return self.input_dimension + int(self.projection.shape[1]) + self.topics

    def probabilities(self, centred: np.ndarray) -> np.ndarray:
        """The classifier's topic probabilities of L2-normalised centred vectors, shape (n, topics)."""
        assert self.classifier_coef is not None and self.classifier_intercept is not None
        logits = centred @ self.classifier_coef.T + self.classifier_intercept
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)

    def apply(self, embeddings: np.ndarray) -> np.ndarray:
        """Adapted, L2-normalised float32 vectors of shape (n, output_dimension)."""
        centred = np.asarray(embeddings, dtype=np.float64) - self.mean
        unit = normalise_rows(centred)
        parts = [unit, self.lda_weight * normalise_rows(centred @ self.projection)]
        if self.topics:
            parts.append(self.probability_weight * normalise_rows(self.probabilities(unit.astype(np.float64))))
        return normalise_rows(np.hstack(parts))

    @functools.cached_property
    def fingerprint(self) -> str:
        """``adapter:`` and 16 hex digits of a SHA-256 over everything `apply` reads: equal only for
        adapters that make the same vectors."""
        arrays = [a for a in (self.mean, self.projection, self.classifier_coef, self.classifier_intercept)
                  if a is not None]
        digest = hashlib.sha256(json.dumps([self.model_id, self.lda_weight, self.probability_weight,
                                            [list(a.shape) for a in arrays]]).encode())
        for array in arrays:
            digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        return f"adapter:{digest.hexdigest()[:16]}"

    def trained_on(self, texts: Iterable[str]) -> np.ndarray:
        """A boolean mask: True for each text that was a training row of this adapter."""
        hashes = np.array([short_hash(t) for t in texts], dtype=np.uint64)
        return np.isin(hashes, self.training_hashes)

    def save(self, path: str | Path) -> None:
        """Write the adapter as one .npz file (arrays plus a JSON string of metadata)."""
        meta = {**self.meta, "lda_weight": self.lda_weight, "model_id": self.model_id,
                "probability_weight": self.probability_weight}
        arrays: dict[str, np.ndarray] = {
            "mean": self.mean.astype(np.float32), "projection": self.projection.astype(np.float32),
            "training_hashes": self.training_hashes.astype(np.uint64),
            "meta": np.array(json.dumps(meta, sort_keys=True))}
        if self.classifier_coef is not None and self.classifier_intercept is not None:
            arrays["classifier_coef"] = self.classifier_coef.astype(np.float32)
            arrays["classifier_intercept"] = self.classifier_intercept.astype(np.float32)
        np.savez_compressed(Path(path), **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle

    @classmethod
    def load(cls, path: str | Path) -> TextAdapter:
        """Read an adapter written by `save` (no pickles are loaded)."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            has_classifier = "classifier_coef" in data.files
            return cls(mean=data["mean"].astype(np.float64), projection=data["projection"].astype(np.float64),
                       lda_weight=float(meta["lda_weight"]), model_id=str(meta["model_id"]),
                       training_hashes=data["training_hashes"], meta=meta,
                       classifier_coef=data["classifier_coef"].astype(np.float64) if has_classifier else None,
                       classifier_intercept=(data["classifier_intercept"].astype(np.float64)
                                             if has_classifier else None),
                       probability_weight=float(meta.get("probability_weight", 0.0)) if has_classifier else 0.0)


# --- what the service compares -------------------------------------------------------------

ADAPTER_ENV = "PEERMATCH_TEXT_ADAPTER"   # a path to another adapter file, or "off" for plain cosine


@functools.cache
def _service_adapter(setting: str, model_id: str | None) -> TextAdapter | None:
    if setting == "off":
        return None
    path = Path(setting) if setting else adapter_path_for(model_id)
    return TextAdapter.load(path) if path.is_file() else None


def service_adapter(model_id: str | None, dimension: int) -> TextAdapter | None:
    """The adapter the service ranks with for this model's vectors, or None (plain embedding cosine).

    An adapter fitted on another model, or on vectors of another length, is never used.
    """
    adapter = _service_adapter(os.environ.get(ADAPTER_ENV, ""), model_id)
    if adapter is None or adapter.model_id != model_id or adapter.input_dimension != dimension:
        return None
    return adapter


def service_vectors(embeddings: np.ndarray, model_id: str | None) -> np.ndarray:
    """The vectors the service stores in its indexes: adapted when the adapter fits the model, else normalised.

    Their dot products are peermatch's text similarity, the same one `peermatch evaluate` reports as
    the ``peermatch`` method.
    """
    X = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    adapter = service_adapter(model_id, X.shape[1])
    return adapter.apply(X) if adapter is not None else normalise_rows(X)


def service_fingerprint(model_id: str | None, dimension: int) -> str:
    """What makes this model's service vectors: the adapter's `TextAdapter.fingerprint`, or ``plain``
    (normalised embeddings). Vectors stored under one fingerprint are never ranked under another."""
    adapter = service_adapter(model_id, dimension)
    return adapter.fingerprint if adapter is not None else "plain"


def service_dimension(model_id: str | None, dimension: int) -> int:
    adapter = service_adapter(model_id, dimension)
    return adapter.output_dimension if adapter is not None else dimension
