"""Write the analysis notebooks from the cells below, with no outputs (edit here, then run this file).

    .venv/bin/python notebooks/build_notebooks.py

Every notebook reads its data through `matcher`: the stored members and vectors of DATABASE_URL when
it is set, else the fixture file encoded by the real model. Figures are drawn with matplotlib's Agg
backend and displayed as PNG images, so the notebooks run headless.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

SETUP = '''\
import io
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

from matcher.config import MatchConfig
from matcher.analysis.member_data import database_index, fixture_index, member_themes

# tqdm's notebook progress bar needs ipywidgets, which is not installed; its plain text bar is fine.
warnings.filterwarnings("ignore", message="IProgress not found")


def show(fig):
    """Render a figure with Agg and display it as a PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    display(Image(buffer.getvalue()))


def markdown_table(rows, columns, digits=3):
    """A list of dicts as a Markdown table (numbers rounded)."""
    cell = lambda v: f"{v:.{digits}f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return Markdown("\\n".join(lines))'''

LOAD = '''\
DATABASE_URL = os.environ.get("DATABASE_URL")
embedder = None
if DATABASE_URL:  # the members and vectors the service stores (e.g. after `peermatch load-fixtures`)
    from matcher.service.database import Database

    database = Database(DATABASE_URL)
    with database.session() as session:
        index = database_index(session)
    database.dispose()
else:  # the fixture file, encoded by all-MiniLM-L6-v2 (about 15 s on 2 cores)
    from matcher.text.embedding import Embedder

    embedder = Embedder()
    index = fixture_index(embedder)
themes = member_themes(index)
members = [m for m in index.members if m is not None]
print(f"{len(members)} members from {'the database' if DATABASE_URL else 'the fixtures'}, "
      f"{len(themes)} with one of {len(set(themes.values()))} hidden themes; week of {index.week_start} (UTC).")'''

