"""Candidates from the pgvector store: every hard filter in SQL, then an HNSW or an exact scan.

The hard filters run in SQL, availability included: the asking member's summary of the week
(3 words, one bit per 64 minutes) against each member's `any_week_summary` columns ``a0..a2``,
a superset of who overlaps (the exact minutes are counted later by `matcher.ranking`). Each row
listed carries `score_bound`, a bound of its whole score computed in SQL (similarity, the shared
summary words, tag words). Then either an exact scan that lists the passing rows best bound first
(so the few peers that can make the top k come first, whatever their similarity), reading only
`member_filters` with its half-precision vectors (`HALF_PRECISION_SLACK` keeps the bound above the
full-precision score), or an HNSW scan of `member_vectors`
with pgvector's iterative scan (``hnsw.iterative_scan = relaxed_order``, so a filtered-out row does
not end the list early), nearest first. `FilterSample` estimates how many pass from a cached
sample, so neither choosing the scan nor the answer's ``filtered_out`` reads every member.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import cast as typed

import numpy as np
from sqlalchemy import (
    BigInteger,
    Float,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from matcher.availability import SUMMARY_WORDS, signed_words
from matcher.config import MatchConfig
from matcher.profiles import ROLES, Member, roles_compatible
from matcher.store.models import MemberRow
from matcher.store.vectors import HalfVector, Vector, from_vector_send, member_filters, member_vectors
from matcher.tag_words import TagWord, tag_word

MIN_PGVECTOR = (0, 8, 3)   # iterative index scans (0.8.0) with the HNSW build and vacuum fixes of 0.8.1-0.8.3
SAMPLE_ROWS = 4096          # members whose filter columns `FilterSample` keeps
SAMPLE_SECONDS = 60.0       # a sample of a large store is re-drawn at most this often
# float16 rounds each component within 2^-11 of itself, so the dot product of the two rounded vectors is
# within ~2 x 2^-11 of the true one (relative to the norms) and each norm within 2^-11: the cosine moves by
# at most ~4 x 2^-11 = 0.00195; pgvector's float32 sums add ~1e-5. The bound adds this to the similarity.
HALF_PRECISION_SLACK = 2.5e-3


def pgvector_version(session: Session) -> str | None:
    """The installed vector extension's version (e.g. ``"0.8.5"``), or None when it is not installed."""
    return session.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.8.5"`` -> (0, 8, 5); anything after the numbers (``"0.7.0-beta"``) is ignored."""
    found = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in found.group().split(".")) if found else ()


def sql_filters(query: Member, blocked: set[int], declined: set[int],
                summary: np.ndarray) -> list[tuple[str, ColumnElement[bool]]]:
    """The hard filters, as (name, condition that removes a row), in `ranking.FILTERS` order.

    `summary` is the asking member's `word_summary` of the week ranked; ``availability`` removes
    members sharing no 64-minute word with it (a superset of the exact minute check survives).
    """
    v = member_filters.c
    words = [(i, word) for i, word in enumerate(signed_words(summary)) if word]
    shares = or_(*(v[f"a{i}"].op("&")(word) != 0 for i, word in words)) if words else false()
    return [
        ("self", v.member_id == query.id),
        ("inactive", not_(v.active)),
        ("role", v.role.not_in(compatible_roles(query))),
        ("language", not_(v.languages.overlap(list(query.languages)))),
        ("blocked", v.member_id.in_(sorted(blocked))),
        ("declined", v.member_id.in_(sorted(declined))),
        ("capacity", v.free_capacity <= 0),
        ("availability", not_(shares)),
    ]


def compatible_roles(query: Member) -> list[str]:
    return [r for r in ROLES if roles_compatible(query.role, r)]


def vector_filter_counts(session: Session, query: Member, blocked: set[int], declined: set[int],
                         summary: np.ndarray) -> dict[str, int]:
    """How many stored members each SQL filter removes (first filter wins), and how many pass: exact,
    and one pass over every member (``?explain=counts``; otherwise `FilterSample.estimate`)."""
    columns, earlier = [], typed(ColumnElement[bool], false())
    for name, removes in sql_filters(query, blocked, declined, summary):
        columns.append(func.count().filter(and_(removes, not_(earlier))).label(name))
        earlier = or_(earlier, removes)
    columns.append(func.count().filter(not_(earlier)).label("passed"))
    return dict(session.execute(select(*columns).select_from(member_filters)).one()._mapping)


@dataclass(frozen=True)
class ScanPlan:
    """How PostgreSQL lists candidates: exactly (every passing row, best score bound first), or through
    HNSW (nearest first)."""

    exact: bool
    ef_search: int = 40             # HNSW's list per step of the iterative scan (pgvector allows 1..1000)
    max_scan_tuples: int = 20_000   # rows the iterative scan may visit before it stops


