"""Fit the text adapter that `matcher.analysis.text_scorer.TextScorer` uses, from labelled peer-support text.

Rebuild a model's committed artefact (`matcher.text.adapter.adapter_path_for`) from the project root with::

    HF_HUB_OFFLINE=1 python -m matcher.analysis.train_adapter --data-dir ../shared/data --model all-mpnet-base-v2

What it does, deterministically (no random numbers; the same data, model and torch build give
the same file):

1. Read each view in `DATASETS` (CounselChat as title + text and as the text alone, Reddit's text) and
   keep only its *train* half (`evaluation.holdout_split` of the file's first view: stratified by label,
   alternating rows in SHA-256 order; the other views use the same rows). The other half is never read,
   so it stays a fair held-out set: ``peermatch evaluate --heldout`` ranks exactly those rows.
2. Embed the train rows with the chosen model (default: the serving default); ``--cache-dir`` keeps the
   vectors on disk between runs (`matcher.analysis.embedding_cache`).
3. Choose the LDA shrinkage and weight, the topic classifier's weight (0: none) and C on the train rows
   alone, by the mean over the views of precision@k in 2-fold cross-validation inside the train rows
   (the same split rule again), see `search`.
4. Fit the adapter on all train rows with the chosen values; labels of different data sets are
   kept apart. Save the arrays, the training-row hashes and the metadata in one .npz file.

``--extend ADAPTER [--only FILE]`` instead keeps an adapter's centring and LDA directions and fits only
the topic classifier (and the LDA weight) on the named data sets, chosen the same way (`extend`).
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from matcher.analysis.embedding_cache import cached
from matcher.analysis.evaluation import evaluate_similarity, holdout_split, read_labelled_csv
from matcher.analysis.text_scorer import fit_adapter, topic_classifier
from matcher.text.adapter import TextAdapter, adapter_path_for, short_hash
from matcher.text.embedding import Embedder, normalise_rows

# (file name, text columns joined by a space, label column). CounselChat is read twice: as title + text
# and as the text alone (how members write, without a headline). Both views of a row share its label and
# its side of the split, which is decided on the first view of the file (title + text).
DATASETS = (
    ("counsel_chat_questions.csv", ("title", "text"), "label"),
    ("counsel_chat_questions.csv", ("text",), "label"),
    ("rmhd_reddit_support_groups.csv", ("text",), "label"),
)
TRAINING_TEXT_COLUMNS = tuple(columns for _, columns, _ in DATASETS)
SHRINKAGES = (0.1, 0.3, 0.6, 0.9)
LDA_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)   # 0.0: centring only
PROBABILITY_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)   # 0.0: no topic classifier
REGULARISATIONS = (1.0, 10.0, 100.0)                         # the classifier's C


@dataclass
class TrainingSet:
    """The train half of one labelled data set read as one view (text columns), embedded."""

    name: str           # the file's stem: labels of views of one file are the same labels
    view: str           # e.g. "title+text"
    texts: list[str]
    labels: np.ndarray
    embeddings: np.ndarray
    sha256: str
    fold_rows: list[tuple[np.ndarray, np.ndarray]]

    @property
    def key(self) -> str:
        return f"{self.name}[{self.view}]"

    def folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two (fit rows, validation rows) folds of the train half (the same rows for every view of a file)."""
        return self.fold_rows