EXPLORE = [
    ("markdown", """\
# Exploring the members

Who is in the data, how their narratives cluster, and when they are free.

* **Data**: `DATABASE_URL` when set (stored members and vectors), else `data/fixtures/members.json`
  (364 members written for this project, each with a hidden *theme* used only for evaluation)
  encoded by the real model.
* **Figures**: narratives in 2-D (PCA and t-SNE) coloured by theme; free members per UTC hour of the
  week, for those seeking and those offering support; feasible peers per member after the hard filters."""),
    ("code", SETUP),
    ("code", LOAD),
    ("code", '''\
from collections import Counter

for field in ("role", "status", "timezone"):
    print(f"{field}: {dict(Counter(getattr(m, field) for m in members).most_common())}")
print(f"languages: {dict(Counter(code for m in members for code in m.languages).most_common())}")'''),
    ("markdown", """\
## Narratives in two dimensions

Each point is one member's narrative embedding (L2-normalised, 384-d), projected by PCA (linear) and
t-SNE (neighbourhoods). Members without a theme are coloured by role. The silhouette score (cosine)
says how well themes separate in the full space: 1 is perfect, 0 is no structure."""),
    ("code", '''\
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

X = np.stack([index.embedding(m.id) for m in members])
groups = np.array([themes.get(m.id, m.role) for m in members])
names = sorted(set(groups))
projections = {
    "PCA": PCA(n_components=2, random_state=0).fit_transform(X),
    "t-SNE": TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(X),
}
fig, axes = plt.subplots(1, 2, figsize=(15, 6))
colours = plt.get_cmap("tab20")
for ax, (title, xy) in zip(axes, projections.items()):
    for c, name in enumerate(names):
        ax.scatter(*xy[groups == name].T, s=14, color=colours(c % 20), label=name)
    ax.set_title(f"{title} of narrative embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
axes[1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
show(fig)
if len(names) > 1:
    score = silhouette_score(X, groups, metric='cosine')
    print(f"silhouette of {'themes' if themes else 'roles'} (cosine): {score:.3f}")'''),
    ("markdown", """\
## When members are free (UTC)

Weekly windows are entered in local time; `matcher.availability` places them on the calendar of the
coming week in UTC (DST included) as one bit per minute. A member counts in an hour when they are free
for any minute of it. Supply and demand peak at different hours across time zones."""),
    ("code", '''\
from datetime import timedelta

from matcher.availability import WEEK_MINUTES
from matcher.profiles import DAYS, ROLES

n = index.size
words = np.ascontiguousarray(index.bitmaps[:n]).view(np.uint8)
bits = np.unpackbits(words, axis=1, bitorder="little")[:, :WEEK_MINUTES]
free = bits.reshape(n, 7, 24, 60).any(axis=3)
usable = index.live[:n] & index.active[:n]
roles = {
    "seeking support": np.isin(index.role_codes[:n], [ROLES.index("seeker"), ROLES.index("peer")]),
    "offering support": np.isin(index.role_codes[:n], [ROLES.index("supporter"), ROLES.index("peer")]),
}
fig, axes = plt.subplots(2, 1, figsize=(13, 7), sharex=True)
for ax, (title, mask) in zip(axes, roles.items()):
    image = ax.imshow(free[usable & mask].sum(axis=0), aspect="auto", cmap="viridis")
    ax.set_yticks(range(7), [f"{DAYS[d]} {index.week_start + timedelta(days=d):%d %b}" for d in range(7)])
    ax.set_title(f"Active members {title}, free in each UTC hour")
    fig.colorbar(image, ax=ax, label="members")
axes[-1].set_xticks(range(0, 24, 2))
axes[-1].set_xlabel("hour of the day (UTC)")
show(fig)'''),
    ("markdown", """\
## Feasible peers per member

`rank` removes candidates with hard filters (role, shared language, at least
`min_overlap_minutes` of weekly overlap, capacity, status) before it scores anyone. Members with few
feasible peers are where matching quality is decided by the filters, not the weights."""),
    ("code", '''\
from matcher.ranking import filter_masks

config = MatchConfig()
queries = [m for m in members if m.status == "active"]
feasible, same_theme = [], []
for query in queries:
    _, _, keep = filter_masks(query, index, config, set(), set())
    peers = index.ids[np.flatnonzero(keep)]
    feasible.append(len(peers))
    theme = themes.get(query.id)
    same_theme.append(sum(theme is not None and themes.get(int(p)) == theme for p in peers))
feasible, same_theme = np.array(feasible), np.array(same_theme)
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
axes[0].hist(feasible, bins=30, color="tab:blue")
axes[0].set(title="Feasible peers per active member", xlabel="peers", ylabel="members")
axes[1].hist(same_theme, bins=range(0, same_theme.max() + 2), color="tab:orange")
axes[1].set(title="...of which share the member's theme", xlabel="peers", ylabel="members")
show(fig)
print(f"median feasible peers {np.median(feasible):.0f}; no feasible peer: {(feasible == 0).sum()} members; "
      f"no feasible peer of the same theme: {(same_theme == 0).sum()} members")'''),
]