@dataclass(frozen=True)
class ListedPeer:
    """A peer the store listed: its cosine similarity (from the half-precision copy in an exact list),
    free capacity as the store saw it, and `bound`, at least the whole score `ranking.rank` gives its
    pair with the asking member (`score_bound`)."""

    member_id: int
    similarity: float
    free_capacity: int
    bound: float


def bits_shared(column, word: int) -> ColumnElement:
    """How many bits `column` (a bigint of bits) shares with `word`."""
    return func.bit_count(cast(column.op("&")(literal(word, BigInteger)), BIT(64)))


def real(value) -> ColumnElement:
    """`value` as double precision (integer division in SQL would otherwise become numeric, far slower)."""
    return cast(value, Float)


def ratio(top, bottom) -> ColumnElement:
    return case((bottom > 0, real(top) / real(bottom)), else_=0.0)


def bound_parts(query: Member, summary: np.ndarray, config: MatchConfig) -> dict[str, ColumnElement]:
    """SQL for at least each part but similarity of the score `ranking.rank` gives the pair of `query` and
    each row's member, before weighting (each in 0..1; `score_bound` weighs them).

    ``fit``: availability fit, allowing 64 minutes per 64-minute word both weekly summaries share
    (`summary`: the query's `word_summary` of the week ranked); ``topics``: the topic overlap;
    ``wanted`` and ``offered``: both directions of preference fit. Tags come from the tag words
    (`matcher.tag_words`: exact when no tags collide, above otherwise), preferred languages exactly.
    Every part only grows with what it bounds.
    """
    f = member_filters.c
    words = [(i, word) for i, word in enumerate(signed_words(summary)) if word]
    shared_minutes = 64.0 * real(sum((bits_shared(f[f"a{i}"], word) for i, word in words), literal(0)))
    topics = tag_word(query.topics)
    shared_topics = func.least(bits_shared(f.topic_bits, topics.word) + topics.collisions, topics.count, f.topic_count)
    return {
        "fit": func.least(shared_minutes / float(config.target_overlap_minutes), 1.0),
        "topics": ratio(shared_topics, topics.count + f.topic_count - shared_topics) if topics.count else literal(0.0),
        "wanted": requester_fit(query, tag_word(query.preferred_topics)),
        "offered": peer_fit(query, topics),
    }


def requester_fit(query: Member, wanted: TagWord) -> ColumnElement:
    """At least `ranking.preference_fit(query, peer)`: how well each row's member meets the query's preferences."""
    f, parts = member_filters.c, list[ColumnElement]()
    if query.preferred_languages:
        parts.append(case((f.languages.overlap(sorted(set(query.preferred_languages))), 1.0), else_=0.0))
    if wanted.count:
        shared = func.least(bits_shared(f.topic_bits, wanted.word) + wanted.collisions, wanted.count, f.topic_count)
        parts.append(real(shared) / float(wanted.count))
    return sum(parts[1:], parts[0]) / float(len(parts)) if parts else literal(1.0)


def peer_fit(query: Member, topics: TagWord) -> ColumnElement:
    """At least `ranking.preference_fit(peer, query)`: how well the query meets each row's member's preferences."""
    f = member_filters.c
    by_language = case((f.preferred_languages.overlap(sorted(set(query.languages))), 1.0), else_=0.0)
    shared = func.least(bits_shared(f.preferred_topic_bits, topics.word) + topics.collisions,
                        f.preferred_topic_count, topics.count)
    by_topic = real(shared) / real(f.preferred_topic_count)
    languages_stated = func.cardinality(f.preferred_languages) > 0
    topics_stated = f.preferred_topic_count > 0
    return case((and_(languages_stated, topics_stated), (by_language + by_topic) / 2.0),
                (languages_stated, by_language), (topics_stated, by_topic), else_=1.0)


def score_bound(parts, similarity: ColumnElement, config: MatchConfig) -> ColumnElement:
    """At least the whole score: the similarity and the `bound_parts` (columns of `parts`), weighted as
    `ranking.score_components` weighs them; the exposure penalty, never negative, is left out."""
    wanted, offered = parts.wanted, parts.offered
    reciprocal = case((wanted + offered > 0, 2.0 * wanted * offered / (wanted + offered)), else_=0.0)
    return (config.w_similarity * similarity + config.w_availability * parts.fit + config.w_topics * parts.topics
            + config.w_preferences * reciprocal)