def load_training_sets(data_dir: Path, embedder: Embedder, files: tuple[str, ...] = ()) -> list[TrainingSet]:
    """The train halves of `DATASETS` (those of `files` when given) under `data_dir`, embedded with `embedder`.

    The split (`evaluation.holdout_split`) and the two cross-validation folds are computed on the first
    view of each file and used for its other views, so no view trains on another view's held-out rows.
    """
    sets = []
    splits: dict[str, tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for file_name, text_columns, label_column in DATASETS:
        if files and file_name not in files:
            continue
        path = data_dir / file_name
        texts, labels = read_labelled_csv(path, text_columns, label_column)
        if file_name not in splits:
            train_rows, _ = holdout_split(texts, labels)
            first, second = holdout_split([texts[i] for i in train_rows], [labels[i] for i in train_rows])
            splits[file_name] = (train_rows, [(first, second), (second, first)])
        train_rows, folds = splits[file_name]
        train_texts = [texts[i] for i in train_rows]
        view = "+".join(text_columns)
        print(f"{file_name} [{view}]: {len(train_rows)} of {len(texts)} rows for training", file=sys.stderr)
        sets.append(TrainingSet(Path(file_name).stem, view, train_texts,
                                np.array([labels[i] for i in train_rows]),
                                embedder.encode(train_texts, progress=True),
                                hashlib.sha256(path.read_bytes()).hexdigest(), folds))
    return sets


def pooled(sets: list[TrainingSet], rows: list[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Embeddings and data-set-qualified labels of the given rows of every set (views of a file share labels)."""
    embeddings = np.vstack([s.embeddings[r] for s, r in zip(sets, rows)])
    labels = [f"{s.name}:{label}" for s, r in zip(sets, rows) for label in s.labels[r]]
    return embeddings, labels


def validation_precision(adapter: TextAdapter, s: TrainingSet, rows: np.ndarray, k: int) -> float:
    """Precision@k of the adapted vectors of `rows` of `s`, ranked against each other."""
    vectors = adapter.apply(s.embeddings[rows])
    return evaluate_similarity(vectors @ vectors.T, list(s.labels[rows]), k)[f"precision@{k}"]


def _with_weights(adapter: TextAdapter, lda_weight: float, probability_weight: float) -> TextAdapter:
    if probability_weight == 0:
        return replace(adapter, lda_weight=lda_weight, classifier_coef=None, classifier_intercept=None,
                       probability_weight=0.0)
    return replace(adapter, lda_weight=lda_weight, probability_weight=probability_weight)


def cross_validate(sets: list[TrainingSet], shrinkage: float, lda_weight: float, k: int,
                   probability_weight: float = 0.0, regularisation: float = 1.0) -> dict[str, float]:
    """Validation precision@k of each view for one setting, averaged over the two folds (fitted on all views pooled)."""
    scores: dict[str, list[float]] = {s.key: [] for s in sets}
    for fold in range(2):
        adapter = fit_adapter(*pooled(sets, [s.folds()[fold][0] for s in sets]), shrinkage, lda_weight,
                              probability_weight=probability_weight, regularisation=regularisation)
        for s in sets:
            scores[s.key].append(validation_precision(adapter, s, s.folds()[fold][1], k))
    return {key: float(np.mean(values)) for key, values in scores.items()}


def search(sets: list[TrainingSet], k: int) -> tuple[dict[str, float], list[dict]]:
    """The best (shrinkage, lda_weight, probability_weight, regularisation) and every row of the search.

    "Best" is the mean over the views of precision@k in 2-fold cross-validation inside the train rows
    (fitted on the fit rows of every view pooled, validated on each view's other rows). The held-out
    half is never read.
    """
    scores: dict[tuple, dict[str, list[float]]] = {}
    for fold in range(2):
        fits = [s.folds()[fold][0] for s in sets]
        embeddings, labels = pooled(sets, fits)
        codes = np.unique(np.asarray(labels), return_inverse=True)[1]
        unit = normalise_rows(embeddings - embeddings.astype(np.float64).mean(axis=0))
        classifiers = {c: topic_classifier(unit, codes, c) for c in REGULARISATIONS}
        for shrinkage in SHRINKAGES:
            lda = fit_adapter(embeddings, labels, shrinkage, 1.0)
            for regularisation, weight, probability in itertools.product(REGULARISATIONS, LDA_WEIGHTS,
                                                                         PROBABILITY_WEIGHTS):
                if probability == 0 and regularisation != REGULARISATIONS[0]:
                    continue   # without the classifier C does not matter
                coef, intercept = classifiers[regularisation]
                adapter = _with_weights(replace(lda, classifier_coef=coef, classifier_intercept=intercept),
                                        weight, probability)
                per_view = scores.setdefault((shrinkage, weight, probability, regularisation),
                                             {s.key: [] for s in sets})
                for s in sets:
                    per_view[s.key].append(validation_precision(adapter, s, s.folds()[fold][1], k))
    settings = ("shrinkage", "lda_weight", "probability_weight", "regularisation")
    best, table = choose([{**dict(zip(settings, key)), "scores": per_view} for key, per_view in scores.items()], 10)
    return {name: best[name] for name in settings}, table


def choose(rows: list[dict], shown: int) -> tuple[dict, list[dict]]:
    """The best of `rows` (settings with each view's fold scores under "scores") and the table of all.

    A row's score is the mean over views of its mean over folds; the `shown` best are printed.
    """
    table = []
    for row in rows:
        means = {key: float(np.mean(values)) for key, values in row.pop("scores").items()}
        table.append({**row, "cv_precision": means, "score": float(np.mean(list(means.values())))})
    for row in sorted(table, key=lambda r: -r["score"])[:shown]:
        print((f"shrinkage {row['shrinkage']:.1f} " if "shrinkage" in row else "")
              + f"lda {row['lda_weight']:.2f} prob {row['probability_weight']:.2f} C {row['regularisation']:g}: "
              + " ".join(f"{key} {v:.4f}" for key, v in row["cv_precision"].items())
              + f" score {row['score']:.4f}", file=sys.stderr)
    return max(table, key=lambda row: row["score"]), table


def train(data_dir: Path, k: int = 5, embedder: Embedder | None = None) -> TextAdapter:
    """Search the hyper-parameters on the train halves, then fit on all of them."""
    embedder = embedder or Embedder()
    sets = load_training_sets(data_dir, embedder)
    best, table = search(sets, k)
    embeddings, labels = pooled(sets, [np.arange(len(s.texts)) for s in sets])
    files = {s.name: s for s in sets}
    meta = {
        "trained_on": date.today().isoformat(),
        "command": f"python -m matcher.analysis.train_adapter --data-dir ../shared/data --model {embedder.model_id}",
        "data": {name: {"sha256": s.sha256, "train_rows": len(s.texts), "labels": int(len(set(s.labels)))}
                 for name, s in files.items()},
        "text_columns": [list(columns) for columns in TRAINING_TEXT_COLUMNS],
        "model_dimension": int(embeddings.shape[1]),
        "split": "evaluation.holdout_split of each file's first view: per label, rows in SHA-256 order "
                 "alternate train / held out; the file's other views use the same rows",
        "search": {"selected_by": f"mean over views of precision@{k} in 2-fold cross-validation, train rows only",
                   "table": table},
        **best,
    }
    texts = [t for s in sets for t in s.texts]
    return fit_adapter(embeddings, labels, best["shrinkage"], best["lda_weight"], embedder.model_id, texts, meta,
                       best["probability_weight"], best["regularisation"])


def extend(base: TextAdapter, data_dir: Path, k: int = 5, embedder: Embedder | None = None,
           files: tuple[str, ...] = ()) -> TextAdapter:
    """`base` (its centring and LDA part kept as they are) plus a topic classifier fitted on the train halves.

    For when encoding every data set again is too slow: only the views of `files` (default: all of
    `DATASETS`) are read, the classifier's labels are theirs, and its weight and C are chosen by the same
    2-fold cross-validated precision@k on train rows (0 = keep `base` unchanged is one of the choices),
    together with the LDA weight (the LDA directions themselves are kept).
    """
    embedder = embedder or Embedder()
    if base.model_id != embedder.model_id:
        raise ValueError(f"The base adapter was fitted on {base.model_id} vectors, not {embedder.model_id}.")
    sets = load_training_sets(data_dir, embedder, files)
    base = replace(base, classifier_coef=None, classifier_intercept=None, probability_weight=0.0)
    classifiers = {}
    for fold, regularisation in itertools.product(range(2), REGULARISATIONS):
        embeddings, labels = pooled(sets, [s.folds()[fold][0] for s in sets])
        codes = np.unique(np.asarray(labels), return_inverse=True)[1]
        classifiers[fold, regularisation] = topic_classifier(normalise_rows(embeddings - base.mean), codes,
                                                             regularisation)
    rows: list[dict] = []
    for weight, regularisation, probability in itertools.product(LDA_WEIGHTS, REGULARISATIONS, PROBABILITY_WEIGHTS):
        if probability == 0 and regularisation != REGULARISATIONS[0]:
            continue
        per_view: dict[str, list[float]] = {s.key: [] for s in sets}
        for fold in range(2):
            coef, intercept = classifiers[fold, regularisation]
            adapter = _with_weights(replace(base, classifier_coef=coef, classifier_intercept=intercept),
                                    weight, probability)
            for s in sets:
                per_view[s.key].append(validation_precision(adapter, s, s.folds()[fold][1], k))
        rows.append({"lda_weight": weight, "probability_weight": probability, "regularisation": regularisation,
                     "scores": per_view})
    best, table = choose(rows, 8)
    embeddings, labels = pooled(sets, [np.arange(len(s.texts)) for s in sets])
    texts = [t for s in sets for t in s.texts]
    hashes = np.union1d(base.training_hashes, np.array([short_hash(t) for t in texts], dtype=np.uint64))
    meta = {**base.meta, "extended": {
        "trained_on": date.today().isoformat(),
        "command": f"python -m matcher.analysis.train_adapter --data-dir ../shared/data --model {embedder.model_id} "
                   f"--extend {adapter_path_for(embedder.model_id).name} "
                   + " ".join(f"--only {name}" for name in files),
        "classifier_labels_from": sorted({s.name for s in sets}),
        "views": [s.key for s in sets],
        "search": {"selected_by": f"mean over views of precision@{k} in 2-fold cross-validation, train rows only",
                   "table": table}},
        "regularisation": best["regularisation"],
        "text_columns": sorted({*map(tuple, base.meta.get("text_columns", [])), *TRAINING_TEXT_COLUMNS})}
    base = replace(base, lda_weight=float(best["lda_weight"]))
    if best["probability_weight"] == 0:
        return replace(base, meta=meta, training_hashes=hashes)
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    coef, intercept = topic_classifier(normalise_rows(embeddings - base.mean), codes, best["regularisation"])
    return replace(base, classifier_coef=coef, classifier_intercept=intercept,
                   probability_weight=float(best["probability_weight"]), training_hashes=hashes, meta=meta)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m matcher.analysis.train_adapter",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                        help="folder holding the CSV files of DATASETS (default: ../shared/data)")
    parser.add_argument("--model", default=None,
                        help="a registered model name or a model folder (default: PEERMATCH_MODEL, else the default)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the .npz (default: the model's committed adapter file)")
    parser.add_argument("--k", type=int, default=5, help="cut-off of the precision used to choose (default: 5)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep embeddings on disk here, keyed by model and SHA-256 of the text (vectors only; "
                             "default: PEERMATCH_EMBEDDING_CACHE, else no cache). Keep it outside the repository.")
    parser.add_argument("--extend", type=Path, default=None,
                        help="keep this adapter's centring and LDA part and fit only the topic classifier "
                             "(see `extend`); e.g. the model's committed adapter")
    parser.add_argument("--only", action="append", default=[], choices=sorted({name for name, _, _ in DATASETS}),
                        help="with --extend: read only this data set (repeat for several; default: all)")
    args = parser.parse_args(argv)
    missing = [name for name, _, _ in DATASETS if not (args.data_dir / name).is_file()]
    if missing:
        parser.error(f"{', '.join(missing)} not found in {args.data_dir}.")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = cached(Embedder(model_name=args.model), args.cache_dir)
    if args.extend is not None:
        adapter = extend(TextAdapter.load(args.extend), args.data_dir, args.k, embedder, tuple(args.only))
    else:
        adapter = train(args.data_dir, args.k, embedder)
    out = args.out or adapter_path_for(adapter.model_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    adapter.save(out)
    print(f"Wrote {out} ({out.stat().st_size / 1024:.0f} KiB): shrinkage {adapter.meta['shrinkage']}, "
          f"lda_weight {adapter.lda_weight}, probability_weight {adapter.probability_weight} "
          f"(C {adapter.meta['regularisation']}), {adapter.output_dimension}-d vectors.")


if __name__ == "__main__":
    main()
