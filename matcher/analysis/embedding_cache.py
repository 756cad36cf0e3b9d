"""An on-disk cache of embeddings for analysis runs (training adapters, `peermatch evaluate`); never used by serving.

Encoding the labelled data sets with all-mpnet-base-v2 takes many CPU minutes, and training and
evaluating encode the same texts again and again. `CachedEmbedder` wraps an `Embedder` and keeps
every vector it computes under ``<cache dir>/<model name>/``, keyed by the SHA-256 of the text. It
stores vectors and those hashes only, never the text itself (members' narratives stay out of it).

Turn it on with ``--cache-dir`` (``python -m matcher.analysis.train_adapter``, ``peermatch evaluate``)
or the environment variable ``PEERMATCH_EMBEDDING_CACHE``; keep the folder outside the repository.
Each call that encodes something writes one new shard file (atomically), so concurrent or
interrupted runs never corrupt the cache; a shard that cannot be read is ignored.
"""
from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from matcher.text.embedding import Embedder, text_hash

CACHE_ENV = "PEERMATCH_EMBEDDING_CACHE"
_SHARD_ROWS = 128      # texts encoded (and saved) per step, so an interrupted run keeps most of its work


def cache_dir_from_env() -> Path | None:
    """The folder set by ``PEERMATCH_EMBEDDING_CACHE``, or None."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured) if configured else None


class CachedEmbedder(Embedder):
    """An `Embedder` whose vectors are also kept on disk, per model, keyed by the SHA-256 of the text.

    It wraps an already loaded `Embedder` (same model, same in-memory cache) and only changes `encode`.
    """

    def __init__(self, embedder: Embedder, cache_dir: str | Path) -> None:  # loads nothing: reuses the model
        self.__dict__.update(embedder.__dict__)    # the same model, encoder and in-memory cache
        self.encoded_count = 0
        self.embedder = embedder
        self.folder = Path(cache_dir) / embedder.model_id.replace("/", "_")
        self._vectors: dict[str, np.ndarray] | None = None
        self.hits = 0

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            for shard in sorted(self.folder.glob("*.npz")):
                try:
                    with np.load(shard, allow_pickle=False) as data:
                        self._vectors.update(zip((str(k) for k in data["keys"]), data["vectors"]))
                except (OSError, ValueError, KeyError):
                    print(f"Ignoring unreadable embedding cache shard {shard}.", file=sys.stderr)
        return self._vectors

    def _save(self, keys: list[str], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        os.close(handle)
        try:
            with open(temporary, "wb") as out:
                np.savez(out, keys=np.array(keys), vectors=vectors.astype(np.float32))
            os.replace(temporary, self.folder / f"{uuid.uuid4().hex}.npz")
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def encode(self, texts: Iterable[str], progress: bool = False) -> np.ndarray:
        """Embeddings of `texts`, read from the cache where present, encoded (and saved) otherwise."""
        texts = list(texts)
        stored = self._load()
        keys = [text_hash(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in stored))
        self.hits += len(keys) - sum(k not in stored for k in keys)
        if missing:
            text_of = dict(zip(keys, texts))
            for start in range(0, len(missing), _SHARD_ROWS):
                chunk = missing[start:start + _SHARD_ROWS]
                vectors = super().encode([text_of[k] for k in chunk])
                self._save(chunk, vectors)
                stored.update(zip(chunk, vectors))
                if progress:
                    print(f"{self.model_id}: encoded {min(start + _SHARD_ROWS, len(missing))} of "
                          f"{len(missing)} uncached texts", file=sys.stderr)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([stored[k] for k in keys]).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def cached(embedder: Embedder, cache_dir: str | Path | None = None) -> Embedder:
    """`embedder` with the disk cache in `cache_dir` (else ``PEERMATCH_EMBEDDING_CACHE``), or as it is."""
    folder = Path(cache_dir) if cache_dir else cache_dir_from_env()
    return CachedEmbedder(embedder, folder) if folder is not None else embedder