EVALUATE = [
    ("markdown", """\
# Evaluating matching

How often each method's top suggestions share a member's label, with `matcher.analysis.evaluation`:

* **random**: chance; **tfidf**: word overlap; **embedding**: cosine of all-MiniLM-L6-v2 vectors;
  **peermatch**: the text score with the trained adapter (`matcher.text.adapter`).
* On the fixtures (label = hidden theme), every member is ranked against all others by text alone,
  then the service's full ranking (hard filters + weighted score) is scored among feasible peers.
* On the labelled CSVs in `../shared/data` when present (a seeded sample of rows the adapter was not
  trained on; set `PEERMATCH_NOTEBOOK_ROWS`, default 400). The README's table uses every held-out row,
  so its numbers differ a little."""),
    ("code", SETUP),
    ("code", LOAD),
    ("code", '''\
from matcher.analysis.evaluation import METHODS, evaluate_similarity, method_similarity
from matcher.analysis.text_scorer import TextScorer

KS = list(range(1, 21))


def compare_methods(texts, labels, embeddings):
    """Metrics at k=5 and the precision@k curve of every method."""
    scorer = TextScorer().fit(embeddings)
    results, curves = [], {}
    for method in METHODS:
        similarity = method_similarity(method, texts, embeddings, seed=0, scorer=scorer)
        results.append({"method": method, **evaluate_similarity(similarity, labels, k=5)})
        curves[method] = [evaluate_similarity(similarity, labels, k=k)[f"precision@{k}"] for k in KS]
    return results, curves


def plot_curves(curves, title, extra=None):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in {**curves, **(extra or {})}.items():
        ax.plot(KS, values, marker="o", markersize=3, label=name)
    ax.set(title=title, xlabel="k", ylabel="precision@k", ylim=(0, 1))
    ax.legend()
    show(fig)'''),
    ("markdown", "## Fixtures: text alone, every member against every other"),
    ("code", '''\
ids = sorted(themes)
texts = [index.get(i).narrative for i in ids]
labels = [themes[i] for i in ids]
from matcher.text.embedding import Embedder

embeddings = Embedder().encode(texts)   # the model's own vectors: each method below starts from them
fixture_results, fixture_curves = compare_methods(texts, labels, embeddings)
display(markdown_table(fixture_results, ["method", "precision@5", "recall@5", "ndcg@5", "mrr"]))
plot_curves(fixture_curves, f"Fixtures: {len(ids)} narratives, {len(set(labels))} themes")'''),
    ("markdown", """\
## Fixtures: the service's ranking among feasible peers

What a member would see: `rank`'s hard filters first, then the default weights. Precision here is
among feasible peers only, so compare it with a random feasible peer (the expected share of
same-theme peers among each member's feasible ones), not with the text-only table above."""),
    ("code", '''\
from matcher.analysis.evaluation import summarise_rankings
from matcher.analysis.pair_features import candidate_pairs
from matcher.ranking import rank
from matcher.analysis.tuning import evaluate_weights, shared_label_gains

pairs = candidate_pairs(index)
gains = shared_label_gains(pairs, themes)
service = [evaluate_weights(pairs, gains, MatchConfig(), k) for k in KS]
ranked = pairs.ranked(pairs.scores(MatchConfig()))
chance = np.mean([gains[rows].mean() for rows in ranked.values() if gains[rows].any()])
plot_curves({"service ranking (default config)": [m[f"precision@{k}"] for k, m in zip(KS, service)]},
            "Fixtures: suggestions sharing the member's theme, among feasible peers",
            {"random feasible peer": [chance] * len(KS)})
display(markdown_table([{"ranking": "service (default config)", **service[4]},
                        {"ranking": "random feasible peer", "precision@5": chance, "ndcg@5": float("nan"),
                         "mrr": float("nan"), "queries": service[4]["queries"]}],
                       ["ranking", "precision@5", "ndcg@5", "mrr", "queries"]))

rankings = {m.id: rank(m, index.embedding(m.id), index, MatchConfig(), k=5) for m in members if m.status == "active"}
supporters = [m.id for m in members if m.supports and m.status == "active"]
display(markdown_table([summarise_rankings(rankings, supporters)], ["coverage", "mean_overlap_minutes", "gini"]))'''),
    ("markdown", "## Labelled CSVs from `../shared/data` (skipped when absent)"),
    ("code", '''\
from matcher.analysis.evaluation import read_labelled_csv
from matcher.text.adapter import DEFAULT_ADAPTER_PATH, TextAdapter

SHARED_DATA = Path(os.environ.get("PEERMATCH_SHARED_DATA", Path.cwd().resolve().parents[1] / "shared" / "data"))
ROWS = int(os.environ.get("PEERMATCH_NOTEBOOK_ROWS", "400"))
DATASETS = {"counsel_chat_questions.csv": "CounselChat", "rmhd_reddit_support_groups.csv": "Reddit groups"}
present = {name: title for name, title in DATASETS.items() if (SHARED_DATA / name).is_file()}
if not present:
    print(f"No labelled CSVs in {SHARED_DATA}; nothing more to evaluate.")
else:
    from matcher.text.embedding import Embedder

    embedder = embedder or Embedder()
    adapter = TextAdapter.load(DEFAULT_ADAPTER_PATH) if DEFAULT_ADAPTER_PATH.is_file() else None
for name, title in present.items():
    all_texts, all_labels = read_labelled_csv(SHARED_DATA / name, ("text",), "label")
    rows = np.flatnonzero(~adapter.trained_on(all_texts)) if adapter else np.arange(len(all_texts))
    rows = np.sort(np.random.default_rng(0).choice(rows, size=min(ROWS, rows.size), replace=False))
    texts, labels = [all_texts[i] for i in rows], [all_labels[i] for i in rows]
    results, curves = compare_methods(texts, labels, embedder.encode(texts))
    display(Markdown(f"**{title}**: {len(texts)} held-out rows of {len(all_texts)}, {len(set(labels))} labels"))
    display(markdown_table(results, ["method", "precision@5", "recall@5", "ndcg@5", "mrr"]))
    plot_curves(curves, f"{title}: {len(texts)} held-out rows")'''),
    ("markdown", """\
## Support groups: formation against greedy and random feasible groups

`peermatch evaluate-groups` in a notebook: groups of 4-8 formed by the service's method (**flow**) and its
baselines, **greedy** (most similar pair, then the best fitting member) and **random** feasible groups, under
the same rules. **Label purity**: the share of member pairs inside groups who share a label (the fixtures'
hidden theme); **objective**: the total within-group similarity. CSV rows get seeded random languages and
availability, the same for every method."""),
    ("code", '''\
from matcher.analysis.group_evaluation import evaluate_fixture_groups, evaluate_text_groups
from matcher.text.embedding import Embedder

GROUP_METHODS = ("flow", "greedy", "random")
GROUP_COLUMNS = ["method", "groups", "coverage", "objective", "label_purity", "mean_group_similarity", "sizes"]


def group_rows(report):
    return [{"method": m, **report[m], "sizes": " ".join(f"{s}:{n}" for s, n in report[m]["sizes"].items())}
            for m in GROUP_METHODS]

def show_group_report(title, report):
    display(Markdown(f"**{title}**: {report['members']} waiting members; two random members share a label "
                     f"{report['random_pairs_purity']:.3f} of the time"))
    display(markdown_table(group_rows(report), GROUP_COLUMNS))
    display(markdown_table([report["ratios"]], list(report["ratios"])))


embedder = embedder or Embedder()
show_group_report("Fixtures", evaluate_fixture_groups(embedder))'''),
    ("code", '''\
for name, title in present.items():
    all_texts, all_labels = read_labelled_csv(SHARED_DATA / name, ("text",), "label")
    rows = np.flatnonzero(~adapter.trained_on(all_texts)) if adapter else np.arange(len(all_texts))
    rows = np.sort(np.random.default_rng(0).choice(rows, size=min(ROWS, rows.size), replace=False))
    report = evaluate_text_groups([all_texts[i] for i in rows], [all_labels[i] for i in rows], embedder)
    show_group_report(f"{title} ({rows.size} held-out rows)", report)'''),
]

