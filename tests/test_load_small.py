"""A small run of bench/load.py: gunicorn with two workers on loopback, PostgreSQL, 60 requests."""
from __future__ import annotations

import os

import pytest

from bench.load import run

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_small_load_keeps_every_member_and_every_capacity(postgres_server):
    name = f"load_{os.getpid()}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    url = postgres_server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    report = run(60, threads=4, workers=2, database_url=url)
    checks = report["checks"]
    assert checks["ok"], checks
    assert report["requests"] == 60 and checks["server_errors"] == 0
    assert checks["members_created"] > 0 and checks["approved_pairings"] > 0
    assert set(report["by_operation"]) == {"create", "suggest", "round", "approve"}
