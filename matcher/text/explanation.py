"""Coordinator-only explanations: which sentences of two narratives matched best."""
from __future__ import annotations

import numpy as np

from matcher.text.embedding import Embedder, split_sentences


def best_sentence_pair(text_a: str, text_b: str, embedder: Embedder) -> dict:
    """The sentence of each narrative that is most similar to a sentence of the other.

    Returns
    -------
    dict with ``sentence_a``, ``sentence_b`` (the best pair), ``similarity`` (their cosine),
    and ``index_a`` / ``index_b`` (positions in `split_sentences` order).
    """
    sentences_a, sentences_b = split_sentences(text_a), split_sentences(text_b)
    if not sentences_a or not sentences_b:
        return {"sentence_a": "", "sentence_b": "", "similarity": 0.0, "index_a": -1, "index_b": -1}
    vectors = embedder.encode(sentences_a + sentences_b)
    sims = vectors[: len(sentences_a)] @ vectors[len(sentences_a):].T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return {"sentence_a": sentences_a[i], "sentence_b": sentences_b[j],
            "similarity": round(float(sims[i, j]), 4), "index_a": int(i), "index_b": int(j)}


def best_sentences_for_group(narratives: list[str], embedder: Embedder) -> list[int]:
    """For each narrative, the position (in `split_sentences` order) of its sentence closest to the other
    narratives of the group: the cosine to the mean of their whole-narrative vectors; -1 for an empty one.

    All sentences and narratives are encoded in one batch.
    """
    sentences = [split_sentences(text) for text in narratives]
    flat = [s for group in sentences for s in group]
    if len(narratives) < 2 or not flat:
        return [0 if group else -1 for group in sentences]
    vectors = embedder.encode(list(narratives) + flat)
    whole, parts = vectors[: len(narratives)], vectors[len(narratives):]
    total = whole.sum(axis=0)
    best, offset = [], 0
    for i, group in enumerate(sentences):
        if not group:
            best.append(-1)
            continue
        centre = (total - whole[i]) / (len(narratives) - 1)
        best.append(int(np.argmax(parts[offset: offset + len(group)] @ centre)))
        offset += len(group)
    return best
