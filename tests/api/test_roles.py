"""Every route x every role: 401 without a key, 403 with a wrong one, through with a right one.

The routes come from the app itself, so an endpoint added later is covered the day it lands, and
one added without `@requires(...)` fails here until someone decides who may call it.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.states import ApiRole
from matcher.store.models import (
    ApiKey,
    GroupProgramme,
    OutboxEvent,
    Pairing,
    SupportGroup,
    SupportOffer,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.api.helpers import create

API_ROLES = tuple(ApiRole)

# Public on purpose: the API description, the probes a load balancer calls without a key, and the
# coordinator pages' way in and out.
PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "front.index",
                    "front.docs_asset", "healthz", "readyz", "pages.login", "pages.logout"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def routes(app) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) for every route that is not public, HEAD and OPTIONS aside."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.rule, method, rule.endpoint))
    return out


def required_roles(app, endpoint: str, method: str) -> tuple[str, ...] | None:
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
    return getattr(view, "required_roles", None)


@pytest.fixture
def path_values(app, client, keys, member_body) -> dict[str, int]:
    """Real ids for every path parameter: a member the onboarding key created, and a pairing."""
    seeker = create(client, keys["onboarding"], member_body())
    supporter = create(client, keys["onboarding"], member_body(role="supporter", display_name="Ben"))
    with Session(app.extensions["db_engine"]) as session:
        pairing = Pairing(seeker_id=seeker["id"], supporter_id=supporter["id"], score=0.5)
        programme = GroupProgramme(name="Circle", languages=["en"], created_by="test")
        session.add_all([pairing, programme])
        session.flush()
        group = SupportGroup(programme_id=programme.id, language="en", slot={
            "timezone": "UTC", "day": "mon", "start": "18:00", "minutes": 90})
        client_key = session.scalar(select(ApiKey.id).where(ApiKey.name == "test-onboarding"))
        offer = SupportOffer(member_id=seeker["id"], capacity=1)
        endpoint = WebhookEndpoint(client_key_id=client_key, url="http://127.0.0.1:9/", event_types=[],
                                   secret="whsec_dGVzdA==", created_by="test")
        event = OutboxEvent(type="member.held", member_ids=[seeker["id"]], data={})
        session.add_all([group, offer, endpoint, event])
        session.flush()
        delivery = WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, webhook_id="msg_roles", payload={})
        session.add(delivery)
        session.commit()
        return {"member_id": seeker["id"], "pairing_id": pairing.id, "programme_id": programme.id,
                "group_id": group.id, "offer_id": offer.id, "endpoint_id": endpoint.id, "delivery_id": delivery.id}


def concrete_paths(rule: str, values: dict[str, int]) -> list[str]:
    """The rule with real ids filled in; one path per choice of an `any(...)` parameter."""
    paths = [rule]
    for match in PARAMETER.finditer(rule):
        if match["converter"] == "any":
            choices = [item.strip().strip("'\"") for item in match["args"].split(",")]
        else:
            assert match["name"] in values, f"{rule}: no test value for {match['name']!r}; add one to path_values"
            choices = [str(values[match["name"]])]
        paths = [path.replace(match[0], choice, 1) for path in paths for choice in choices]
    return paths


def csrf_token(client) -> str:
    """A token for the pages' forms, bound to the test client's session cookie."""
    html = client.get("/coordinator/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def call(client, method: str, path: str, headers: dict):
    body = {} if method in BODY_METHODS else None
    if path.startswith("/api/"):
        return client.open(path, method=method, headers=headers, json=body)
    return client.open(path, method=method, headers=headers, data=body)


def refused_without_key(response, rule: str) -> bool:
    """API routes answer 401; HTML pages may instead send the browser to their login page."""
    if response.status_code == 401:
        return True
    return (not rule.startswith("/api/") and response.status_code in (302, 303)
            and "login" in response.headers.get("Location", ""))


def test_every_route_declares_its_roles(app):
    missing = [f"{method} {rule} ({endpoint})" for rule, method, endpoint in routes(app)
               if required_roles(app, endpoint, method) is None]
    assert not missing, ("These routes have no @requires(...); add one, or list the endpoint in "
                         f"PUBLIC_ENDPOINTS if it really is public: {missing}")
    unknown = {role for rule, method, endpoint in routes(app)
               for role in required_roles(app, endpoint, method) if role not in API_ROLES}
    assert not unknown


def test_role_matrix(app, client, keys, path_values):
    csrf = {"X-CSRFToken": csrf_token(client)}
    failures = []
    for rule, method, endpoint in routes(app):
        allowed = set(required_roles(app, endpoint, method) or ()) | {"admin"}
        for path in concrete_paths(rule, path_values):
            response = call(client, method, path, csrf)
            if not refused_without_key(response, rule):
                failures.append(f"{method} {path} without a key: {response.status_code}, expected 401")
            for role in API_ROLES:
                response = call(client, method, path, keys[role] | csrf)
                status = response.status_code
                if role in allowed and (status in (401, 403) or status >= 500):
                    failures.append(f"{method} {path} as {role}: {status} {response.get_data(as_text=True)[:200]}")
                if role not in allowed and status != 403:
                    failures.append(f"{method} {path} as {role}: {status}, expected 403")
    assert not failures, "\n".join(failures)


def test_refusals_are_json_errors_that_name_the_problem(client, keys):
    response = client.get("/api/v1/members", headers={"Authorization": "Bearer pm_not-a-real-key"})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    response = client.get("/api/v1/members", headers=keys["analyst"])
    assert response.status_code == 403 and response.json["error"] == "forbidden"
    assert "coordinator" in response.json["message"]


def test_openapi_declares_the_bearer_scheme_for_every_operation(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API key."}
    documented = set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method in ("parameters", "summary", "description"):
                continue
            assert operation.get("security", doc.get("security")) == [{"bearerAuth": []}], (method, path)
            documented.add((method.upper(), path))
    served = {(method, PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule))
              for rule, method, _ in routes(app) if rule.startswith("/api/v1/")}
    assert served == documented


def test_a_page_session_does_not_authorise_the_json_api(client, keys):
    """The API takes keys only from the header, so a logged-in browser cannot be tricked into calling it."""
    token = csrf_token(client)
    key = keys["coordinator"]["Authorization"].removeprefix("Bearer ")
    response = client.post("/coordinator/login", data={"key": key, "csrf_token": token})
    assert response.status_code in (302, 303)
    assert client.get("/coordinator/").status_code == 200
    assert client.get("/api/v1/members").status_code == 401
    assert client.post("/api/v1/rounds", json={}, headers={"X-CSRFToken": token}).status_code == 401
