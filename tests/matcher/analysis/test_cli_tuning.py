"""`peermatch tune-weights`: grid search and simulated learning, exported for the service."""
from __future__ import annotations

import json

from click.testing import CliRunner

from api.cli.tuning import tune_weights
from matcher.config import MatchConfig, load_config


def invoke(embedder, *args: str):
    return CliRunner().invoke(tune_weights, list(args), obj={"embedder": embedder})


def test_grid_on_the_fixtures_exports_its_best_setting(embedder, tmp_path, monkeypatch):
    out = tmp_path / "grid.json"
    result = invoke(embedder, "--method", "grid", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["settings"] == 48 and report["default_place"] > 1
    assert report["best"]["ndcg@5"] > report["default"]["ndcg@5"]
    monkeypatch.setenv("PEERMATCH_CONFIG", str(out))
    assert load_config().name.startswith("grid-") and load_config().digest() == report["digest"]


def test_simulate_from_the_database_learns_closer_weights(embedder, fixture_database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fixture_database)
    result = invoke(embedder, "--method", "simulate", "--source", "database", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["distance_to_truth"]["learned"] < report["distance_to_truth"]["default"] / 2
    assert report["held_out"]["learned"]["ndcg@5"] > report["held_out"]["default"]["ndcg@5"]
    assert report["config"]["name"].startswith("learned-")
    assert MatchConfig.from_dict(report["config"]).digest() == report["digest"]


def test_bad_true_weights_are_a_usage_error(embedder):
    result = invoke(embedder, "--method", "simulate", "--true-weights", "1,2,3")
    assert result.exit_code == 2 and "comma-separated weights" in result.output
