"""matcher is a library first: importing it loads neither Flask nor SQLAlchemy."""
from __future__ import annotations

import subprocess
import sys

PURE_MODULES = ["matcher", "matcher.profiles", "matcher.availability", "matcher.config", "matcher.index",
                "matcher.ranking", "matcher.embedding", "matcher.explanation", "matcher.fixtures",
                "matcher.assignment", "matcher.evaluation", "matcher.text_scoring", "matcher.safety",
                "matcher.member_data", "matcher.pair_features", "matcher.tuning", "matcher.feedback_sim"]


def test_matcher_imports_no_flask_and_no_sqlalchemy():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in PURE_MODULES) +
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'api') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_matcher_never_imports_api():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "matcher"
    for path in root.rglob("*.py"):
        text = path.read_text()
        for forbidden in ("import api", "from api", "import flask", "from flask"):
            assert forbidden not in text, (path, forbidden)
