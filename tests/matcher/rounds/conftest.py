"""Fixtures of the round tests."""
from __future__ import annotations

import pytest

from matcher.index import MemberIndex
from tests.matcher.factories import WEEK


@pytest.fixture
def index() -> MemberIndex:
    return MemberIndex(4, week_start=WEEK)
