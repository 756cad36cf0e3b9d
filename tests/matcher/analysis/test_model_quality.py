"""Match quality of the serving models on real labelled narratives (`../shared/data`, skipped without it).

The held-out half of CounselChat (title + text; rows no adapter trained on), ranked against itself:
all-mpnet-base-v2 through its own adapter must beat its plain cosine, and beat all-MiniLM-L6-v2 through
MiniLM's adapter (README, "Choosing the model"). Reddit's 4,679 long posts are measured by `peermatch
evaluate`, not here: mpnet needs minutes for them on this machine.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from matcher.analysis.evaluation import evaluate_texts, holdout_split, read_labelled_csv
from tests.conftest import SHARED_DATA

DATA = Path(os.environ.get("PEERMATCH_SHARED_DATA", SHARED_DATA))
COUNSEL = DATA / "counsel_chat_questions.csv"


@pytest.fixture(scope="module")
def counsel_heldout():
    if not COUNSEL.is_file():
        pytest.skip(f"{COUNSEL} is not here (the shared labelled data sets)")
    texts, labels = read_labelled_csv(COUNSEL, ("title", "text"), "label")
    _, held = holdout_split(texts, labels)
    return [texts[i] for i in held], [labels[i] for i in held]


def test_mpnet_with_its_adapter_beats_its_plain_cosine_and_minilm(counsel_heldout, embedder, mpnet_embedder):
    texts, labels = counsel_heldout
    mpnet = evaluate_texts(texts, labels, 5, mpnet_embedder, ("embedding", "peermatch"))
    minilm = evaluate_texts(texts, labels, 5, embedder, ("embedding", "peermatch"))
    assert mpnet["peermatch"]["precision@5"] > mpnet["embedding"]["precision@5"]
    assert mpnet["peermatch"]["precision@5"] > minilm["peermatch"]["precision@5"]
    assert mpnet["embedding"]["precision@5"] > minilm["embedding"]["precision@5"]
