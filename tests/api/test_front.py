"""The front door and the docs page need no key, link only to this site, and carry a strict policy."""
from __future__ import annotations

import re


def test_the_front_door_and_docs_are_public_and_local(client):
    front = client.get("/")
    assert front.status_code == 200 and "Coordinator console" in front.get_data(as_text=True)
    docs = client.get("/api/v1/docs")
    html = docs.get_data(as_text=True)
    assert docs.status_code == 200 and "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    assert not re.search(r'(src|href)="https?://', html)   # no CDN
    policy = docs.headers["Content-Security-Policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]{44}'", policy) and "unsafe-inline" not in policy.split(
        "style-src")[0]
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and asset.mimetype in ("text/javascript", "application/javascript")
