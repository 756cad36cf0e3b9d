"""`peermatch evaluate` end to end on a small made-up CSV, with the real embedding model."""
from __future__ import annotations

import csv
import json
from unittest.mock import patch

import numpy as np
import pytest
from click.testing import CliRunner

from api.cli.analysis import evaluate

METRICS = {"precision@5", "recall@5", "ndcg@5", "mrr"}
ROWS = {
    "money": [
        "Rent is due and I cannot pay it this month.", "My credit card debt keeps growing.",
        "I lie awake worrying about the bills.", "We might lose the house to the bank.",
        "I borrowed from my parents again and feel ashamed.", "My wages barely cover groceries.",
        "Debt collectors call me every single day.", "I hide the bank statements from my partner.",
        "I had to choose between heating and food.", "My savings are gone after the car broke down.",
    ],
    "loneliness": [
        "I moved to a new city and know nobody here.", "Weekends are the worst, I talk to no one.",
        "My friends all have partners and I feel left out.", "I eat dinner alone every night.",
        "Nobody texts me unless they need something.", "I feel invisible at parties.",
        "Since retiring I have nobody to talk to.", "I miss having someone to call after work.",
        "My phone never rings and the silence is heavy.", "I feel lonely even in a crowded room.",
    ],
    "health": [
        "I was diagnosed with diabetes and feel overwhelmed.", "My chronic back pain stops me working.",
        "The chemotherapy leaves me exhausted.", "I am scared of my upcoming surgery.",
        "My migraines come several times a week.", "Living with arthritis makes every task slow.",
        "I keep waiting for test results and cannot focus.", "My heart condition means I cannot run anymore.",
        "I have had long covid for a year now.", "My new medication makes me dizzy and sick.",
    ],
}


@pytest.fixture
def labelled_csv(tmp_path):
    path = tmp_path / "made_up.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "text", "label"])
        for i, (label, text) in enumerate((lab, t) for lab, texts in ROWS.items() for t in texts):
            writer.writerow([i, f"Post {i}", text, label])
    return path


@pytest.fixture
def run(embedder):
    def invoke(*args: str):
        return CliRunner().invoke(evaluate, list(args), obj={"embedder": embedder})
    return invoke


def test_evaluate_prints_a_table_of_every_metric_for_every_method(run, labelled_csv):
    result = run("--data", str(labelled_csv), "--k", "5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("30 rows, 30 queries")
    assert lines[1].split() == ["method", "precision@5", "recall@5", "ndcg@5", "mrr"]
    assert [line.split()[0] for line in lines[2:]] == ["random", "tfidf", "embedding", "peermatch"]
    embedding_row = dict(zip(lines[1].split()[1:], map(float, lines[4].split()[1:])))
    assert embedding_row["precision@5"] > 0.6


def test_evaluate_json_is_one_object_of_all_methods_and_metrics(run, labelled_csv):
    result = run("--data", str(labelled_csv), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == ["random", "tfidf", "embedding", "peermatch"]
    for metrics in payload.values():
        assert set(metrics) == METRICS
        assert all(0.0 <= value <= 1.0 for value in metrics.values())


def test_evaluate_options_select_methods_columns_rows_and_labels(run, labelled_csv):
    result = run("--data", str(labelled_csv), "--json", "--methods", "tfidf,embedding", "--limit", "12",
                 "--text-column", "title", "--text-column", "text", "--average", "label", "--heldout")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == ["tfidf", "embedding"]


def test_a_missing_column_is_a_usage_error_naming_the_columns(run, labelled_csv):
    result = run("--data", str(labelled_csv), "--label-column", "topic")
    assert result.exit_code == 2
    assert "topic not in the file; it has: id, title, text, label" in result.stderr


def test_an_unreadable_or_missing_file_is_a_clear_error(run, tmp_path):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00text,label\n\x80\x81,x\n")
    result = run("--data", str(binary))
    assert result.exit_code == 1
    assert "Cannot read" in result.stderr and "UTF-8 CSV" in result.stderr
    result = run("--data", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_unknown_methods_and_unscorable_labels_are_rejected(run, labelled_csv, tmp_path):
    result = run("--data", str(labelled_csv), "--methods", "tfidf,bm25")
    assert result.exit_code == 2 and "comma-separated list" in result.stderr
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("text,label\nfirst,a\nsecond,b\n", encoding="utf-8")
    result = run("--data", str(lonely))
    assert result.exit_code == 1 and "nothing can be scored" in result.stderr


def test_heldout_leaves_out_training_rows_whichever_text_columns_are_evaluated(labelled_csv):
    """An adapter trained on title + text knows its rows by that joined text; evaluating the text column
    alone must still leave those rows out (it once kept them all)."""
    from api.cli.analysis import _select_rows
    from matcher.analysis.evaluation import read_labelled_csv
    from matcher.analysis.text_scorer import fit_adapter

    joined, labels = read_labelled_csv(labelled_csv, ("title", "text"), "label")
    trained = joined[::2]
    vectors = np.random.default_rng(0).normal(size=(len(joined), 8))
    adapter = fit_adapter(vectors, labels, model_id="toy", training_texts=trained,
                          meta={"text_columns": [["title", "text"], ["text"]]})
    texts, text_labels = read_labelled_csv(labelled_csv, ("text",), "label")
    with patch("api.cli.analysis._shipped_adapter", return_value=adapter):
        kept, _ = _select_rows(texts, text_labels, None, 0, True, "toy", str(labelled_csv), "label")
        kept_joined, _ = _select_rows(joined, labels, None, 0, True, "toy", str(labelled_csv), "label")
    assert kept == texts[1::2] and kept_joined == joined[1::2]
