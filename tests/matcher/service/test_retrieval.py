"""One contract, two retrievals: pgvector in PostgreSQL and the in-process index rank the fixtures alike."""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import matcher.service.retrieval as retrieval
from matcher.availability import coming_week_start, to_bitmap, utc_intervals, word_summary
from matcher.config import MatchConfig
from matcher.ranking import FILTERS, Ranking, filter_masks, preference_fit, query_intervals, rank, topic_overlap
from matcher.service.database import Database
from matcher.service.errors import SetupError
from matcher.service.index_state import IndexState
from matcher.service.retrieval import InProcessRetriever, PgvectorRetriever, choose_retrieval
from matcher.service.suggestions import exclusions_of, exposure_lookup
from matcher.states import ExclusionKind
from matcher.store.engine import create_schema, make_engine
from matcher.store.members import embedding_of, profile_of, touch
from matcher.store.models import Exclusion, MemberRow, SuggestionEvent
from matcher.store.vector_search import (
    HALF_PRECISION_SLACK,
    ScanPlan,
    bound_parts,
    draw_filter_sample,
    vector_candidates,
    vector_filter_counts,
    whole_counts,
)
from matcher.store.vectors import (
    HNSW_INDEX,
    build_vector_index,
    member_filters,
    rebuild_vector_store,
    vector_index_exists,
)
from tests.api.helpers import store_fixture_members

SQL_FILTERS = FILTERS[:-1]   # availability runs in SQL too, but only to the 64-minute words of its summary
DIMENSION = 432              # all-MiniLM-L6-v2 through the committed adapter


def new_postgres_database(server, prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="module")
def fixture_engine(postgres_server, embedder):
    """PostgreSQL with the 364 fixture members embedded, a few held back by each hard filter, and exposure."""
    engine = make_engine(new_postgres_database(postgres_server, "retrieval"))
    create_schema(engine)
    with Session(engine) as session:
        rows = store_fixture_members(session, embedder)
        for row in rows[3:300:40]:
            row.status = "paused"
        for row in rows[5:300:40]:
            row.capacity = 0
        rows[7].needs_review = True
        session.add_all([Exclusion(member_id=rows[0].id, other_id=b.id, kind=ExclusionKind.BLOCK)
                         for b in rows[1:40:3]])
        session.add_all([Exclusion(member_id=d.id, other_id=rows[0].id, kind=ExclusionKind.DECLINE)
                         for d in rows[2:40:5]])
        session.add_all([SuggestionEvent(requester_id=rows[-1].id, suggested_id=r.id, config_digest="x")
                         for r in rows[::7] for _ in range(r.id % 3)])
        touch(session, *rows)
        build_vector_index(session)   # a store this small keeps none; the tests that force HNSW scans need it
        session.commit()
    yield engine
    engine.dispose()


SCANS = {"hnsw": 0, "exact": 10 ** 9}   # PgvectorRetriever's exact_below that forces each scan


def retrievers(config: MatchConfig, scan: str = "hnsw") -> dict:
    return {"in-process": InProcessRetriever(IndexState(DIMENSION, config), config),
            "pgvector": PgvectorRetriever(config, DIMENSION, exact_below=SCANS[scan])}


def both_rankings(engine, config: MatchConfig, chosen: dict, member_id: int, k: int) -> dict[str, Ranking]:
    """Each retrieval's ranking for one member, with the exclusions and exposure a suggestion uses."""
    out = {}
    with Session(engine) as session:
        blocked, declined = exclusions_of(session, member_id)
        for name, retriever in chosen.items():
            exposure = exposure_lookup(session, config.exposure_window_hours)
            out[name] = retriever.rank(session, member_id, k, blocked, declined, exposure)
    return out


def approx_explanation(explanation: dict):
    """The explanation with its numbers compared to 1e-4: the two paths' float32 dot products may
    differ in the last bit, which can move a value rounded to 4 or 6 places by one unit."""
    def walk(value):
        if isinstance(value, float):
            return pytest.approx(value, abs=1.01e-4)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value
    return walk(explanation)


