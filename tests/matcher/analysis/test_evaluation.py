"""Metrics on hand-checked cases, the vectorised ranking against a brute-force oracle, baselines."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from matcher.analysis.evaluation import (
    METHODS,
    MissingColumnError,
    average_metrics,
    coverage,
    evaluate_similarity,
    evaluate_texts,
    evaluated_queries,
    gini,
    holdout_split,
    label_sets,
    mean_overlap_minutes,
    method_similarity,
    mrr,
    ndcg_at_k,
    per_query_metrics,
    precision_at_k,
    read_labelled_csv,
    recall_at_k,
    reciprocal_rank,
    summarise_rankings,
    supporter_loads,
)
from matcher.ranking import Ranking, Suggestion

# Made-up first-person sentences, ten per topic.
SYNTHETIC = {
    "sleep": [
        "I lie awake until four in the morning every night.",
        "My insomnia is so bad that I nap at my desk.",
        "I keep waking up at 3am and cannot fall back asleep.",
        "Even with melatonin I only sleep a few hours.",
        "My mind races at bedtime and I toss and turn for hours.",
        "I am exhausted all day because my sleep is broken.",
        "Nightmares wake me and then I dread going to bed.",
        "I have not had a full night's rest in months.",
        "My doctor says my sleeplessness is making everything worse.",
        "I stare at the ceiling all night, wide awake.",
    ],
    "grief": [
        "My mother died last spring and I still cry every day.",
        "Since my brother's funeral I feel empty.",
        "I lost my husband to cancer and the house feels so quiet.",
        "My best friend passed away suddenly and I cannot accept it.",
        "The anniversary of my dad's death is coming and I dread it.",
        "I keep setting the table for my late wife.",
        "After the miscarriage I feel like nobody understands my loss.",
        "My grandmother raised me and now she is gone.",
        "I am mourning my sister and everyone expects me to move on.",
        "Our dog died and the grief surprised me with how deep it is.",
    ],
    "work": [
        "I was laid off last month and I am scared about money.",
        "My boss criticises everything I do in front of the team.",
        "I have applied to fifty jobs and heard nothing back.",
        "Burnout from twelve-hour shifts is wrecking me.",
        "I lost my job after ten years and feel worthless.",
        "My manager keeps piling on deadlines I cannot meet.",
        "Being unemployed makes me ashamed to see my friends.",
        "A coworker takes credit for my work and I am furious.",
        "I dread Monday mornings at the office.",
        "The company is restructuring and I might be fired.",
    ],
}
TEXTS = [t for texts in SYNTHETIC.values() for t in texts]
LABELS = [label for label, texts in SYNTHETIC.items() for _ in texts]


# ---- single-query metrics ------------------------------------------------------------------------

def test_precision_at_k_counts_relevant_in_the_first_k_and_divides_by_k():
    ranked = ["a", "b", "c", "d"]
    assert precision_at_k(ranked, {"a", "c"}, 1) == 1.0
    assert precision_at_k(ranked, {"a", "c"}, 2) == 0.5
    assert precision_at_k(ranked, {"a", "c"}, 4) == 0.5
    assert precision_at_k(["a", "b"], {"a"}, 5) == pytest.approx(0.2)


def test_recall_at_k_is_the_share_of_relevant_items_found():
    assert recall_at_k(["a", "b", "c"], {"a", "c", "z"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "b", "c"], {"a", "c", "z"}, 3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="skip the query"):
        recall_at_k(["a"], set(), 1)


def test_ndcg_at_k_binary_and_graded_by_hand():
    assert ndcg_at_k(["a", "b"], {"a"}, 2) == 1.0
    assert ndcg_at_k(["b", "a"], {"a"}, 2) == pytest.approx(1 / np.log2(3))
    dcg = 1 + 2 / np.log2(3)
    ideal = 2 + 1 / np.log2(3)
    assert ndcg_at_k(["x", "y", "z"], {"x": 1, "y": 2}, 2) == pytest.approx(dcg / ideal)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 0}, 1)


def test_ndcg_at_k_agrees_with_scikit_learn():
    rng = np.random.default_rng(3)
    for _ in range(20):
        gains = rng.integers(0, 3, size=12).astype(float)
        gains[0] = 1.0
        scores = rng.random(12)
        ranked = list(np.argsort(-scores))
        ours = ndcg_at_k(ranked, dict(enumerate(gains)), 5)
        assert ours == pytest.approx(ndcg_score([gains], [scores], k=5))


def test_reciprocal_rank_and_mrr():
    assert reciprocal_rank(["b", "a", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["b", "a"], {"c"}) == 0.0
    assert mrr([["a", "b"], ["b", "a"]], [{"a"}, {"a"}]) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        mrr([], [])


@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_a_bad_k_is_rejected(k):
    with pytest.raises(ValueError, match="positive integer"):
        precision_at_k(["a"], {"a"}, k)


# ---- supply-side metrics -------------------------------------------------------------------------

def test_coverage_is_the_share_of_members_with_a_suggestion():
    assert coverage([[1], [], [2, 3], []]) == 0.5
    with pytest.raises(ValueError):
        coverage([])


def test_mean_overlap_minutes_averages_every_suggestion_shown():
    assert mean_overlap_minutes([[60, 120], [], [30]]) == 70.0
    assert mean_overlap_minutes([[], []]) == 0.0


def test_gini_by_hand_and_against_the_mean_difference_formula():
    assert gini([3, 3, 3, 3]) == 0.0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([0, 0]) == 0.0
    x = np.array([5.0, 1, 0, 2, 7])
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(expected)
    with pytest.raises(ValueError):
        gini([1, -1])


def test_supporter_loads_counts_zeros_too():
    assert supporter_loads([[1, 2], [2], []], [1, 2, 3]).tolist() == [1, 2, 0]


def test_summarise_rankings_of_rank_results():
    def ranking(*pairs):
        return Ranking([Suggestion(m, 1.0, {"overlap_minutes": o}) for m, o in pairs], {})

    summary = summarise_rankings({10: ranking((1, 60), (2, 120)), 11: ranking(), 12: ranking((1, 90))}, [1, 2, 3])
    assert summary["coverage"] == pytest.approx(2 / 3)
    assert summary["mean_overlap_minutes"] == 90.0
    assert summary["gini"] == pytest.approx(gini([2, 1, 0]))


# ---- ranking everyone against everyone -----------------------------------------------------------

def oracle_metrics(similarity, labels, k):
    """Brute force: rank each row with a sort, score it with the single-query functions."""
    sets = label_sets(labels)
    out = {f"precision@{k}": [], f"recall@{k}": [], f"ndcg@{k}": [], "mrr": []}
    for i in range(len(labels)):
        others = sorted((j for j in range(len(labels)) if j != i), key=lambda j: (-similarity[i, j], j))
        gains = {j: len(sets[i] & sets[j]) for j in others if sets[i] & sets[j]}
        if not gains:
            for values in out.values():
                values.append(np.nan)
            continue
        out[f"precision@{k}"].append(precision_at_k(others, gains, k))
        out[f"recall@{k}"].append(recall_at_k(others, gains, k))
        out[f"ndcg@{k}"].append(ndcg_at_k(others, gains, k))
        out["mrr"].append(reciprocal_rank(others, gains))
    return {name: np.array(values) for name, values in out.items()}


@pytest.mark.parametrize("multi_label", [False, True])
def test_per_query_metrics_match_the_brute_force_oracle(multi_label):
    rng = np.random.default_rng(7)
    n = 300  # more than one chunk of rows
    similarity = np.round(rng.random((n, n)), 1)  # coarse scores, so ties are common
    names = ["a", "b", "c", "d", "e", "lonely"]
    if multi_label:
        labels = [tuple(rng.choice(names[:5], size=rng.integers(1, 3), replace=False)) for _ in range(n)]
    else:
        labels = [str(x) for x in rng.choice(names[:5], size=n)]
    labels[0] = ("lonely",) if multi_label else "lonely"
    fast, slow = per_query_metrics(similarity, labels, 5), oracle_metrics(similarity, labels, 5)
    for name in slow:
        np.testing.assert_allclose(fast[name], slow[name], equal_nan=True)
    assert np.isnan(fast["mrr"][0])


def test_k_larger_than_the_set_is_fine():
    similarity = np.array([[0, 0.9, 0.1], [0.9, 0, 0.2], [0.1, 0.2, 0]])
    result = evaluate_similarity(similarity, ["x", "x", "y"], k=10)
    assert result == {"precision@10": pytest.approx(0.1), "recall@10": 1.0, "ndcg@10": 1.0, "mrr": 1.0}


def test_query_and_label_averaging_by_hand():
    per_query = {"m": np.array([1.0, 0.0, 0.5, np.nan])}
    labels = ["x", "x", "y", "z"]
    assert average_metrics(per_query, labels, "query") == {"m": 0.5}
    assert average_metrics(per_query, labels, "label") == {"m": 0.5}
    assert average_metrics({"m": np.array([1.0, 1.0, 0.0, np.nan])}, labels, "label") == {"m": 0.5}
    with pytest.raises(ValueError, match="average"):
        average_metrics(per_query, labels, "micro")


def test_evaluated_queries_skips_labels_nobody_else_has():
    assert evaluated_queries(["a", "a", "b", "c"]) == 2
    assert evaluated_queries([("a", "b"), ("b",), ("c",)]) == 2


def test_a_malformed_similarity_is_rejected():
    with pytest.raises(ValueError, match="finite"):
        evaluate_similarity(np.ones((2, 3)), ["a", "a"])
    with pytest.raises(ValueError, match="finite"):
        evaluate_similarity(np.array([[0, np.nan], [1, 0]]), ["a", "a"])


# ---- splits and data -----------------------------------------------------------------------------

def test_holdout_split_is_stratified_deterministic_and_order_free():
    train, held_out = holdout_split(TEXTS, LABELS)
    assert sorted([*train, *held_out]) == list(range(len(TEXTS)))
    for label in SYNTHETIC:
        assert sum(LABELS[i] == label for i in held_out) == 5
    order = np.random.default_rng(0).permutation(len(TEXTS))
    _, shuffled_held_out = holdout_split([TEXTS[i] for i in order], [LABELS[i] for i in order])
    assert {TEXTS[order[i]] for i in shuffled_held_out} == {TEXTS[i] for i in held_out}
    train, held_out = holdout_split(["only one"], ["alone"])
    assert train.tolist() == [0] and held_out.tolist() == []


def test_read_labelled_csv_joins_columns_and_splits_labels(tmp_path):
    path = tmp_path / "set.csv"
    path.write_text('title,body,tags\nHi,"there, you",a | b\nNo,sleep,c\n', encoding="utf-8")
    texts, labels = read_labelled_csv(path, ["title", "body"], "tags", "|")
    assert texts == ["Hi there, you", "No sleep"]
    assert labels == [("a", "b"), ("c",)]
    with pytest.raises(MissingColumnError, match="it has: title, body, tags"):
        read_labelled_csv(path, ["text"], "tags")


# ---- baselines -----------------------------------------------------------------------------------

def test_tfidf_finds_shared_words_and_random_is_near_chance():
    texts = ["red apple pie", "apple pie red", "red pie apple", "blue sky sea", "sea blue sky", "sky sea blue"]
    labels = ["food"] * 3 + ["view"] * 3
    assert evaluate_similarity(method_similarity("tfidf", texts), labels, k=2)["precision@2"] == 1.0
    chance = evaluate_similarity(method_similarity("random", TEXTS * 4, seed=1), LABELS * 4, k=5)
    assert chance["precision@5"] == pytest.approx((40 - 1) / (120 - 1), abs=0.06)


def test_method_similarity_rejects_unknown_methods_and_missing_embeddings():
    with pytest.raises(ValueError, match="Unknown method"):
        method_similarity("bm25", TEXTS)
    with pytest.raises(ValueError, match="needs embeddings"):
        method_similarity("embedding", TEXTS)


def test_evaluate_texts_scores_every_method(embedder):
    results = evaluate_texts(TEXTS, LABELS, 5, embedder)
    assert list(results) == list(METHODS)
    for metrics in results.values():
        assert set(metrics) == {"precision@5", "recall@5", "ndcg@5", "mrr"}
        assert all(0.0 <= value <= 1.0 for value in metrics.values())
    assert results["embedding"]["precision@5"] > results["random"]["precision@5"] + 0.3


def test_peermatch_is_not_worse_than_plain_embedding(embedder):
    results = evaluate_texts(TEXTS, LABELS, 5, embedder, methods=("embedding", "peermatch"))
    for metric in ("precision@5", "recall@5", "ndcg@5", "mrr"):
        assert results["peermatch"][metric] >= results["embedding"][metric]


def test_evaluate_texts_rejects_bad_input(embedder):
    with pytest.raises(ValueError, match="Unknown or no methods"):
        evaluate_texts(TEXTS, LABELS, 5, embedder, methods=("bm25",))
    with pytest.raises(ValueError, match="one label"):
        evaluate_texts(TEXTS, LABELS[:-1], 5, embedder)