def vector_candidates(session: Session, query: Member, embedding: np.ndarray, blocked: set[int],
                      declined: set[int], summary: np.ndarray, limit: int, plan: ScanPlan,
                      config: MatchConfig) -> list[ListedPeer]:
    """At most `limit` members passing every SQL filter, each with its similarity, free capacity and
    `score_bound`, best bound first.

    Exactly, they are the `limit` best bounds of all (every passing row of `member_filters` is read,
    with its half-precision vector). Through HNSW (iterative, relaxed order) they are about the
    nearest `limit`, and fewer when `plan.max_scan_tuples` rows were visited first.
    """
    v, f = member_vectors.c, member_filters.c
    passing = not_(or_(*(removes for _, removes in sql_filters(query, blocked, declined, summary))))
    columns = [part.label(name) for name, part in bound_parts(query, summary, config).items()]
    query_vector = bindparam("query_vector", embedding, type_=Vector(embedding.size))
    if plan.exact:
        distance = f.search_vector.op("<=>", return_type=Float)(cast(query_vector, HalfVector(embedding.size)))
        # OFFSET 0 keeps the parts computed once per row, not copied into every place the bound uses them
        rows = select(f.member_id, distance.label("distance"), f.free_capacity, *columns).where(passing).offset(0)
        slack = HALF_PRECISION_SLACK
    else:
        distance = v.embedding.op("<=>", return_type=Float)(query_vector)
        rows = (select(v.member_id, distance.label("distance"), f.free_capacity, *columns)
                .join(member_filters, f.member_id == v.member_id).where(passing).order_by(distance).limit(limit))
        slack = 0.0
    parts = rows.subquery()
    bound = score_bound(parts.c, 1.0 - parts.c.distance + slack, config)
    stmt = select(parts.c.member_id, parts.c.distance, parts.c.free_capacity, bound.label("bound"))
    if plan.exact:   # (a row written before its vector has none)
        stmt = stmt.where(parts.c.distance.is_not(None)).order_by(bound.desc()).limit(limit)
    else:
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                             "set_config('hnsw.ef_search', :ef, true), "
                             "set_config('hnsw.max_scan_tuples', :tuples, true)"),
                        {"ef": str(plan.ef_search), "tuples": str(plan.max_scan_tuples)})
    found = [ListedPeer(row.member_id, 1.0 - float(row.distance), row.free_capacity, float(row.bound))
             for row in session.execute(stmt)]
    return sorted(found, key=lambda peer: -peer.bound)


@dataclass
class FilterSample:
    """The filter columns of a random sample of the store (all of it when small), to estimate filters.

    `estimate` gives each filter's count over the whole store without reading it: counts among the
    sampled rows scaled to the store's size, with the asking member, its blocks and declines
    looked up by id (so they are counted exactly).
    """

    total: int
    member_ids: np.ndarray
    roles: np.ndarray
    languages: dict[str, np.ndarray]
    active: np.ndarray
    free_capacity: np.ndarray
    summaries: np.ndarray               # (rows, SUMMARY_WORDS) uint64
    version: int = -1
    drawn_at: float = field(default_factory=time.monotonic)

    @property
    def complete(self) -> bool:
        return self.member_ids.size >= self.total

    def estimate(self, session: Session, query: Member, blocked: set[int], declined: set[int],
                 summary: np.ndarray) -> tuple[dict[str, int], int]:
        """(members each SQL filter removes, first filter wins; members passing every one): exact when
        the sample is the whole store, else estimated."""
        named = {query.id, *blocked, *declined}
        if self.complete:
            parts, weights = [self], [1.0]
        else:
            rows = load_rows(session, select_filters().where(member_filters.c.member_id.in_(sorted(named))))
            others = self.without(named)
            parts = [others, rows]
            weights = [(self.total - rows.member_ids.size) / max(others.member_ids.size, 1), 1.0]
        counts: dict[str, float] = {}
        for part, weight in zip(parts, weights):
            for name, removed in part.removed(query, blocked, declined, summary).items():
                counts[name] = counts.get(name, 0.0) + weight * float(np.count_nonzero(removed))
        rounded = whole_counts(counts, self.total)
        return {k: v for k, v in rounded.items() if k != "passed"}, rounded["passed"]

    def removed(self, query: Member, blocked: set[int], declined: set[int],
                summary: np.ndarray) -> dict[str, np.ndarray]:
        """Per filter, the rows it removes (first filter wins, as in SQL), and ``passed``."""
        none = np.zeros(self.member_ids.size, dtype=bool)
        speaks = none.copy()
        for code in query.languages:
            speaks |= self.languages.get(code, none)
        masks = {
            "self": self.member_ids == query.id,
            "inactive": ~self.active,
            "role": ~np.isin(self.roles, compatible_roles(query)),
            "language": ~speaks,
            "blocked": np.isin(self.member_ids, sorted(blocked)),
            "declined": np.isin(self.member_ids, sorted(declined)),
            "capacity": self.free_capacity <= 0,
            "availability": ~((self.summaries & np.asarray(summary, dtype=np.uint64)) != 0).any(axis=1),
        }
        earlier = none.copy()
        for name, mask in masks.items():
            masks[name] = mask & ~earlier
            earlier |= mask
        masks["passed"] = ~earlier
        return masks

    def without(self, member_ids: set[int]) -> FilterSample:
        keep = ~np.isin(self.member_ids, sorted(member_ids))
        return FilterSample(self.total, self.member_ids[keep], self.roles[keep],
                            {code: mask[keep] for code, mask in self.languages.items()}, self.active[keep],
                            self.free_capacity[keep], self.summaries[keep], self.version, self.drawn_at)


