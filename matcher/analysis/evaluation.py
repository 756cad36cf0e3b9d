"""Offline evaluation of matching: ranking metrics, supply-side metrics and text baselines.

Relevance comes from labels: an item is relevant to a query when they share a label. A label is a
string, or a collection of strings for multi-label data (its first element is the *primary* label).
NDCG uses graded gains (the number of shared labels); every other metric uses binary relevance.

Averaging
---------
Every ranking metric is computed per query, then averaged in one of two ways, the same way for
every metric and method:

- ``average="query"`` (default, micro over people): the plain mean over queries;
- ``average="label"`` (macro over topics): the mean within each primary label, then over labels.

Queries with no relevant item (their label has no other member) are skipped. Ties in a score are
broken by row order, so rankings are deterministic.
"""
from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MultiLabelBinarizer

from matcher.analysis.text_scorer import TextScorer

if TYPE_CHECKING:
    from matcher.ranking import Ranking
    from matcher.text.embedding import Embedder

METHODS = ("random", "tfidf", "embedding", "peermatch")
AVERAGES = ("query", "label")
Label = str | Sequence[str] | frozenset[str]
_CHUNK_ROWS = 256


# ---- ranking metrics for one query -------------------------------------------------------------

def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")


def precision_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Share of the first `k` ranked items that are relevant (a short list still divides by `k`)."""
    _check_k(k)
    return sum(item in relevant for item in ranked[:k]) / k


def recall_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant items found among the first `k` ranked items.

    Raises
    ------
    ValueError: when `relevant` is empty (recall is undefined; skip such queries).
    """
    _check_k(k)
    if not relevant:
        raise ValueError("recall is undefined for a query with no relevant item; skip the query.")
    return sum(item in relevant for item in ranked[:k]) / len(relevant)


def ndcg_at_k(ranked: Sequence[Hashable], gains: Mapping[Hashable, float] | Collection[Hashable], k: int) -> float:
    """Normalised discounted cumulative gain of the first `k` items (linear gains, log2 discount).

    Parameters
    ----------
    ranked : item ids, best first.
    gains : item -> gain (e.g. number of shared labels); a plain collection means gain 1 each.
    k : cut-off.

    Raises
    ------
    ValueError: when no item has a positive gain.
    """
    _check_k(k)
    gain_of = gains if isinstance(gains, Mapping) else dict.fromkeys(gains, 1.0)
    ideal = sorted((g for g in gain_of.values() if g > 0), reverse=True)[:k]
    if not ideal:
        raise ValueError("NDCG is undefined for a query with no relevant item; skip the query.")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = sum(gain_of.get(item, 0.0) * discounts[i] for i, item in enumerate(ranked[:k]))
    return float(dcg / np.dot(ideal, discounts[: len(ideal)]))


def reciprocal_rank(ranked: Sequence[Hashable], relevant: Collection[Hashable]) -> float:
    """1 / (position of the first relevant item), or 0.0 when none is ranked."""
    return next((1.0 / (i + 1) for i, item in enumerate(ranked) if item in relevant), 0.0)


def mrr(rankings: Iterable[Sequence[Hashable]], relevants: Iterable[Collection[Hashable]]) -> float:
    """Mean reciprocal rank over queries (one ranked list and one relevant set per query)."""
    values = [reciprocal_rank(r, rel) for r, rel in zip(rankings, relevants, strict=True)]
    if not values:
        raise ValueError("MRR needs at least one query.")
    return float(np.mean(values))


# ---- supply-side metrics of suggestion lists ---------------------------------------------------

def coverage(suggestions: Sequence[Sequence[Hashable]]) -> float:
    """Share of members (one suggestion list each) with at least one feasible suggestion."""
    if not suggestions:
        raise ValueError("coverage needs at least one member.")
    return sum(len(s) > 0 for s in suggestions) / len(suggestions)


