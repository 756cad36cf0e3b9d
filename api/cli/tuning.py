"""Analyst command of the `peermatch` CLI: choose MatchConfig weights and export them for PEERMATCH_CONFIG."""
from __future__ import annotations

import json
import os
from datetime import date

import click

from api.cli.analysis import analysis_embedder
from matcher.analysis.feedback_sim import run_simulated_study
from matcher.analysis.group_feedback import stored_group_feedback
from matcher.analysis.member_data import database_index, fixture_index, member_themes, stored_feedback
from matcher.analysis.pair_features import WEIGHT_FEATURES, WEIGHT_FIELDS, candidate_pairs, weight_vector
from matcher.analysis.tuning import (
    DEFAULT_GRID,
    config_from_weights,
    export_config,
    grid_search,
    learn_weights,
    shared_label_gains,
    weight_distance,
)
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.service.database import DEFAULT_DATABASE_URL, Database


def _parse_weights(ctx: click.Context, param: click.Parameter, value: str) -> MatchConfig:
    try:
        weights = [float(v) for v in value.split(",")]
        return config_from_weights(weights, name="hidden-truth")
    except ValueError as exc:
        raise click.BadParameter(f"give {len(WEIGHT_FEATURES)} comma-separated weights >= 0 "
                                 f"({', '.join(WEIGHT_FEATURES)}); {exc}") from exc


def _load_index(ctx: click.Context, source: str) -> MemberIndex:
    if source == "fixtures":
        return fixture_index(analysis_embedder(ctx), progress=True)
    db = Database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    try:
        with db.session() as session:
            return database_index(session)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.dispose()


def _grid(index: MemberIndex, k: int) -> tuple[MatchConfig, dict]:
    """The grid's best setting for theme agreement, and the table around it."""
    themes = member_themes(index)
    if not themes:
        raise click.ClickException("Grid search scores theme agreement, but no member has a hidden theme; "
                                   "use --source fixtures or a database loaded with `peermatch load-fixtures`.")
    pairs = candidate_pairs(index)
    rows = grid_search(pairs, shared_label_gains(pairs, themes), DEFAULT_GRID, k=k)
    default = dict(zip(WEIGHT_FIELDS, weight_vector(MatchConfig())))
    place = next((i for i, r in enumerate(rows, 1) if all(r[f] == v for f, v in default.items())), None)
    best = config_from_weights([rows[0][f] for f in WEIGHT_FIELDS], name=f"grid-{date.today().isoformat()}")
    return best, {"settings": len(rows), "best": rows[0], "default_place": place,
                  "default": rows[place - 1] if place else None}


def _simulate(index: MemberIndex, true_config: MatchConfig, k: int, seed: int) -> tuple[MatchConfig, dict]:
    """Weights learned from feedback simulated under `true_config`, and how they compare with the defaults."""
    study = run_simulated_study(index, true_config, seed=seed)
    learned = study.learned
    return learned.config, {
        "pairs": len(study.pairs), "cv_auc": learned.cv_auc, "cv_auc_std": learned.cv_auc_std,
        "true_weights": dict(zip(WEIGHT_FIELDS, weight_vector(true_config).tolist())),
        "distance_to_truth": {"default": weight_distance(MatchConfig(), true_config),
                              "learned": weight_distance(learned.config, true_config)},
        "held_out": {"default": study.held_out(MatchConfig(), k), "learned": study.held_out(learned.config, k)},
    }


def _from_feedback() -> tuple[MatchConfig, dict]:
    """Weights learned from the ratings members gave their real pairings and groups (stored at DATABASE_URL)."""
    db = Database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    try:
        with db.session() as session:
            pairs = stored_feedback(session)
            groups, group_ratings = stored_group_feedback(session)
    finally:
        db.dispose()
    feedback = pairs + groups
    good = feedback.ratings >= 4
    try:
        learned = learn_weights(feedback.features, good, groups=feedback.pairing_ids,
                                sample_weight=feedback.sample_weights)
    except ValueError as exc:
        raise click.ClickException(f"{exc} ({int(good.sum())} ratings of 4-5 and {int((~good).sum())} of 1-3 "
                                   "are stored so far.)") from exc
    return learned.config, {"ratings": len(good), "pair_ratings": len(pairs), "group_ratings": group_ratings,
                            "group_pairs": len(groups), "good": int(good.sum()), "cv_auc": learned.cv_auc,
                            "cv_auc_std": learned.cv_auc_std,
                            "distance_to_default": weight_distance(learned.config, MatchConfig())}


@click.command("tune-weights")
@click.option("--method", type=click.Choice(["grid", "simulate", "feedback"]), default="grid", show_default=True,
              help="grid: best weights for sharing the hidden theme; simulate: learn from simulated feedback; "
                   "feedback: learn from members' ratings of pairs and groups stored at DATABASE_URL (rating >= 4 "
                   "is good).")
@click.option("--source", type=click.Choice(["fixtures", "database"]), default="fixtures", show_default=True,
              help="The fixture file encoded now, or the members and vectors stored at DATABASE_URL.")
@click.option("--true-weights", default="0.35,0.30,0.20,0.15,0.25", show_default=True, callback=_parse_weights,
              help="simulate: the hidden weights of similarity, availability, topics, preferences, exposure.")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50), help="Cut-off of the @k metrics.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the simulation.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the chosen config here; start the service with PEERMATCH_CONFIG=<this path>.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")
@click.pass_context
def tune_weights(ctx: click.Context, method: str, source: str, true_weights: MatchConfig, k: int, seed: int,
                 out: str | None, as_json: bool) -> None:
    """Choose the ranking weights by grid search or from simulated feedback, and optionally export them."""
    if method == "feedback":
        config, report = _from_feedback()
    else:
        index = _load_index(ctx, source)
        config, report = _grid(index, k) if method == "grid" else _simulate(index, true_weights, k, seed)
    if out:
        export_config(config, out)
    if as_json:
        click.echo(json.dumps({"config": config.to_dict(), "digest": config.digest(), **report}))
        return
    click.echo(json.dumps(report, indent=2))
    click.echo(f"Chosen: {config.name} " + " ".join(f"{f}={getattr(config, f)}" for f in WEIGHT_FIELDS)
               + f" (digest {config.digest()})")
    if out:
        click.echo(f"Wrote {out}; serve with PEERMATCH_CONFIG={out} peermatch serve")
