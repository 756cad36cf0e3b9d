"""Safety hold on the real model: crisis language is held for a person to review, ordinary stories are not."""
from __future__ import annotations

import pytest

from matcher.text.safety import SafetyConfig, SafetyScreen


@pytest.fixture(scope="module")
def screen(embedder):
    return SafetyScreen(embedder)


def test_explicit_phrase_is_held_with_its_reason(screen):
    result = screen.screen("Work is hard. Honestly I want to end my life this week.")
    assert result.held and any(r.startswith("phrase: end my life") for r in result.reasons)


def test_crisis_meaning_without_a_listed_phrase_is_held_by_similarity(screen):
    result = screen.screen("I cannot go on anymore and I am saying goodbye to everyone.")
    assert result.held and any("crisis example" in r for r in result.reasons)


@pytest.mark.parametrize("text", ["My mother died in March and I miss her terribly.",
                                  "I was laid off and I'm anxious about rent.",
                                  "Chemo starts next week; I'm scared but hopeful."])
def test_ordinary_hard_stories_are_not_held(screen, text):
    assert not screen.screen(text).held


def test_phrase_list_is_configurable(embedder, tmp_path):
    path = tmp_path / "safety.json"
    path.write_text('{"phrases": ["red balloon"], "exemplars": [], "similarity_threshold": 0.9}')
    custom = SafetyScreen(embedder, SafetyConfig.load(path))
    assert custom.screen("I saw a red balloon.").held
    assert not custom.screen("I want to end my life.").held
