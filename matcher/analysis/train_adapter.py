"""Fit the text adapter that `matcher.analysis.text_scorer.TextScorer` uses, from labelled peer-support text.

Rebuild a model's committed artefact (`matcher.text.adapter.adapter_path_for`) from the project root with::

    HF_HUB_OFFLINE=1 python -m matcher.analysis.train_adapter --data-dir ../shared/data --model all-mpnet-base-v2

What it does, deterministically (no random numbers; the same data, model and torch build give
the same file):

1. Read each data set in `DATASETS` and keep only its *train* half (`evaluation.holdout_split`:
   stratified by label, alternating rows in SHA-256 order). The other half is never read, so it
   stays a fair held-out set: ``peermatch evaluate --heldout`` ranks exactly those rows.
2. Embed the train rows with the chosen model (default: the serving default).
3. Choose the LDA shrinkage and weight on the train rows alone, by the mean of two NDCG@k scores:
   2-fold cross-validation inside the train rows (the same split rule again; topics seen in
   training) and an adapter fitted on the other data set (topics never seen), see `search`.
4. Fit the adapter on all train rows with the chosen values; labels of different data sets are
   kept apart. Save the arrays, the training-row hashes and the metadata in one .npz file.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from matcher.analysis.evaluation import evaluate_similarity, holdout_split, read_labelled_csv
from matcher.analysis.text_scorer import fit_adapter
from matcher.text.adapter import TextAdapter, adapter_path_for
from matcher.text.embedding import Embedder

# file name, text columns (joined by a space), label column
DATASETS = (
    ("counsel_chat_questions.csv", ("title", "text"), "label"),
    ("rmhd_reddit_support_groups.csv", ("text",), "label"),
)
TRAINING_TEXT_COLUMNS = tuple(columns for _, columns, _ in DATASETS)
SHRINKAGES = (0.1, 0.3, 0.6, 0.9)
LDA_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)  # 0.0: centring only


@dataclass
class TrainingSet:
    """The train half of one labelled data set, embedded."""

    name: str
    texts: list[str]
    labels: np.ndarray
    embeddings: np.ndarray
    sha256: str

    def folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Two (fit rows, validation rows) folds of the train half."""
        first, second = holdout_split(self.texts, list(self.labels))
        return [(first, second), (second, first)]


def load_training_sets(data_dir: Path, embedder: Embedder) -> list[TrainingSet]:
    """The train halves of `DATASETS` under `data_dir`, embedded with `embedder`."""
    sets = []
    for file_name, text_columns, label_column in DATASETS:
        path = data_dir / file_name
        texts, labels = read_labelled_csv(path, text_columns, label_column)
        train_rows, _ = holdout_split(texts, labels)
        train_texts = [texts[i] for i in train_rows]
        print(f"{file_name}: {len(train_rows)} of {len(texts)} rows for training", file=sys.stderr)
        sets.append(TrainingSet(Path(file_name).stem, train_texts, np.array([labels[i] for i in train_rows]),
                                embedder.encode(train_texts, progress=True),
                                hashlib.sha256(path.read_bytes()).hexdigest()))
    return sets


