"""Property-based run over every operation in /api/v1/openapi.json: no 5xx, every response as documented.

schemathesis generates valid and invalid requests from the OpenAPI document; an admin key lets
every request past authentication (the role matrix is tested in test_roles.py). Each operation is
tried with valid requests on random ids, valid requests on ids that exist, and invalid requests.
SQLite only: the point is request handling, and a bounded number of examples keeps it short.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS as CHECK_REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import GroupMembership, GroupProgramme, Pairing, SupportGroup
from tests.api.helpers import create

MAX_EXAMPLES = 20
load_all_checks()
CHECKS = CHECK_REGISTRY.get_all()   # every check schemathesis has: status codes, headers, positive and negative data
# A schema-valid If-Match that names another version is refused with 412, as HTTP says it must be.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]}}})
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))


@pytest.fixture
def fuzz_app(tmp_path, embedder):
    from api import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.sqlite3'}",
                      "EMBEDDER": embedder, "SECRET_KEY": "test", "RATE_LIMIT_WRITES": "100000 per minute",
                      "RATE_LIMIT_SUGGESTIONS": "100000 per minute"})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def seeded(fuzz_app, member_body) -> tuple[dict[str, str], dict[str, int]]:
    """An admin key, and members and pairings whose ids the generated paths can hit."""
    with Session(fuzz_app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "admin", "fuzz")
        session.commit()
    headers = {"Authorization": f"Bearer {key}"}
    client = fuzz_app.test_client()
    ids = [create(client, headers, member_body(role=role, display_name=f"M{i}"))["id"]
           for i, role in enumerate(("seeker", "supporter") * 3)]
    with Session(fuzz_app.extensions["db_engine"]) as session:
        pairings = [Pairing(seeker_id=ids[0], supporter_id=ids[1], score=0.5),
                    Pairing(seeker_id=ids[2], supporter_id=ids[3], score=0.4, status="approved")]
        programme = GroupProgramme(name="Circle", languages=["en", "es"], created_by="fuzz")
        session.add_all([*pairings, programme])
        session.flush()
        group = SupportGroup(programme_id=programme.id, language="es", status="approved", slot={
            "timezone": "Europe/Madrid", "day": "mon", "start": "18:00", "minutes": 90})
        session.add(group)
        session.flush()
        session.add_all([GroupMembership(group_id=group.id, member_id=m) for m in ids[:4]])
        session.commit()
        return headers, {"member_id": ids[4], "pairing_id": pairings[1].id, "programme_id": programme.id,
                         "group_id": group.id}


def variants(operation, real_ids: dict[str, int]):
    """(name, strategy) pairs: valid requests on random ids, on existing ids, and invalid requests."""
    names = {p.name for p in operation.path_parameters}
    yield "valid", operation.as_strategy(GenerationMode.POSITIVE)
    if names:
        pinned = {name: real_ids[name] for name in names if name in real_ids}
        yield "valid, existing ids", operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned)
    yield "invalid", operation.as_strategy(GenerationMode.NEGATIVE)


@pytest.mark.slow
def test_every_generated_request_gets_a_documented_answer(fuzz_app, seeded):
    headers, real_ids = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = [m for methods in schema.raw_schema["paths"].values() for m in methods if m != "parameters"]
    assert len(operations) == len(documented)
    failures = []
    for operation in operations:
        for name, strategy in variants(operation, real_ids):
            @FUZZ_SETTINGS
            @given(case=strategy)
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)
            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({name}): {exc}")
    assert not failures, f"{len(failures)} operation runs failed:\n\n" + "\n\n".join(failures)
