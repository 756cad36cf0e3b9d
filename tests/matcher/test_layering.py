"""The folders are the layers, and imports point one way: api -> service -> store -> text -> core.

Every module's layer is read off its path (nothing is listed by hand): ``api/...`` is HTTP,
``matcher/service/``, ``matcher/store/``, ``matcher/text/`` and ``matcher/analysis/`` are theirs,
and everything else under ``matcher/`` (its top-level modules, ``rounds/``) is the pure core.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGE_LAYERS = ("service", "store", "text", "analysis")
ALLOWED = {   # layer -> the layers it may import
    "core": {"core"},
    "text": {"text", "core"},
    "store": {"store", "text", "core"},
    "service": {"service", "store", "text", "core"},
    "analysis": {"analysis", "store", "text", "core"},
    "api": {"api", "service", "analysis", "text", "core"},
}
LIBRARY_HOMES = {   # a third-party package -> the only layers that import it
    "sqlalchemy": {"store"}, "alembic": {"store"}, "psycopg": {"store"}, "pgvector": {"store"},
    "flask": {"api"}, "flask_smorest": {"api"}, "flask_wtf": {"api"}, "werkzeug": {"api"},
    "marshmallow": {"api"}, "click": {"api"}, "gunicorn": {"api"},
    "sklearn": {"analysis"}, "scipy": {"analysis"},
    "sentence_transformers": {"text"}, "torch": {"text"}, "transformers": {"text"},
}


def layer_of(module: str) -> str | None:
    """The layer of a peermatch module name (None for anything else)."""
    parts = module.split(".")
    if parts[0] == "api":
        return "api"
    if parts[0] != "matcher":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGE_LAYERS else "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> list[Path]:
    return sorted(p for top in ("matcher", "api") for p in (ROOT / top).rglob("*.py"))


def imports_of(path: Path) -> list[str]:
    """Every module an `import` or `from ... import` names, at any depth (TYPE_CHECKING blocks included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]   # `from matcher import store`
    return names


def test_the_tree_has_every_layer():
    layers = {layer_of(module_name(p)) for p in source_modules()}
    assert layers == set(ALLOWED)
    assert layer_of("matcher.rounds.solvers") == "core" and layer_of("matcher.store.migrations.env") == "store"


def wrong_imports(source: str, names: list[str]) -> list[str]:
    """The imported names a module of layer `source` may not import, each with why."""
    wrong = []
    for name in names:
        target = layer_of(name)
        if target is not None and target not in ALLOWED[source]:
            wrong.append(f"{name} ({target})")
        home = LIBRARY_HOMES.get(name.split(".")[0])
        if home is not None and source not in home:
            wrong.append(f"{name} (only {', '.join(sorted(home))} may import it)")
    return sorted(set(wrong))


@pytest.mark.parametrize("path", source_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path):
    source = layer_of(module_name(path))
    assert wrong_imports(source, imports_of(path)) == []


def test_only_the_two_encoder_modules_talk_to_sentence_transformers():
    talkers = {module_name(p) for p in source_modules()
               if any(n.split(".")[0] == "sentence_transformers" for n in imports_of(p))}
    assert talkers == {"matcher.text.embedding", "matcher.text.onnx_encoder"}


def test_the_checker_sees_wrong_arrows():
    assert wrong_imports("core", ["matcher.store.models", "matcher.ranking"]) == ["matcher.store.models (store)"]
    assert wrong_imports("api", ["sqlalchemy.orm", "matcher.service.review"]) == [
        "sqlalchemy.orm (only store may import it)"]
    assert wrong_imports("api", ["matcher.store.models"]) == ["matcher.store.models (store)"]
    assert wrong_imports("service", ["sklearn.linear_model"]) == ["sklearn.linear_model (only analysis may import it)"]
    assert wrong_imports("store", ["matcher.service.errors"]) == ["matcher.service.errors (service)"]


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT).stdout.strip()


def test_the_core_and_text_import_no_web_framework_and_no_database():
    core = [module_name(p) for p in source_modules() if layer_of(module_name(p)) in ("core", "text")]
    assert "matcher.rounds.propose" in core and "matcher.ranking" in core and "matcher.text.safety" in core
    code = ("import sys\n" + "".join(f"import {m}\n" for m in core) +
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'api', 'sklearn', 'matcher.store') if m in sys.modules))")
    assert run_python(code) == "[]"


def test_serving_imports_no_analysis_code():
    """An app that has served a request has imported no `matcher.analysis` module, and no module of ours
    imported scikit-learn or scipy (the model libraries import scipy themselves; that is theirs)."""
    code = """
import builtins, sys, tempfile
ours = []
real_import = builtins.__import__
def watching(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "")
    if name.split(".")[0] in ("sklearn", "scipy") and importer.split(".")[0] in ("matcher", "api"):
        ours.append(f"{importer} -> {name}")
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = watching
from api import create_app
app = create_app({"DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/x.sqlite3", "SECRET_KEY": "t"})
app.test_client().get("/readyz")
print(sorted(m for m in sys.modules if m.startswith("matcher.analysis")), ours)
"""
    assert run_python(code).splitlines()[-1] == "[] []"
