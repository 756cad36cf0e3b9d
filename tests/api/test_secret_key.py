"""No secret in the source: one from the environment or the instance folder, or the service does not start."""
from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from api import cli, create_app
from matcher.service.instance import configured_secret_key, secret_key_path
from matcher.store.keys import create_api_key

OLD_CONSTANT = "dev-only-change-me"   # what create_app fell back to before


@pytest.fixture
def empty_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERMATCH_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("PEERMATCH_SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'secret.sqlite3'}")
    return tmp_path


def test_the_app_does_not_start_without_a_secret(empty_instance, embedder):
    with pytest.raises(SystemExit, match="No secret key is configured: set PEERMATCH_SECRET_KEY"):
        create_app({"EMBEDDER": embedder})


def test_init_db_creates_a_private_secret_once_and_the_app_uses_it(empty_instance, embedder):
    first = CliRunner().invoke(cli.main, ["init-db"], catch_exceptions=False)
    path = secret_key_path()
    assert first.exit_code == 0 and f"Created a secret key in {path}" in first.output
    secret = path.read_text().strip()
    assert len(secret) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CliRunner().invoke(cli.main, ["init-db"], catch_exceptions=False)
    assert "Created a secret key" not in again.output and path.read_text().strip() == secret
    app = create_app({"EMBEDDER": embedder})
    assert app.config["SECRET_KEY"] == secret != OLD_CONSTANT
    app.extensions["db_engine"].dispose()


def test_the_environment_wins_over_the_file(empty_instance, monkeypatch):
    CliRunner().invoke(cli.main, ["init-db"], catch_exceptions=False)
    monkeypatch.setenv("PEERMATCH_SECRET_KEY", "an operator's own long random secret of 40+ chars")
    assert configured_secret_key() == "an operator's own long random secret of 40+ chars"


def test_serve_refuses_to_start_without_a_secret(empty_instance):
    result = CliRunner().invoke(cli.main, ["serve", "--port", "5998"])
    assert result.exit_code == 1 and "No secret key is configured" in result.output
    assert not secret_key_path().exists()


def signed_session(secret: str, data: dict) -> str:
    """A Flask session cookie signed with `secret`, as anyone who knows it could make one."""
    signer = Flask("forger")
    signer.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps(data)


def test_a_cookie_signed_with_the_old_constant_opens_nothing(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "EMBEDDER": embedder})
    with Session(app.extensions["db_engine"]) as session:
        key_row, _ = create_api_key(session, "admin", "target")
        session.commit()
        key_id = key_row.id
    client = app.test_client()
    client.set_cookie("session", signed_session(OLD_CONSTANT, {"key_id": key_id, "tz": "UTC"}), domain="localhost")
    response = client.get("/coordinator/")
    assert response.status_code == 302 and "/coordinator/login" in response.headers["Location"]
    app.extensions["db_engine"].dispose()
