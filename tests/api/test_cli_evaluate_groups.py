"""`peermatch evaluate-groups` end to end with the real model: the fixtures, a made-up CSV, refused options."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.analysis import evaluate_groups
from tests.api.test_cli_evaluate import ROWS


@pytest.fixture
def run(embedder):
    def invoke(*args: str):
        return CliRunner().invoke(evaluate_groups, list(args), obj={"embedder": embedder})
    return invoke


@pytest.fixture
def labelled_csv(tmp_path):
    path = tmp_path / "made_up.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "topic"])
        for i, (label, text) in enumerate((lab, t) for lab, texts in ROWS.items() for t in texts):
            writer.writerow([i, text, label])
    return path


def test_the_command_is_registered():
    assert main.get_command(None, "evaluate-groups") is evaluate_groups


def test_on_the_fixtures_it_prints_every_method_and_the_ratios(run):
    result = run()
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("fixtures: 170 members waiting")
    assert [line.split()[0] for line in lines[2:5]] == ["flow", "greedy", "random"]
    assert "objective_vs_random" in lines[5] and "label_purity_vs_greedy" in lines[5]


def test_a_csv_gets_random_members_and_json_has_every_metric(run, labelled_csv):
    result = run("--data", str(labelled_csv), "--label-column", "topic", "--min-size", "2", "--max-size", "3",
                 "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["members"] == 30
    for method in ("flow", "greedy", "random"):
        assert {"groups", "coverage", "objective", "label_purity", "sizes", "left_out"} <= report[method].keys()
        assert set(report[method]["sizes"]) <= {"2", "3"}
    assert report["flow"]["groups"] > 0 and report["flow"]["label_purity"] > report["random"]["label_purity"]


@pytest.mark.parametrize(("args", "message"), [
    (("--min-size", "6", "--max-size", "5"), "above --max-size"),
    (("--limit", "10"), "--data files only"),
    (("--data", "{csv}", "--label-column", "nope"), "nope"),
])
def test_contradictory_or_wrong_options_are_refused(run, labelled_csv, args, message):
    result = run(*(a.format(csv=labelled_csv) for a in args))
    assert result.exit_code != 0 and message in result.output