def pooled(sets: list[TrainingSet], rows: list[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Embeddings and data-set-qualified labels of the given rows of every set."""
    embeddings = np.vstack([s.embeddings[r] for s, r in zip(sets, rows)])
    labels = [f"{s.name}:{label}" for s, r in zip(sets, rows) for label in s.labels[r]]
    return embeddings, labels


def validation_ndcg(adapter: TextAdapter, s: TrainingSet, rows: np.ndarray, k: int) -> float:
    """NDCG@k of the adapted vectors of `rows` of `s`, ranked against each other."""
    vectors = adapter.apply(s.embeddings[rows])
    return evaluate_similarity(vectors @ vectors.T, list(s.labels[rows]), k)[f"ndcg@{k}"]


def cross_validate(sets: list[TrainingSet], shrinkage: float, lda_weight: float, k: int) -> dict[str, float]:
    """Validation NDCG@k of each data set, averaged over the two folds (fitted on all sets pooled)."""
    scores: dict[str, list[float]] = {s.name: [] for s in sets}
    for fold in range(2):
        folds = [s.folds()[fold] for s in sets]
        adapter = fit_adapter(*pooled(sets, [fit for fit, _ in folds]), shrinkage, lda_weight)
        for s, (_, validation) in zip(sets, folds):
            scores[s.name].append(validation_ndcg(adapter, s, validation, k))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def transfer(sets: list[TrainingSet], shrinkage: float, lda_weight: float, k: int) -> dict[str, float]:
    """NDCG@k of each data set under an adapter fitted on the *other* sets only (unseen topics)."""
    scores = {}
    for s in sets:
        others = [o for o in sets if o is not s]
        adapter = fit_adapter(*pooled(others, [np.arange(len(o.texts)) for o in others]), shrinkage, lda_weight)
        scores[s.name] = validation_ndcg(adapter, s, np.arange(len(s.texts)), k)
    return scores


def search(sets: list[TrainingSet], k: int) -> tuple[dict[str, float], list[dict]]:
    """The best (shrinkage, lda_weight) and every row of the search.

    "Best" is the mean of two train-only scores, each averaged over the data sets: NDCG@k in
    2-fold cross-validation (topics seen in training) and NDCG@k of an adapter fitted on the other
    data sets (topics never seen). The second keeps the adapter from over-fitting to one label set;
    members' narratives in the service carry no such labels.
    """
    table: list[dict] = []
    for shrinkage, weight in itertools.product(SHRINKAGES, LDA_WEIGHTS):
        seen, unseen = cross_validate(sets, shrinkage, weight, k), transfer(sets, shrinkage, weight, k)
        row = {"shrinkage": shrinkage, "lda_weight": weight, "seen_topics": seen, "unseen_topics": unseen,
               "score": float(np.mean([np.mean(list(seen.values())), np.mean(list(unseen.values()))]))}
        table.append(row)
        print(f"shrinkage {shrinkage:.1f} weight {weight:.2f}: seen {np.mean(list(seen.values())):.4f} "
              f"unseen {np.mean(list(unseen.values())):.4f} score {row['score']:.4f}", file=sys.stderr)
    best = max(table, key=lambda row: row["score"])
    return {"shrinkage": best["shrinkage"], "lda_weight": best["lda_weight"]}, table


def train(data_dir: Path, k: int = 5, embedder: Embedder | None = None) -> TextAdapter:
    """Search the hyper-parameters on the train halves, then fit on all of them."""
    embedder = embedder or Embedder()
    sets = load_training_sets(data_dir, embedder)
    best, table = search(sets, k)
    embeddings, labels = pooled(sets, [np.arange(len(s.texts)) for s in sets])
    meta = {
        "trained_on": date.today().isoformat(),
        "command": f"python -m matcher.analysis.train_adapter --data-dir ../shared/data --model {embedder.model_id}",
        "data": {s.name: {"sha256": s.sha256, "train_rows": len(s.texts), "labels": int(len(set(s.labels)))}
                 for s in sets},
        "text_columns": [list(columns) for columns in TRAINING_TEXT_COLUMNS],
        "model_dimension": int(embeddings.shape[1]),
        "split": "evaluation.holdout_split: per label, rows in SHA-256 order alternate train / held out",
        "search": {"selected_by": f"mean of seen-topic (2-fold CV) and unseen-topic (other data set) NDCG@{k}, "
                                  "train rows only", "table": table},
        **best,
    }
    texts = [t for s in sets for t in s.texts]
    return fit_adapter(embeddings, labels, best["shrinkage"], best["lda_weight"], embedder.model_id, texts, meta)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m matcher.analysis.train_adapter",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                        help="folder holding the CSV files of DATASETS (default: ../shared/data)")
    parser.add_argument("--model", default=None,
                        help="a registered model name or a model folder (default: PEERMATCH_MODEL, else the default)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the .npz (default: the model's committed adapter file)")
    parser.add_argument("--k", type=int, default=5, help="cut-off of the NDCG used to choose (default: 5)")
    args = parser.parse_args(argv)
    missing = [name for name, _, _ in DATASETS if not (args.data_dir / name).is_file()]
    if missing:
        parser.error(f"{', '.join(missing)} not found in {args.data_dir}.")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    adapter = train(args.data_dir, args.k, Embedder(model_name=args.model))
    out = args.out or adapter_path_for(adapter.model_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    adapter.save(out)
    print(f"Wrote {out} ({out.stat().st_size / 1024:.0f} KiB): shrinkage {adapter.meta['shrinkage']}, "
          f"lda_weight {adapter.lda_weight}, {adapter.output_dimension}-d vectors.")


if __name__ == "__main__":
    main()
