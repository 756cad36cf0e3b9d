"""Validation of member fields: each rejection names the field and the reason."""
from __future__ import annotations

import pytest

from matcher.profiles import (
    ProfileError,
    Window,
    parse_availability,
    roles_compatible,
    validate_languages,
    validate_narrative,
    validate_topics,
)


@pytest.mark.parametrize("raw, field", [
    ({"day": "funday", "start": "10:00", "end": "11:00"}, "availability.day"),
    ({"day": "mon", "start": "24:00", "end": "11:00"}, "availability.start"),
    ({"day": "mon", "start": "9:00", "end": "11:00"}, "availability.start"),
    ({"day": "mon", "start": "10:00", "end": "10:60"}, "availability.end"),
    ({"day": "mon", "start": "10:00\n", "end": "11:00"}, "availability.start"),
    ({"day": "mon"}, "availability.start"),
    ("mon 10-11", "availability"),
])
def test_bad_windows_are_rejected(raw, field):
    with pytest.raises(ProfileError) as err:
        Window.parse(raw)
    assert err.value.field == field


def test_window_crossing_midnight_is_valid():
    window = Window.parse({"day": "sat", "start": "22:30", "end": "01:00"})
    assert window.minutes == 150
    assert window.to_dict() == {"day": "sat", "start": "22:30", "end": "01:00"}


def test_availability_needs_at_least_one_window():
    with pytest.raises(ProfileError, match="at least one"):
        parse_availability([])


def test_languages_are_iso_639_1():
    assert validate_languages(["EN", "es", "en"]) == ("en", "es")
    for bad in (["eng"], ["xx"], [], "en", [3]):
        with pytest.raises(ProfileError):
            validate_languages(bad)


def test_narrative_limits():
    assert validate_narrative("  hello ") == "hello"
    with pytest.raises(ProfileError, match="empty"):
        validate_narrative("   ")
    with pytest.raises(ProfileError, match="5000"):
        validate_narrative("x" * 5001)
    assert len(validate_narrative("x" * 5000)) == 5000


def test_topics_are_normalised_tags():
    assert validate_topics(["Grief", "grief", " sleep "]) == ("grief", "sleep")
    with pytest.raises(ProfileError):
        validate_topics([""])


@pytest.mark.parametrize("a, b, ok", [
    ("seeker", "supporter", True), ("seeker", "peer", True), ("peer", "peer", True),
    ("supporter", "peer", True), ("seeker", "seeker", False), ("supporter", "supporter", False),
])
def test_role_compatibility_is_symmetric(a, b, ok):
    assert roles_compatible(a, b) is ok
    assert roles_compatible(b, a) is ok


def test_a_window_that_ends_when_it_starts_lasts_a_whole_day():
    window = Window.parse({"day": "sat", "start": "09:00", "end": "09:00"})
    assert window.minutes == 24 * 60
    assert Window.parse({"day": "sat", "start": "22:00", "end": "01:00"}).minutes == 180