TUNE = [
    ("markdown", """\
# Tuning the weights

`MatchConfig`'s weights (similarity, availability fit, topic overlap, reciprocal preference fit,
exposure penalty) decide the order of feasible peers. Two ways to choose them, both over a cached
table of per-pair features (`matcher.analysis.pair_features`: `score_pair`'s components at unit weights, so
any weights re-score every pair with one matrix product):

1. **Grid search** against a label: how often the top 5 share the member's hidden fixture theme.
2. **Learning from feedback**: a cross-validated logistic regression of "rated 4 or 5" on the pair
   features, mapped back to non-negative weights. Real feedback is not collected yet, so here it is
   **simulated** from hidden "true" weights (`matcher.analysis.feedback_sim`) to check that learning recovers
   them and ranks better than the defaults on members it did not learn from."""),
    ("code", SETUP),
    ("code", LOAD),
    ("markdown", """\
## 1. Grid search against the fixture themes

Caution: theme agreement measures topical fit only. Availability has nothing to do with theme, so
this objective prefers `w_availability = 0`, while members still need time to meet. Read the
table as "what each weight does to topical fit", not as a config to ship."""),
    ("code", '''\
from matcher.analysis.pair_features import WEIGHT_FIELDS, candidate_pairs, weight_vector
from matcher.analysis.tuning import DEFAULT_GRID, evaluate_weights, grid_search, shared_label_gains

pairs = candidate_pairs(index)
gains = shared_label_gains(pairs, themes)
grid = grid_search(pairs, gains, DEFAULT_GRID)
default_weights = dict(zip(WEIGHT_FIELDS, weight_vector(MatchConfig())))
default_place = next(i for i, row in enumerate(grid, 1) if all(row[f] == v for f, v in default_weights.items()))
shown = [{"setting": f"#{i}", **row} for i, row in enumerate(grid[:8], 1)]
shown.append({"setting": f"default (#{default_place})", **grid[default_place - 1]})
print(f"{len(pairs)} feasible pairs; {grid[0]['queries']} members have a feasible peer of their theme; "
      f"{len(grid)} settings.")
display(markdown_table(shown, ["setting", *WEIGHT_FIELDS, "precision@5", "ndcg@5", "mrr"]))'''),
    ("code", '''\
sims, topics = DEFAULT_GRID["w_similarity"], DEFAULT_GRID["w_topics"]
fig, axes = plt.subplots(1, len(DEFAULT_GRID["w_availability"]), figsize=(14, 3.8), sharey=True)
score = {(r["w_similarity"], r["w_availability"], r["w_topics"]): r["ndcg@5"] for r in grid}
for ax, availability in zip(axes, DEFAULT_GRID["w_availability"]):
    values = np.array([[score[(s, availability, t)] for t in topics] for s in sims])
    image = ax.imshow(values, vmin=min(score.values()), vmax=max(score.values()), cmap="magma", origin="lower")
    ax.set_xticks(range(len(topics)), topics)
    ax.set_yticks(range(len(sims)), sims)
    ax.set(title=f"w_availability = {availability}", xlabel="w_topics")
axes[0].set_ylabel("w_similarity")
fig.colorbar(image, ax=axes, label="NDCG@5 (theme)")
show(fig)'''),
    ("markdown", """\
## 2. Simulated feedback

The fixtures state no preferences and have no suggestion history, so the simulation first gives about
half the members a preferred language or topics and every member a skewed recent load. It then logs
12 random feasible peers per member (as exploration would) and answers each pair from hidden weights
with an ordered logit: rating 1-5 and would-continue."""),
    ("code", '''\
from matcher.analysis.feedback_sim import run_simulated_study

TRUE_CONFIG = MatchConfig(w_similarity=0.35, w_availability=0.30, w_topics=0.20, w_preferences=0.15,
                          w_exposure=0.25, name="hidden-truth")
study = run_simulated_study(index, TRUE_CONFIG, per_query=12, preference_share=0.5, mean_exposure=1.0,
                            signal=2.0, test_share=0.5, seed=0)
logged, feedback = study.pairs, study.feedback

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
axes[0].bar(range(1, 6), np.bincount(feedback.rating, minlength=6)[1:], color="tab:blue")
axes[0].set(title=f"Ratings of {len(logged)} simulated pairs", xlabel="rating", ylabel="pairs")
deciles = np.digitize(feedback.utility, np.quantile(feedback.utility, np.linspace(0, 1, 11)[1:-1]))
axes[1].plot(range(1, 11), [feedback.good[deciles == d].mean() for d in range(10)], marker="o", label="rated 4 or 5")
axes[1].plot(range(1, 11), [feedback.would_continue[deciles == d].mean() for d in range(10)], marker="s",
             label="would continue")
axes[1].set(title="Answers by decile of the hidden utility", xlabel="utility decile", ylabel="share", ylim=(0, 1))
axes[1].legend()
show(fig)'''),
    ("markdown", """\
## Learning the weights

`run_simulated_study` (above) already split the members in two: half of them train the model
(5-fold cross-validation grouped by member, so no member's pairs are on both sides of a fold); the
other half only judge the rankings below."""),
    ("code", '''\
from matcher.analysis.tuning import weight_distance

learned, train = study.learned, study.train
configs = {"default": MatchConfig(), "learned": learned.config, "hidden truth": TRUE_CONFIG}
display(markdown_table([{"config": name, **{f: getattr(c, f) for f in WEIGHT_FIELDS},
                         "L1 distance to truth": weight_distance(c, TRUE_CONFIG)} for name, c in configs.items()],
                       ["config", *WEIGHT_FIELDS, "L1 distance to truth"]))
print(f"{learned.config.name}: cross-validated ROC AUC {learned.cv_auc:.3f} +/- {learned.cv_auc_std:.3f} "
      f"(C = {learned.C:g}) on {len(train)} pairs")

fig, ax = plt.subplots(figsize=(9, 3.8))
for offset, (name, c) in zip((-0.27, 0, 0.27), configs.items()):
    v = np.array([getattr(c, f) for f in WEIGHT_FIELDS])
    ax.bar(np.arange(len(WEIGHT_FIELDS)) + offset, v / v.sum(), width=0.27, label=name)
ax.set_xticks(range(len(WEIGHT_FIELDS)), WEIGHT_FIELDS)
ax.set(title="Weights, each scaled to sum to 1", ylabel="share of the total weight")
ax.legend()
show(fig)'''),
    ("markdown", """\
## Before and after, on members not used for learning

Gains: a pair rated 4 counts 1, rated 5 counts 2 (precision@5 = share of the top 5 rated 4 or 5).
The hidden truth is the ceiling. The last column shows what the same weights do to theme agreement
on the fixtures (part 1's objective)."""),
    ("code", '''\
held_out = logged.subset(study.test)
continue_gains = feedback.would_continue[study.test].astype(float)
rows = [{"config": name, **study.held_out(c),
         "would continue@5": evaluate_weights(held_out, continue_gains, c)["precision@5"],
         "theme ndcg@5": evaluate_weights(pairs, gains, c)["ndcg@5"]} for name, c in configs.items()]
columns = ["config", "precision@5", "ndcg@5", "mrr", "would continue@5", "theme ndcg@5", "queries"]
display(markdown_table(rows, columns))'''),
    ("markdown", """\
## How much feedback is enough?

The same learning on growing random subsets of the training members (mean of three draws per size)."""),
    ("code", '''\
from matcher.analysis.tuning import learn_weights

rng = np.random.default_rng(0)
train_members = np.unique(logged.query_ids[train])
sizes = [s for s in (10, 30, 90) if s < train_members.size] + [train_members.size]
n_pairs, distances = [], []
for size in sizes:
    repeats = 3 if size < train_members.size else 1
    draws = [np.isin(logged.query_ids, rng.choice(train_members, size=size, replace=False)) for _ in range(repeats)]
    results = [learn_weights(logged.weight_features[c], feedback.good[c], logged.query_ids[c]) for c in draws]
    n_pairs.append(np.mean([c.sum() for c in draws]))
    distances.append(np.mean([weight_distance(r.config, TRUE_CONFIG) for r in results]))
fig, ax = plt.subplots(figsize=(8, 3.8))
ax.plot(n_pairs, distances, marker="o", label="learned")
ax.axhline(weight_distance(MatchConfig(), TRUE_CONFIG), color="grey", linestyle="--", label="default")
ax.set(title="Distance of learned weights to the hidden truth", xlabel="rated pairs used for learning",
       ylabel="L1 distance", xscale="log")
ax.legend()
show(fig)'''),
    ("markdown", """\
## Export

The service reads a config file named by `PEERMATCH_CONFIG` at start-up and reports its name and
digest with every suggestion. Only ship weights learned from real feedback."""),
    ("code", '''\
from matcher.analysis.tuning import export_config

export_dir = Path(os.environ.get("PEERMATCH_EXPORT_DIR", Path.cwd().resolve().parent / "instance"))
path = export_config(learned.config, export_dir / f"{learned.config.name}.json")
print(f"wrote {path} (digest {learned.config.digest()})")
print(f"serve with: PEERMATCH_CONFIG={path} .venv/bin/peermatch serve")'''),
]

NOTEBOOKS = {
    "01_explore_members.ipynb": EXPLORE,
    "02_evaluate_matching.ipynb": EVALUATE,
    "03_tune_weights.ipynb": TUNE,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook with these cells, no outputs, for the python3 kernel."""
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook = nbformat.v4.new_notebook(cells=[make[kind](source) for kind, source in cells])
    notebook.metadata.update({"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                              "language_info": {"name": "python"}})
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number:02d}"  # stable ids, so rebuilding changes nothing
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