def mean_overlap_minutes(overlaps: Sequence[Sequence[float]]) -> float:
    """Mean availability overlap over every suggestion shown (one list of minutes per member).

    Members with no suggestion add nothing; 0.0 when nobody got a suggestion.
    """
    flat = [m for per_member in overlaps for m in per_member]
    return float(np.mean(flat)) if flat else 0.0


def gini(loads: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of supporter load: 0 = shared evenly, towards 1 = a few carry it all.

    Include supporters with zero load. Returns 0.0 when nobody carries any load.

    Raises
    ------
    ValueError: for an empty or negative load.
    """
    x = np.sort(np.asarray(loads, dtype=np.float64))
    if x.size == 0 or (x < 0).any():
        raise ValueError("gini needs at least one load and no negative loads.")
    if x.sum() == 0:
        return 0.0
    n = x.size
    return float(2 * np.dot(np.arange(1, n + 1), x) / (n * x.sum()) - (n + 1) / n)


def supporter_loads(suggestions: Iterable[Sequence[Hashable]], supporter_ids: Sequence[Hashable]) -> np.ndarray:
    """How often each supporter appears in the suggestion lists (zeros included), in `supporter_ids` order."""
    counts: defaultdict[Hashable, int] = defaultdict(int)
    for per_member in suggestions:
        for peer in per_member:
            counts[peer] += 1
    return np.array([counts[s] for s in supporter_ids], dtype=np.int64)


def summarise_rankings(rankings: Mapping[int, Ranking], supporter_ids: Sequence[int]) -> dict[str, float]:
    """Coverage, mean overlap minutes and load Gini of `rank` results, one `Ranking` per member."""
    lists = [[s.member_id for s in r.suggestions] for r in rankings.values()]
    overlaps = [[s.explanation["overlap_minutes"] for s in r.suggestions] for r in rankings.values()]
    return {"coverage": coverage(lists), "mean_overlap_minutes": mean_overlap_minutes(overlaps),
            "gini": gini(supporter_loads(lists, supporter_ids))}


# ---- labels, splits and data -------------------------------------------------------------------

class MissingColumnError(ValueError):
    """A column asked for is not in the data file; the message lists the columns it has."""


def label_sets(labels: Sequence[Label]) -> list[frozenset[str]]:
    """Each row's labels as a set (a string is one label)."""
    return [frozenset([lab]) if isinstance(lab, str) else frozenset(lab) for lab in labels]


def primary_labels(labels: Sequence[Label]) -> list[str]:
    """Each row's first label (a set's smallest, so the result is deterministic)."""
    def first(lab: Label) -> str:
        if isinstance(lab, str):
            return lab
        return min(lab) if isinstance(lab, (set, frozenset)) else lab[0]
    return [first(lab) for lab in labels]


def holdout_split(texts: Sequence[str], labels: Sequence[Label]) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic half/half split stratified by primary label: (train rows, held-out rows).

    Within each label, rows are ordered by the SHA-256 of their text and alternate train, held
    out, train, ... so the split depends on neither row order nor a random seed. A label with one
    row goes to train.
    """
    by_label: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, (text, label) in enumerate(zip(texts, primary_labels(labels), strict=True)):
        by_label[label].append((hashlib.sha256(text.encode("utf-8")).hexdigest(), i))
    held_out = np.zeros(len(texts), dtype=bool)
    for rows in by_label.values():
        for position, (_, i) in enumerate(sorted(rows)):
            held_out[i] = position % 2 == 1
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def read_labelled_csv(path: str | Path, text_columns: Sequence[str], label_column: str,
                      label_separator: str | None = None) -> tuple[list[str], list[Label]]:
    """Texts (the text columns joined by a space) and labels of a CSV file with a header row.

    Raises
    ------
    MissingColumnError: when a text or label column is not in the header.
    ValueError: when a row has an empty text or label, or there are no rows.
    OSError, UnicodeDecodeError, csv.Error: when the file cannot be read as UTF-8 CSV.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in [*text_columns, label_column] if c not in columns]
        if missing:
            raise MissingColumnError(f"Column(s) {', '.join(missing)} not in the file; "
                                     f"it has: {', '.join(columns) or 'none'}.")
        texts, labels = [], []
        for line, row in enumerate(reader, start=2):
            text = " ".join((row[c] or "").strip() for c in text_columns).strip()
            raw = (row[label_column] or "").strip()
            if not text or not raw:
                raise ValueError(f"Line {line} has an empty text or label.")
            texts.append(text)
            labels.append(tuple(p.strip() for p in raw.split(label_separator) if p.strip())
                          if label_separator else raw)
    if not texts:
        raise ValueError("The file has a header but no rows.")
    return texts, labels


