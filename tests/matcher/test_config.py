"""MatchConfig: one object of weights that analysts change, save and load."""
from __future__ import annotations

import pytest

from matcher.config import MatchConfig, load_config


def test_round_trip_through_a_file(tmp_path):
    config = MatchConfig(w_similarity=0.5, min_overlap_minutes=30, name="tuned")
    path = tmp_path / "config.json"
    config.save(path)
    assert MatchConfig.load(path) == config
    assert MatchConfig.load(path).digest() == config.digest()


def test_digest_changes_with_any_setting():
    assert MatchConfig().digest() != MatchConfig(w_topics=0.11).digest()
    assert MatchConfig().digest() == MatchConfig().digest()


def test_environment_variable_selects_the_config(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    MatchConfig(name="from-env").save(path)
    monkeypatch.setenv("PEERMATCH_CONFIG", str(path))
    assert load_config().name == "from-env"
    monkeypatch.delenv("PEERMATCH_CONFIG")
    assert load_config() == MatchConfig()


@pytest.mark.parametrize("bad", [{"w_similarity": -1}, {"target_overlap_minutes": 0}, {"exposure_window_hours": 0}])
def test_invalid_settings_are_rejected(bad):
    with pytest.raises(ValueError):
        MatchConfig(**bad)


def test_unknown_keys_are_rejected():
    with pytest.raises(ValueError, match="Unknown config keys: colour"):
        MatchConfig.from_dict({"colour": "blue"})
