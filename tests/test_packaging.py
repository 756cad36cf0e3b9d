"""An installed wheel is enough: it carries every package, the migrations, the text adapter, the pages'
files and the fixture members, and `peermatch load-fixtures` works from it outside the checkout."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                    "-w", str(out)], check=True, capture_output=True)
    return next(out.glob("peermatch-*.whl"))


def test_the_wheel_carries_every_package_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(ROOT)) for top in ("matcher", "api")
                for p in (ROOT / top).rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names
    migrations = {str(p.relative_to(ROOT)) for p in (ROOT / "matcher/store/migrations").rglob("*") if p.is_file()
                  and p.suffix in (".py", ".mako")}
    assert migrations <= names and "matcher/store/migrations/versions/0003_one_exclusions_table.py" in names
    assert {"matcher/text/artifacts/text_adapter.npz", "matcher/fixture_data/members.json",
            "api/templates/queue.html", "api/static/peermatch.css"} <= names
    assert not any(name.startswith("data/") or name.endswith("build_fixtures.py") for name in names)


def test_load_fixtures_and_suggest_work_from_the_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "DATABASE_URL": f"sqlite:///{tmp_path / 'wheel.sqlite3'}",
           "HF_HUB_OFFLINE": "1"}

    def peermatch(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    where = subprocess.run([sys.executable, "-c", "import matcher.fixtures as f, matcher.text.adapter as a; "
                            "print(f.default_fixtures_path()); print(a.service_dimension('all-MiniLM-L6-v2', 384))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(target / "matcher" / "fixture_data" / "members.json"), "432"]   # packaged data, adapter on
    assert "Loaded 364 new fixture members." in peermatch("load-fixtures")
    assert peermatch("suggest", "1", "--k", "3").startswith("Suggestions for #1 ")


def test_a_missing_fixture_file_is_one_clear_sentence(tmp_path, monkeypatch):
    import matcher.fixtures as fixtures

    monkeypatch.setattr(fixtures, "CHECKOUT_FIXTURES", tmp_path / "none.json")
    monkeypatch.setattr(fixtures, "PACKAGED_FIXTURES", tmp_path / "nothing.json")
    with pytest.raises(fixtures.FixturesMissingError, match="pass a fixture file with --file PATH"):
        fixtures.default_fixtures_path()
