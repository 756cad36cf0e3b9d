"""Analyst commands of the `peermatch` CLI: offline evaluation of text matching and of group formation."""
from __future__ import annotations

import csv
import json
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import click
import numpy as np

from matcher.analysis.embedding_cache import CACHE_ENV, cached
from matcher.analysis.evaluation import (
    AVERAGES,
    METHODS,
    MissingColumnError,
    evaluate_texts,
    evaluated_queries,
    read_labelled_csv,
)
from matcher.analysis.group_evaluation import (
    GROUP_METHODS,
    default_rules,
    evaluate_fixture_groups,
    evaluate_text_groups,
)
from matcher.analysis.text_scorer import AdapterUnavailableWarning
from matcher.analysis.train_adapter import TRAINING_TEXT_COLUMNS
from matcher.text.adapter import TextAdapter, adapter_path_for

if TYPE_CHECKING:
    from matcher.text.embedding import Embedder


def _parse_methods(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    methods = tuple(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise click.BadParameter(f"use a comma-separated list of {', '.join(METHODS)}; got {value!r}.")
    return methods


def _read(path: str, text_columns: tuple[str, ...], label_column: str,
          label_separator: str | None) -> tuple[list[str], list]:
    try:
        return read_labelled_csv(path, text_columns, label_column, label_separator)
    except (OSError, UnicodeError, csv.Error) as exc:  # UnicodeError first: it is also a ValueError
        raise click.ClickException(f"Cannot read {path} as a UTF-8 CSV file with a header row: {exc}") from exc
    except MissingColumnError as exc:
        raise click.BadParameter(str(exc), param_hint="'--text-column' / '--label-column'") from exc
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def analysis_embedder(ctx: click.Context) -> Embedder:
    """The embedder passed in `ctx.obj["embedder"]` (tests, notebooks), else the project's model."""
    given = ctx.obj.get("embedder") if isinstance(ctx.obj, dict) else None
    if given is not None:
        return given
    from api import cli

    return cli.embedder()


def _shipped_adapter(model_id: str | None) -> TextAdapter | None:
    path = adapter_path_for(model_id)
    return TextAdapter.load(path) if path.is_file() else None


def _trained_rows(adapter: TextAdapter, path: str, texts: list[str], label_column: str) -> np.ndarray:
    """Rows that trained `adapter`, whichever text columns are evaluated.

    The adapter knows its training rows by the hash of the text it saw (for CounselChat, title and
    text joined), so the rows are also read with each training set's own columns: evaluating the
    text column alone must still leave out every row whose title + text trained the adapter.
    """
    trained = adapter.trained_on(texts)
    for columns in dict.fromkeys(tuple(c) for c in adapter.meta.get("text_columns", TRAINING_TEXT_COLUMNS)):
        try:
            other, _ = read_labelled_csv(path, columns, label_column)
        except (MissingColumnError, ValueError):
            continue
        if len(other) == len(texts):
            trained |= adapter.trained_on(other)
    return trained


def _select_rows(texts: list[str], labels: list, limit: int | None, seed: int, heldout: bool,
                 model_id: str | None = None, path: str = "", label_column: str = "label") -> tuple[list[str], list]:
    keep = np.ones(len(texts), dtype=bool)
    if heldout:
        adapter = _shipped_adapter(model_id)
        if adapter is None:
            raise click.UsageError(f"--heldout needs the text adapter {adapter_path_for(model_id)}, which is missing.")
        keep &= ~_trained_rows(adapter, path, texts, label_column)
    rows = np.flatnonzero(keep)
    if limit is not None and limit < rows.size:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
    return [texts[i] for i in rows], [labels[i] for i in rows]


def _warn_if_trained_on(texts: list[str], model_id: str | None, path: str, label_column: str) -> None:
    adapter = _shipped_adapter(model_id)
    leaked = int(_trained_rows(adapter, path, texts, label_column).sum()) if adapter is not None else 0
    if leaked:
        click.echo(f"Warning: {leaked} of {len(texts)} rows trained the text adapter, so 'peermatch' scores "
                   "are optimistic; add --heldout for a fair comparison.", err=True)


def _evaluate_noting_fallback(texts: list[str], labels: list, k: int, embedder: Embedder,
                              methods: tuple[str, ...], average: str, seed: int) -> dict[str, dict[str, float]]:
    """`evaluate_texts`, turning the adapter's fallback warning into a note on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AdapterUnavailableWarning)
        results = evaluate_texts(texts, labels, k, embedder, methods, average, seed, progress=True)
    for warning in caught:
        if issubclass(warning.category, AdapterUnavailableWarning):
            click.echo(f"Note: {warning.message}", err=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return results


def _echo_table(results: dict[str, dict[str, float]], n_rows: int, n_queries: int, k: int, average: str) -> None:
    metrics = list(next(iter(results.values())))
    click.echo(f"{n_rows} rows, {n_queries} queries ranked against all other rows; "
               f"{average}-averaged, k={k}.")
    click.echo(f"{'method':<10}" + "".join(f"{m:>13}" for m in metrics))
    for method, values in results.items():
        click.echo(f"{method:<10}" + "".join(f"{values[m]:>13.4f}" for m in metrics))


@click.command("evaluate")
@click.option("--data", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A UTF-8 CSV file with a header row.")
@click.option("--text-column", "text_columns", multiple=True, default=("text",), show_default=True,
              help="Column with the text; repeat to join several columns with a space (e.g. title, text).")
@click.option("--label-column", default="label", show_default=True, help="Column with the label.")
@click.option("--label-separator", default=None,
              help="Split the label column on this string for multi-label rows (e.g. '|').")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 100), help="Cut-off of the @k metrics.")
@click.option("--methods", default=",".join(METHODS), show_default=True, callback=_parse_methods,
              help="Comma-separated methods to compare.")
@click.option("--limit", type=click.IntRange(2), default=None,
              help="Evaluate a random sample of this many rows (seeded by --seed; file order kept).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of --limit and of the random baseline.")
@click.option("--average", type=click.Choice(AVERAGES), default="query", show_default=True,
              help="Mean over queries, or over labels (mean of each label's query mean).")
@click.option("--heldout", is_flag=True,
              help="Keep only rows the model's shipped text adapter was not trained on (a fair test of "
                   "'peermatch'), whichever text columns are evaluated.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object {method: {metric: value}} and nothing else.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Keep embeddings on disk here, keyed by model and SHA-256 of the text (vectors only, no text; "
                   f"default: ${CACHE_ENV}, else none). Analysis only; keep it outside the repository.")
@click.pass_context
def evaluate(ctx: click.Context, path: str, text_columns: tuple[str, ...], label_column: str,
             label_separator: str | None, k: int, methods: tuple[str, ...], limit: int | None, seed: int,
             average: str, heldout: bool, as_json: bool, cache_dir: str | None) -> None:
    """Rank every row of a labelled CSV against the others by text alone and score each method.

    A row is a good match for another when they share a label.
    """
    texts, labels = _read(path, text_columns, label_column, label_separator)
    embedder = cached(analysis_embedder(ctx), cache_dir)
    texts, labels = _select_rows(texts, labels, limit, seed, heldout, embedder.model_id, path, label_column)
    n_queries = evaluated_queries(labels) if len(texts) >= 2 else 0
    if n_queries == 0:
        raise click.ClickException("No row shares a label with another row, so nothing can be scored.")
    if "peermatch" in methods and not heldout:
        _warn_if_trained_on(texts, embedder.model_id, path, label_column)
    results = _evaluate_noting_fallback(texts, labels, k, embedder, methods, average, seed)
    if as_json:
        click.echo(json.dumps(results))
    else:
        _echo_table(results, len(texts), n_queries, k, average)


def _echo_group_table(report: dict, source: str) -> None:
    methods = [m for m in GROUP_METHODS if m in report]
    click.echo(f"{source}: {report['members']} members waiting; label purity of random pairs "
               f"{report['random_pairs_purity']:.3f}.")
    click.echo(f"{'method':<8}{'groups':>8}{'coverage':>10}{'objective':>11}{'purity':>8}{'mean sim':>10}"
               f"{'seconds':>9}  sizes")
    for method in methods:
        r = report[method]
        sizes = " ".join(f"{s}:{n}" for s, n in r["sizes"].items())
        click.echo(f"{method:<8}{r['groups']:>8}{r['coverage']:>10.3f}{r['objective']:>11.2f}{r['label_purity']:>8.3f}"
                   f"{r['mean_group_similarity']:>10.3f}{r['seconds']:>9.2f}  {sizes}")
    click.echo("flow vs baselines: " + ", ".join(f"{k} {v:.3f}" for k, v in report["ratios"].items()))


@click.command("evaluate-groups")
@click.option("--data", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A UTF-8 CSV file with a header row; without it, the fixture members who want a group "
                   "(their own languages, time zones, availability and sizes; a theme is a label).")
@click.option("--text-column", "text_columns", multiple=True, default=("text",), show_default=True,
              help="Column with the text; repeat to join several columns with a space (e.g. title, text).")
@click.option("--label-column", default="label", show_default=True, help="Column with the label.")
@click.option("--label-separator", default=None,
              help="Split the label column on this string for multi-label rows (e.g. '|').")
@click.option("--limit", type=click.IntRange(2), default=None,
              help="Use a random sample of this many rows (seeded by --seed; file order kept).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seeds the sample, the random languages, time zones and availability, and every method.")
@click.option("--min-size", default=4, show_default=True, type=click.IntRange(2), help="Smallest group.")
@click.option("--max-size", default=8, show_default=True, type=click.IntRange(2), help="Largest group.")
@click.option("--heldout", is_flag=True,
              help="Keep only rows the shipped text adapter was not trained on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")
@click.pass_context
def evaluate_groups(ctx: click.Context, path: str | None, text_columns: tuple[str, ...], label_column: str,
                    label_separator: str | None, limit: int | None, seed: int, min_size: int, max_size: int,
                    heldout: bool, as_json: bool) -> None:
    """Form peer support groups of labelled members and score them against greedy and random feasible groups.

    Label purity is the share of member pairs inside groups who share a label. A CSV has no
    languages or availability, so each row gets seeded random ones (the same for every method).
    """
    if min_size > max_size:
        raise click.BadParameter(f"--min-size {min_size} is above --max-size {max_size}.", param_hint="'--min-size'")
    rules = replace(default_rules(), min_size=min_size, max_size=max_size)
    embedder = analysis_embedder(ctx)
    if path is None:
        if heldout or limit is not None:
            raise click.UsageError("--heldout and --limit apply to --data files only.")
        report, source = evaluate_fixture_groups(embedder, rules, seed), "fixtures"
    else:
        texts, labels = _read(path, text_columns, label_column, label_separator)
        texts, labels = _select_rows(texts, labels, limit, seed, heldout, embedder.model_id, path, label_column)
        if not heldout:
            _warn_if_trained_on(texts, embedder.model_id, path, label_column)
        report, source = evaluate_text_groups(texts, labels, embedder, rules, seed, progress=not as_json), path
    if as_json:
        click.echo(json.dumps(report))
    else:
        _echo_group_table(report, source)


def _register_evaluate_groups() -> None:
    # The command group imports this module while it registers its commands; adding ours here keeps
    # every analyst command in this file.
    from api.cli import main

    if "evaluate-groups" not in main.commands:
        main.add_command(evaluate_groups)


_register_evaluate_groups()