# ---- ranking everyone against everyone ---------------------------------------------------------

def _label_matrix(labels: Sequence[Label]) -> np.ndarray:
    return MultiLabelBinarizer(sparse_output=False).fit_transform(label_sets(labels)).astype(np.float32)


def per_query_metrics(similarity: np.ndarray, labels: Sequence[Label], k: int) -> dict[str, np.ndarray]:
    """Leave-one-out metrics of every row ranked against all other rows (NaN for skipped queries).

    Parameters
    ----------
    similarity : (n, n) scores, higher is better; the diagonal is ignored.
    labels : one label (or collection of labels) per row.
    k : cut-off for precision, recall and NDCG.

    Returns
    -------
    ``{"precision@k", "recall@k", "ndcg@k", "mrr"}`` -> (n,) float arrays.
    """
    _check_k(k)
    similarity = np.asarray(similarity)
    n = len(labels)
    if similarity.shape != (n, n) or not np.isfinite(similarity).all():
        raise ValueError(f"similarity must be a finite ({n}, {n}) matrix, got shape {similarity.shape}.")
    if n < 2:
        raise ValueError("Ranking needs at least two rows.")
    indicator = _label_matrix(labels)
    chunks = []
    for start in range(0, n, _CHUNK_ROWS):
        rows = np.arange(start, min(start + _CHUNK_ROWS, n))
        chunks.append(_chunk_metrics(_ranked_gains(similarity[rows], indicator[rows] @ indicator.T, rows), k))
    return {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}


def _ranked_gains(scores: np.ndarray, gains: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Gains of every other row, ordered best score first (self removed, ties by row order)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    order = order[order != rows[:, None]].reshape(len(rows), -1)
    return np.take_along_axis(gains, order, axis=1)


def _chunk_metrics(gains: np.ndarray, k: int) -> dict[str, np.ndarray]:
    relevant = gains > 0
    n_relevant = relevant.sum(axis=1)
    hits = relevant[:, :k].sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))[: gains.shape[1]]
    dcg = gains[:, :k] @ discounts
    ideal = -np.sort(-gains, axis=1)[:, :k] @ discounts
    skip = n_relevant == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics = {f"precision@{k}": hits / k, f"recall@{k}": hits / n_relevant, f"ndcg@{k}": dcg / ideal,
                   "mrr": 1.0 / (relevant.argmax(axis=1) + 1)}
    return {name: np.where(skip, np.nan, values) for name, values in metrics.items()}


