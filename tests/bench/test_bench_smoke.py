"""The benchmarks run end to end on a tiny community and print the JSON keys the README table reads.

They are not timed tests: the numbers come from `python -m bench.suggest` and `python -m bench.onboard`.
"""
from __future__ import annotations

import json

import pytest

from bench import groups, onboard, suggest

pytestmark = pytest.mark.slow


def test_suggest_bench_prints_latencies_baselines_and_recall(capsys):
    # more queries than one key may make in a minute: the bench times requests, not the rate limits
    report = suggest.main(["--members", "150", "--queries", "65", "--sklearn-queries", "5", "--k", "5",
                           "--real-limit", "0", "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == report
    assert {"p50_ms", "p99_ms", "numpy_p50_ms", "sklearn_p50_ms", "recall_at_10"} <= report.keys()
    assert report["members"] == 150 and report["retrieval"] == "in-process" and report["recall_at_10"] == 1.0
    assert 0 < report["p50_ms"] <= report["p99_ms"]


def test_suggest_bench_with_ann_reports_the_graph_and_its_recall(capsys):
    report = suggest.main(["--members", "400", "--queries", "5", "--k", "5", "--real-limit", "0", "--ann",
                           "--sklearn-queries", "2", "--json"])
    exact, ann = report["runs"]
    assert exact["retrieval"] == "in-process" and exact["search"] == "exact" and exact["recall_at_10"] == 1.0
    assert ann["retrieval"] == "ann" and ann["members"] == 400
    assert {"ann_build_s", "ann_calibrate_s", "ann_candidates", "ann_calibrated_recall",
            "ann_graph_p50_ms"} <= ann.keys()
    assert ann["search"] == ("ann" if ann["ann_candidates"] else "exact") and 0 <= ann["recall_at_10"] <= 1
    assert "ann at 400" not in capsys.readouterr().out   # --json prints only the JSON object


def test_onboard_bench_prints_members_per_second_against_raw_encoding(capsys):
    report = onboard.main(["--members", "12", "--batch", "5", "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == report
    assert {"members_per_s", "raw_texts_per_s", "ratio", "max_rss_mb"} <= report.keys()
    assert report["members"] == 12 and report["members_per_s"] > 0 and report["ratio"] > 0


def test_webhooks_bench_delivers_every_event_and_reports_its_baselines(capsys):
    from bench import webhooks

    report = webhooks.main(["--events", "5", "--json"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    assert report["delivered"] == 5 and report["deliveries_per_s"] > 0 and report["raw_posts_per_s"] > 0
    assert {"change_ms", "change_with_event_one_endpoint_ms", "emit_overhead_ratio", "worker_vs_raw"} <= report.keys()


def test_groups_bench_prints_seconds_objectives_ratios_and_memory(capsys):
    (report,) = groups.main(["--members", "300", "--json"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    assert report["members"] == 300 and report["peak_rss_mb"] > 0
    for method in ("flow", "greedy", "random"):
        assert {"seconds", "cpu_seconds", "objective", "groups", "coverage"} <= report[method].keys()
    assert report["flow_vs_random"] > 1.2 and report["flow_vs_greedy"] >= 1.0


def test_onboard_bench_measures_onnxruntime_against_torch_on_the_same_texts(capsys):
    report = onboard.main(["--members", "10", "--batch", "5", "--backends", "torch", "onnxruntime", "--json"])
    backends = report["onnxruntime"]
    assert set(backends) == {"torch", "onnxruntime-fp32", "onnxruntime-int8"}
    assert backends["torch"]["ratio_to_torch"] == 1.0 and backends["torch"]["max_similarity_change"] == 0.0
    # the exported graph computes the same vectors as torch; int8 moves them measurably
    assert backends["onnxruntime-fp32"]["max_similarity_change"] < 1e-4
    assert backends["onnxruntime-fp32"]["within_tolerance"]
    assert 1e-4 < backends["onnxruntime-int8"]["max_similarity_change"] < 1
    assert all(b["texts_per_s"] > 0 for b in backends.values())
