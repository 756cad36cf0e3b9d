"""Behind a TLS-ending reverse proxy: X-Forwarded-* is trusted only when PEERMATCH_PROXY_FIX says so."""
from __future__ import annotations

import pytest
from flask import request

from api import create_app
from api.proxy import proxies_in_front

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "peers.example.org"}


def seen_by(app) -> dict:
    @app.get("/_seen")
    def _seen():
        return {"scheme": request.scheme, "remote_addr": request.remote_addr, "host": request.host,
                "secure": request.is_secure}
    return app.test_client().get("/_seen", headers=FORWARDED).json


@pytest.mark.parametrize("setting", [None, "1"])
def test_forwarded_headers_count_only_behind_a_declared_proxy(tmp_path, embedder, monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv("PEERMATCH_PROXY_FIX", raising=False)
    else:
        monkeypatch.setenv("PEERMATCH_PROXY_FIX", setting)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "EMBEDDER": embedder})
    seen = seen_by(app)
    if setting is None:
        assert seen == {"scheme": "http", "remote_addr": "127.0.0.1", "host": "localhost", "secure": False}
    else:
        assert seen == {"scheme": "https", "remote_addr": "203.0.113.7", "host": "peers.example.org", "secure": True}
    app.extensions["db_engine"].dispose()


def test_a_proxy_count_that_is_not_a_number_is_refused_with_a_sentence():
    assert proxies_in_front("") == 0 and proxies_in_front(" 2 ") == 2
    with pytest.raises(ValueError, match="number of proxies in front of the app"):
        proxies_in_front("yes")