def whole_counts(counts: dict[str, float], total: int) -> dict[str, int]:
    """`counts` (summing to `total`) rounded to whole numbers that still sum to `total` (largest remainders
    round up): rounded one by one, a million members' estimates summed to 1,000,001, past the exact-scan limit."""
    floors = {name: int(np.floor(n)) for name, n in counts.items()}
    short = total - sum(floors.values())
    for name in sorted(counts, key=lambda name: floors[name] - counts[name])[:max(short, 0)]:
        floors[name] += 1
    return floors


def select_filters(table=member_filters):
    c = table.c
    return select(c.member_id, c.role, c.languages, c.active, c.free_capacity,
                  *(c[f"a{i}"] for i in range(SUMMARY_WORDS)))


def load_rows(session: Session, stmt, total: int | None = None) -> FilterSample:
    rows = session.execute(stmt).all()
    languages: dict[str, np.ndarray] = {}
    for at, row in enumerate(rows):
        for code in row.languages:
            languages.setdefault(code, np.zeros(len(rows), dtype=bool))[at] = True
    summaries = np.array([row[5:5 + SUMMARY_WORDS] for row in rows], dtype=np.int64).reshape(-1, SUMMARY_WORDS)
    return FilterSample(len(rows) if total is None else total,
                        np.array([row.member_id for row in rows], dtype=np.int64),
                        np.array([row.role for row in rows], dtype=object), languages,
                        np.array([row.active for row in rows], dtype=bool),
                        np.array([row.free_capacity for row in rows], dtype=np.int64), summaries.view(np.uint64))


def draw_filter_sample(session: Session, rows: int = SAMPLE_ROWS, version: int = -1,
                       seed: int | None = None) -> FilterSample:
    """A `FilterSample` of about `rows` members (every member when the store holds fewer than twice that);
    `seed` makes the draw repeatable.

    Members are drawn by id: ids picked uniformly from the store's range and looked up by primary key,
    so every stored member is as likely to be drawn and only their pages are read. (A Bernoulli
    ``TABLESAMPLE`` reads every page: 530-800 ms at 1M members once the rows held their halfvec copy.)
    """
    f = member_filters.c
    total, low, high = session.execute(select(func.count(), func.min(f.member_id), func.max(f.member_id))).one()
    if not total or total <= 2 * rows:
        sample = load_rows(session, select_filters(), total or 0)
    else:
        span = high - low + 1
        ids = np.random.default_rng(seed).choice(span, size=min(span, rows * span // total), replace=False) + low
        sample = load_rows(session, select_filters().where(f.member_id.in_(ids.tolist())), total)
    sample.version = version
    return sample


def random_member_ids(session: Session, n: int) -> tuple[list[int], int]:
    """Up to `n` random members of the store that could be suggested peers, and how many it holds."""
    total = session.scalar(select(func.count()).select_from(member_filters)) or 0
    ids = session.scalars(select(member_filters.c.member_id).where(member_filters.c.active)
                          .order_by(func.random()).limit(n)).all()
    return list(ids), total


PROFILE_COLUMNS = ("id", "role", "languages", "timezone", "availability", "capacity", "topics", "status",
                   "display_name", "intro", "preferred_languages", "preferred_topics", "needs_review", "theme")


def peers_with_vectors(session: Session, member_ids: list[int], model_id: str | None = None) -> list[tuple]:
    """(plain row with what `to_profile` reads, service vector) of the stored members among `member_ids`
    (only those embedded by `model_id`, when given: vectors of two models are never ranked together).

    The vectors come from the store, already adapted, in pgvector's binary form (``vector_send``:
    two int16 then big-endian float4); narratives and raw embeddings are never read.
    """
    columns = MemberRow.__table__.columns
    stmt = (select(*(columns[name] for name in PROFILE_COLUMNS), literal_column("''").label("narrative"),
                   func.vector_send(member_vectors.c.embedding).label("vector"))
            .join(member_vectors, member_vectors.c.member_id == columns["id"])
            .where(columns["id"].in_(member_ids)))
    if model_id is not None:
        stmt = stmt.where(columns["embedding_model"] == model_id)
    return [(row, from_vector_send(row.vector)) for row in session.execute(stmt)]