def assert_same_ranking(in_process: Ranking, pgvector: Ranking) -> None:
    assert [s.member_id for s in pgvector.suggestions] == [s.member_id for s in in_process.suggestions]
    assert [s.score for s in pgvector.suggestions] == pytest.approx([s.score for s in in_process.suggestions],
                                                                    abs=2e-6)
    assert [s.explanation for s in pgvector.suggestions] == [approx_explanation(s.explanation)
                                                             for s in in_process.suggestions]
    assert {f: pgvector.filtered_out[f] for f in SQL_FILTERS} == {f: in_process.filtered_out[f] for f in SQL_FILTERS}
    assert pgvector.config_digest == in_process.config_digest
    assert pgvector.extra["certain"]


@pytest.mark.postgres
@pytest.mark.parametrize("scan", sorted(SCANS))
@pytest.mark.parametrize(("k", "every"), [(5, 2), (1, 7), (20, 7)])
def test_pgvector_ranks_the_fixture_members_as_the_in_process_index_does(fixture_engine, k, every, scan):
    """Recall 1.0 against the exact in-process ranking, through HNSW's iterative scan and the exact scan."""
    config = MatchConfig()
    chosen = retrievers(config, scan)
    with Session(fixture_engine) as session:
        ids = session.scalars(select(MemberRow.id).order_by(MemberRow.id)).all()
    assert len(ids) == 364
    for member_id in ids[::every]:
        rankings = both_rankings(fixture_engine, config, chosen, member_id, k)
        assert_same_ranking(rankings["in-process"], rankings["pgvector"])
        assert rankings["in-process"].extra["search"] == "exact" and rankings["pgvector"].extra["search"] == "pgvector"
        assert rankings["pgvector"].extra["scan"].startswith(scan)   # "hnsw+exact": HNSW listed them all first


@pytest.mark.postgres
@pytest.mark.parametrize("scan", sorted(SCANS))
def test_a_ranking_led_by_availability_makes_pgvector_fetch_until_it_is_certain(fixture_engine, monkeypatch, scan):
    config = MatchConfig(w_similarity=0.1, w_availability=0.6, w_topics=0.2, w_preferences=0.1)
    chosen = retrievers(config, scan)
    limits: list[int] = []
    listed = retrieval.vector_candidates
    monkeypatch.setattr(retrieval, "vector_candidates",
                        lambda session, query, embedding, blocked, declined, summary, limit, plan, config:
                        limits.append(limit) or listed(session, query, embedding, blocked, declined, summary, limit,
                                                       plan, config))
    fetches = []
    for member_id in range(1, 365, 13):
        limits.clear()
        rankings = both_rankings(fixture_engine, config, chosen, member_id, 5)
        fetches.append(list(limits))
        assert_same_ranking(rankings["in-process"], rankings["pgvector"])
        in_process, pgvector = rankings["in-process"], rankings["pgvector"]
        if pgvector.extra["scored"] >= in_process.candidates + in_process.filtered_out["availability"]:
            assert pgvector.filtered_out == in_process.filtered_out
            assert pgvector.candidates == in_process.candidates
    again = [f for f in fetches if len(f) > 1]
    if scan == "exact":   # listed best bound first, the first list (128 peers) holds every peer that can win
        assert not again, fetches
    else:   # similarity leads this score so little that the 128 nearest are not enough for some members:
        # their ranking asked again for a four times longer list before it was certain
        assert again and all(f[1] == 4 * f[0] for f in again)


