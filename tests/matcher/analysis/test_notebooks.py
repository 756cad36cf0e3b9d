"""Every notebook runs top to bottom in a fresh kernel of this interpreter and draws its figures."""
from __future__ import annotations

import importlib.util

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
CSVS = [ROOT.parent / "shared" / "data" / name  # the notebook's default PEERMATCH_SHARED_DATA
        for name in ("counsel_chat_questions.csv", "rmhd_reddit_support_groups.csv")]
FIGURES = {"01_explore_members.ipynb": 3,
           "02_evaluate_matching.ipynb": 2 + sum(path.is_file() for path in CSVS),
           "03_tune_weights.ipynb": 4}
KERNEL = "peermatch-tests"


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory) -> str:
    """A directory with a kernel spec for this very interpreter, searched before any user-level spec."""
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(root / "kernels" / KERNEL, overrides={"display_name": "peermatch tests"})
    return str(root)


def generator():
    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOKS / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_built_by_the_generator_and_has_no_outputs():
    build = generator()
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(build.NOTEBOOKS) == sorted(FIGURES)
    for name, cells in build.NOTEBOOKS.items():
        committed = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(committed)
        assert [(c.cell_type, c.source) for c in committed.cells] == cells, f"rebuild {name}"
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in committed.cells if c.cell_type == "code"), f"{name} has outputs"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_and_draws(name, fixture_database, jupyter_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    monkeypatch.setenv("DATABASE_URL", fixture_database)
    monkeypatch.setenv("PEERMATCH_NOTEBOOK_ROWS", "80")  # per labelled CSV, when ../shared/data has them
    monkeypatch.setenv("PEERMATCH_EXPORT_DIR", str(tmp_path))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, kernel_name=KERNEL, timeout=180,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures == FIGURES[name]
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "Warning" not in stderr and "Error" not in stderr, stderr
    if name == "02_evaluate_matching.ipynb":  # the support-group section printed its tables
        shown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
        assert shown.count("| flow |") == 1 + sum(path.is_file() for path in CSVS)
    if name == "03_tune_weights.ipynb":
        assert len(list(tmp_path.glob("learned-*.json"))) == 1