def average_metrics(per_query: Mapping[str, np.ndarray], labels: Sequence[Label],
                    average: str = "query") -> dict[str, float]:
    """Average per-query metrics over the queries that were not skipped (see the module docstring)."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}.")
    primary = np.array(primary_labels(labels))
    result = {}
    for name, values in per_query.items():
        keep = ~np.isnan(values)
        if not keep.any():
            raise ValueError("No query has a relevant item: every label has a single row.")
        if average == "query":
            result[name] = float(values[keep].mean())
        else:
            result[name] = float(np.mean([values[keep & (primary == lab)].mean() for lab in np.unique(primary[keep])]))
    return result


def evaluate_similarity(similarity: np.ndarray, labels: Sequence[Label], k: int = 5,
                        average: str = "query") -> dict[str, float]:
    """Averaged leave-one-out metrics of a similarity matrix (see `per_query_metrics`)."""
    return average_metrics(per_query_metrics(similarity, labels, k), labels, average)


def evaluated_queries(labels: Sequence[Label]) -> int:
    """How many rows count as queries (at least one other row shares a label with them)."""
    indicator = _label_matrix(labels)
    count = 0
    for start in range(0, len(labels), _CHUNK_ROWS):
        rows = np.arange(start, min(start + _CHUNK_ROWS, len(labels)))
        shared = indicator[rows] @ indicator.T > 0
        shared[np.arange(len(rows)), rows] = False
        count += int(shared.any(axis=1).sum())
    return count


# ---- baselines and the shipped method ----------------------------------------------------------

def random_similarity(n: int, seed: int = 0) -> np.ndarray:
    """Uniform random scores: the chance level."""
    return np.random.default_rng(seed).random((n, n))


def tfidf_similarity(texts: Sequence[str]) -> np.ndarray:
    """Cosine of TF-IDF vectors (sublinear term frequency) fitted on `texts` themselves."""
    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    return (vectors @ vectors.T).toarray()


def method_similarity(method: str, texts: Sequence[str], embeddings: np.ndarray | None = None,
                      seed: int = 0, scorer: TextScorer | None = None) -> np.ndarray:
    """The (n, n) similarity matrix of one method.

    Parameters
    ----------
    method : "random", "tfidf", "embedding" (plain cosine) or "peermatch" (`TextScorer`).
    texts : the n texts.
    embeddings : their L2-normalised embeddings (needed by "embedding" and "peermatch").
    seed : for "random".
    scorer : a fitted `TextScorer` for "peermatch"; None fits the default one.
    """
    if method == "random":
        return random_similarity(len(texts), seed)
    if method == "tfidf":
        return tfidf_similarity(texts)
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
    if embeddings is None:
        raise ValueError(f"The {method!r} method needs embeddings.")
    if method == "embedding":
        return embeddings @ embeddings.T
    scorer = scorer if scorer is not None else TextScorer().fit(embeddings)
    return scorer.similarity_matrix(embeddings)


def evaluate_texts(texts: Sequence[str], labels: Sequence[Label], k: int, embedder: Embedder,
                   methods: Sequence[str] = METHODS, average: str = "query", seed: int = 0,
                   scorer: TextScorer | None = None, progress: bool = False) -> dict[str, dict[str, float]]:
    """Rank every text against all the others with each method and average the metrics.

    Parameters
    ----------
    texts, labels : the labelled set (labels may be collections for multi-label data).
    k : cut-off for precision, recall and NDCG.
    embedder : encodes the texts once (cached) for "embedding" and "peermatch".
    methods : any of `METHODS`, in the order wanted.
    average : "query" or "label" (see the module docstring).
    seed : seed of the random baseline.
    scorer : the `TextScorer` for "peermatch"; None fits the default for `embedder`'s model.
    progress : show the encoder's progress bar.

    Returns
    -------
    ``{method: {"precision@k", "recall@k", "ndcg@k", "mrr": value}}``.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"Unknown or no methods {unknown}; use some of {', '.join(METHODS)}.")
    if len(texts) != len(labels) or len(texts) < 2:
        raise ValueError("Give at least two texts and exactly one label (or label set) per text.")
    embeddings = None
    if {"embedding", "peermatch"} & set(methods):
        embeddings = embedder.encode(texts, progress=progress)
        if "peermatch" in methods and scorer is None:
            scorer = TextScorer(model_id=embedder.model_id).fit(embeddings)
    return {m: evaluate_similarity(method_similarity(m, texts, embeddings, seed, scorer), labels, k, average)
            for m in methods}