@pytest.mark.postgres
def test_every_listed_peer_s_score_bound_is_at_least_its_exact_score(fixture_engine):
    """The score bound SQL lists never falls below the score `rank` gives the pair, and is tight for most
    peers (availability is bounded by summary words, tags by hashed words; the rest is exact)."""
    config = MatchConfig()
    state = IndexState(DIMENSION, config)
    gaps = []
    with Session(fixture_engine) as session:
        index = state.refresh(session)
        for member_id in index.ids[: index.size : 11].tolist():
            query, embedding = index.get(member_id), index.embedding(member_id)
            blocked, declined = exclusions_of(session, member_id)
            ranking = rank(query, embedding, index, config, 400, blocked, declined)
            exact = {s.member_id: s.score for s in ranking.suggestions}
            summary = word_summary(to_bitmap(query_intervals(query, index)))
            listed = vector_candidates(session, query, embedding, blocked, declined, summary, 10_000,
                                       ScanPlan(exact=True), config)
            session.rollback()
            scored = [(peer.bound, exact[peer.member_id]) for peer in listed if peer.member_id in exact]
            assert len(scored) == len(exact)
            assert all(bound >= score - 1e-5 for bound, score in scored), member_id
            gaps += [bound - score for bound, score in scored]
    assert sorted(gaps)[len(gaps) // 2] < 0.05   # the median pair's bound is close to its score


@pytest.mark.postgres
def test_each_part_of_the_bound_holds_for_members_who_state_preferences(fixture_engine):
    """The fixtures state no preferences, so here two thirds of them prefer languages, topics or both (inside
    a transaction that is rolled back): the SQL parts of the bound are at least the exact topic overlap and
    both directions of preference fit, equal to them for most pairs, and the whole bound holds."""
    import numpy as np

    config, rng = MatchConfig(), np.random.default_rng(7)
    with Session(fixture_engine) as session:
        rows = session.scalars(select(MemberRow).order_by(MemberRow.id)).all()
        topics = sorted({t for row in rows for t in row.topics})
        for row in [*rows[::3], *rows[1::6]]:   # a third prefer both, a sixth languages only, a sixth topics only
            row.preferred_languages = [str(c) for c in rng.choice(["en", "es", "fr"], int(rng.integers(1, 3)), False)]
        for row in [*rows[::3], *rows[2::6]]:
            row.preferred_topics = [str(t) for t in rng.choice(topics, int(rng.integers(1, 4)), replace=False)]
        session.flush()   # the store's filter rows follow, in this transaction
        index = IndexState(DIMENSION, config).refresh(session)
        exact_parts, short, pairs = 0, 0, 0
        for member_id in index.ids[: index.size : 7].tolist():
            query, embedding = index.get(member_id), index.embedding(member_id)
            blocked, declined = exclusions_of(session, member_id)
            ranking = rank(query, embedding, index, config, 400, blocked, declined)
            summary = word_summary(to_bitmap(query_intervals(query, index)))
            listed = {peer.member_id: peer.bound for peer in vector_candidates(
                session, query, embedding, blocked, declined, summary, 10_000, ScanPlan(exact=True), config)}
            f = member_filters.c
            parts = {row.member_id: row for row in session.execute(
                select(f.member_id, *(part.label(name) for name, part in bound_parts(query, summary, config).items()))
                .where(f.member_id.in_([s.member_id for s in ranking.suggestions])))}
            for suggestion in ranking.suggestions:
                peer, sql = index.get(suggestion.member_id), parts[suggestion.member_id]
                exact = (topic_overlap(query, peer), preference_fit(query, peer), preference_fit(peer, query))
                assert all(bound >= value - 1e-9 for bound, value in zip((sql.topics, sql.wanted, sql.offered), exact))
                exact_parts += all(abs(b - v) < 1e-9 for b, v in zip((sql.topics, sql.wanted, sql.offered), exact))
                assert listed[suggestion.member_id] >= suggestion.score - 1e-5, (member_id, suggestion.member_id)
                short += exact[1] < 1 or exact[2] < 1
                pairs += 1
        session.rollback()
    assert pairs > 1000 and short > pairs / 10   # preferences often fall short of full fit: the parts are tested
    assert exact_parts > 0.8 * pairs             # tags that share no bit are counted exactly


@pytest.mark.postgres
@pytest.mark.parametrize("scan", sorted(SCANS))
def test_pgvector_scores_only_the_peers_whose_bound_can_reach_the_top_k(fixture_engine, scan):
    """Whole-score bounds keep the peers loaded and scored to a few times k, fewer than it lists (128 at
    first) or than pass every filter; the ranking stays the exact one."""
    config = MatchConfig()
    chosen = retrievers(config, scan)
    scored, candidates = [], []
    for member_id in range(1, 365, 9):
        rankings = both_rankings(fixture_engine, config, chosen, member_id, 5)
        assert_same_ranking(rankings["in-process"], rankings["pgvector"])
        scored.append(rankings["pgvector"].extra["scored"])
        candidates.append(rankings["in-process"].candidates)
    # a first batch of 2k..16 peers by bound is almost always enough; nearest-first scoring needed more than
    # every eligible peer here (the SQL filters' superset, 32 at a time)
    assert sum(candidates) / len(candidates) > 35
    assert sum(scored) / len(scored) < 18 and max(scored) <= 32, scored


@pytest.mark.postgres
def test_postgres_without_a_vector_store_falls_back_to_the_in_process_index(postgres_server, caplog):
    url = new_postgres_database(postgres_server, "novector")
    engine = make_engine(url)
    create_schema(engine)
    with engine.begin() as conn:   # what a PostgreSQL without the vector extension is left with
        conn.execute(text("DROP TABLE member_filters, member_vectors"))
    engine.dispose()
    database = Database(url)
    caplog.set_level(logging.INFO, logger="matcher.service.retrieval")
    assert choose_retrieval(database.dialect, database.vector_dimension(), DIMENSION) == "in-process"
    assert "postgresql has no pgvector store" in caplog.text
    with database.session() as session:   # writes work without the store
        session.add(MemberRow(role="seeker", narrative="x", timezone="UTC", languages=["en"]))
        session.commit()
    database.dispose()


@pytest.mark.postgres
def test_the_iterative_hnsw_scan_lists_every_eligible_member_the_exact_scan_does(fixture_engine):
    """ef_search 40 is far shorter than the list asked for: without pgvector's iterative scan, HNSW's
    40 nearest would be filtered afterwards and most eligible members never listed."""
    longest, config = 0, MatchConfig()
    with Session(fixture_engine) as session:
        ids = session.scalars(select(MemberRow.id).order_by(MemberRow.id)).all()
        for member_id in ids[::9]:
            row = session.get(MemberRow, member_id)
            query, embedding = profile_of(session, row), embedding_of(row)
            summary = word_summary(to_bitmap(utc_intervals(query.availability, query.timezone, coming_week_start())))
            blocked, declined = exclusions_of(session, member_id)
            exact = vector_candidates(session, query, embedding, blocked, declined, summary, 400, ScanPlan(exact=True),
                                      config)
            hnsw = vector_candidates(session, query, embedding, blocked, declined, summary, len(exact),
                                     ScanPlan(exact=False, ef_search=40, max_scan_tuples=20_000), config)
            session.rollback()
            assert {peer.member_id for peer in hnsw} == {peer.member_id for peer in exact}
            longest = max(longest, len(exact))
    assert longest > 40


@pytest.mark.postgres
def test_a_store_without_its_hnsw_index_is_scanned_exactly_where_hnsw_was_planned(fixture_engine, caplog):
    """A store that grew past `EXACT_SCAN_STORED` since its last rebuild has no HNSW index: where the plan
    says HNSW the scan is exact instead (the same ranking), with one warning saying how to build it."""
    config = MatchConfig()
    chosen = retrievers(config, "hnsw")
    caplog.set_level(logging.WARNING, logger="matcher.service.retrieval")
    with Session(fixture_engine) as session:
        exposure = exposure_lookup(session, config.exposure_window_hours)
        indexed = chosen["pgvector"].rank(session, 1, 5, *exclusions_of(session, 1), exposure)
        session.execute(text(f"DROP INDEX {HNSW_INDEX}"))   # in this transaction only: rolled back below
        unindexed = [chosen["pgvector"].rank(session, member_id, 5, *exclusions_of(session, member_id), exposure)
                     for member_id in (1, 2)]
        expected = chosen["in-process"].rank(session, 1, 5, *exclusions_of(session, 1), exposure)
        session.rollback()
        assert vector_index_exists(session.connection())
    assert indexed.extra["scan"].startswith("hnsw")
    assert [ranking.extra["scan"] for ranking in unindexed] == ["exact", "exact"]
    assert_same_ranking(expected, unindexed[0])
    assert caplog.text.count("no HNSW index") == 1 and "'peermatch rebuild-vectors' builds" in caplog.text


@pytest.mark.postgres
def test_the_exact_list_s_half_precision_similarities_stay_within_the_slack_of_full_precision(fixture_engine):
    """The exact list reads `member_filters`' halfvec copy: every similarity it lists is within
    `HALF_PRECISION_SLACK` of the full-precision cosine (so the bound still holds), and not equal to it."""
    config, state, errors = MatchConfig(), IndexState(DIMENSION, MatchConfig()), []
    with Session(fixture_engine) as session:
        index = state.refresh(session)
        for member_id in index.ids[: index.size : 13].tolist():
            query, embedding = index.get(member_id), index.embedding(member_id)
            blocked, declined = exclusions_of(session, member_id)
            summary = word_summary(to_bitmap(query_intervals(query, index)))
            listed = vector_candidates(session, query, embedding, blocked, declined, summary, 50,
                                       ScanPlan(exact=True), config)
            session.rollback()
            errors += [abs(peer.similarity - float(index.embedding(peer.member_id) @ embedding)) for peer in listed]
    assert len(errors) > 500
    assert 1e-5 < max(errors) <= HALF_PRECISION_SLACK / 2, max(errors)   # half the slack: room to spare


@pytest.mark.postgres
def test_the_sql_filters_pass_every_member_the_exact_filters_pass_and_drop_most_others(fixture_engine):
    """Availability in SQL is a superset: never an eligible member dropped, but the summary does drop members."""
    config = MatchConfig()
    state = IndexState(DIMENSION, config)
    dropped_by_summary = 0
    with Session(fixture_engine) as session:
        index = state.refresh(session)
        for member_id in index.ids[: index.size : 5].tolist():
            query, embedding = index.get(member_id), index.embedding(member_id)
            blocked, declined = exclusions_of(session, member_id)
            _, _, keep = filter_masks(query, index, config, blocked, declined)
            eligible = set(index.ids[: index.size][keep[: index.size]].tolist())
            summary = word_summary(to_bitmap(query_intervals(query, index)))
            listed = {peer.member_id for peer in vector_candidates(session, query, embedding, blocked, declined,
                                                                     summary, 10_000, ScanPlan(exact=True), config)}
            assert eligible <= listed, member_id
            dropped_by_summary += vector_filter_counts(session, query, blocked, declined, summary)["availability"]
            session.rollback()
    assert dropped_by_summary > 0


@pytest.mark.postgres
def test_estimated_counts_match_exact_ones_on_a_whole_sample_and_come_close_on_a_part(fixture_engine):
    with Session(fixture_engine) as session:
        whole = draw_filter_sample(session)
        part = draw_filter_sample(session, rows=60, seed=3)
        assert whole.complete and not part.complete and 0 < part.member_ids.size < 364
        assert np.array_equal(draw_filter_sample(session, rows=60, seed=3).member_ids, part.member_ids)   # repeatable
        drawn = part.member_ids.tolist()
        assert len(set(drawn)) == len(drawn) and set(drawn) <= set(whole.member_ids.tolist())
        for member_id in (1, 50, 200):
            query = profile_of(session, session.get(MemberRow, member_id))
            blocked, declined = exclusions_of(session, member_id)
            summary = word_summary(to_bitmap(utc_intervals(query.availability, query.timezone, coming_week_start())))
            exact = vector_filter_counts(session, query, blocked, declined, summary)
            passed = exact.pop("passed")
            assert whole.estimate(session, query, blocked, declined, summary) == (exact, passed)
            estimated, about = part.estimate(session, query, blocked, declined, summary)
            assert {f: estimated[f] for f in ("self", "blocked", "declined")} == \
                {f: exact[f] for f in ("self", "blocked", "declined")}   # looked up by id, so exact
            assert sum(estimated.values()) + about == 364   # whole numbers that add up to the store's size
            assert all(abs(estimated[f] - exact[f]) <= 0.25 * 364 for f in exact)


def test_estimated_counts_are_whole_numbers_that_add_up_to_the_store():
    """Rounded one by one, 1.6 + 1.6 + 1.8 members make 6 of a store of 5; the scan rule reads the sum."""
    assert whole_counts({"role": 1.6, "language": 1.6, "passed": 1.8}, 5) == {"role": 2, "language": 1, "passed": 2}
    assert whole_counts({"self": 1.0, "role": 0.5, "passed": 0.5}, 2) in (
        {"self": 1, "role": 1, "passed": 0}, {"self": 1, "role": 0, "passed": 1})
    assert whole_counts({"self": 1.0, "role": 3.0, "passed": 996.0}, 1000) == {"self": 1, "role": 3, "passed": 996}


def test_an_old_pgvector_is_refused_when_asked_for_and_passed_over_with_a_warning_otherwise(caplog):
    with pytest.raises(SetupError, match=r"pgvector 0\.6\.2.*0\.8\.3 or newer.*ALTER EXTENSION vector UPDATE"):
        choose_retrieval("postgresql", DIMENSION, DIMENSION, "pgvector", "0.6.2")
    caplog.set_level(logging.INFO, logger="matcher.service.retrieval")
    assert choose_retrieval("postgresql", DIMENSION, DIMENSION, None, "0.8.2") == "in-process"
    assert "this database has pgvector 0.8.2" in caplog.text and caplog.records[-1].levelname == "WARNING"
    assert choose_retrieval("postgresql", DIMENSION, DIMENSION, None, "0.8.3") == "pgvector"
    assert choose_retrieval("postgresql", DIMENSION, DIMENSION, None, "0.10.0") == "pgvector"


@pytest.mark.postgres
def test_a_copy_refill_of_the_store_writes_what_the_flush_hook_wrote(fixture_engine):
    """`rebuild_vector_store` (COPY, vectors in binary) leaves every filter column and vector as the
    per-flush upserts left them, and the HNSW index built again only when asked: a store this small
    is scanned exactly. Runs last: it rewrites the store."""
    snapshot = text("SELECT f.*, vector_send(v.embedding) AS vector FROM member_filters f "
                    "JOIN member_vectors v USING (member_id) ORDER BY member_id")
    with Session(fixture_engine) as session:
        before = [tuple(row) for row in session.execute(snapshot)]
        assert vector_index_exists(session.connection())
        assert rebuild_vector_store(session) == len(before) > 300
        session.commit()
        after = [tuple(row) for row in session.execute(snapshot)]
        unindexed = not vector_index_exists(session.connection())
        assert rebuild_vector_store(session, index=True) == len(before)
        session.commit()
        indexed = session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": HNSW_INDEX})
    assert after == before
    assert unindexed
    assert indexed.endswith("USING hnsw (embedding vector_cosine_ops)")


def test_a_store_up_to_the_measured_size_is_scanned_exactly_and_a_larger_one_through_hnsw():
    """Listed best bound first, the exact scan beat HNSW at 100k and was right where HNSW was not at 1M
    (README); past that size HNSW serves unless few members pass."""
    chosen = PgvectorRetriever(MatchConfig(), DIMENSION)
    assert chosen.scan_plan(passing=350_000, stored=retrieval.EXACT_SCAN_STORED, limit=128).exact
    assert not chosen.scan_plan(passing=3_500_000, stored=10_000_000, limit=128).exact
    assert chosen.scan_plan(passing=3_000, stored=10_000_000, limit=128).exact   # few pass: exact still
    forced = PgvectorRetriever(MatchConfig(), DIMENSION, exact_below=0)
    assert not forced.scan_plan(passing=35_000, stored=50_000, limit=128).exact
