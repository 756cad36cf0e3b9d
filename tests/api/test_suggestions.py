"""Suggestions end to end: real model, real database, member-facing privacy, coordinator view."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from matcher.store.models import SuggestionEvent, utcnow
from tests.api.helpers import create

GRIEF = ("My husband died suddenly in January. The house is so quiet and I talk to his photo. "
         "Friends stopped calling after the funeral.")
GRIEF_SUPPORTER = ("When my wife passed away four years ago I could not cook or sleep for months. "
                   "A widowers' group got me through the first year of grief.")
CANCER_SUPPORTER = ("I finished chemotherapy for lymphoma two years ago. I know the fear of scans "
                    "and the exhaustion of treatment.")


def suggested_ids(client, headers, member_id: int) -> list[int]:
    return [s["member_id"] for s in client.get(f"/api/v1/members/{member_id}/suggestions",
                                               headers=headers).json["suggestions"]]


def people(client, keys, member_body):
    """A grieving seeker and three supporters: grief, cancer, and one who is never free at the same time."""
    h = keys["onboarding"]
    seeker = create(client, h, member_body(narrative=GRIEF, topics=["grief", "widowhood"]))
    grief = create(client, h, member_body(role="supporter", display_name="Jon B.", narrative=GRIEF_SUPPORTER,
                                          intro="Gardener, widower, listener.", capacity=2,
                                          topics=["grief"], timezone="Europe/London", languages=["en"]))
    cancer = create(client, h, member_body(role="supporter", display_name="Mia K.", narrative=CANCER_SUPPORTER,
                                           capacity=2, topics=["cancer"], languages=["es"]))
    never = create(client, h, member_body(role="supporter", display_name="Raj P.",
                                          narrative=GRIEF_SUPPORTER + " Again.",
                                          availability=[{"day": "wed", "start": "03:00", "end": "04:00"}]))
    return seeker, grief, cancer, never


def test_similar_peer_comes_first_with_a_full_explanation(client, keys, member_body):
    seeker, grief, cancer, never = people(client, keys, member_body)
    response = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=5", headers=keys["onboarding"])
    assert response.status_code == 200
    body = response.json
    assert [s["member_id"] for s in body["suggestions"]] == [grief["id"], cancer["id"]]
    top = body["suggestions"][0]
    assert top["display_name"] == "Jon B." and top["intro"] == "Gardener, widower, listener."
    e = top["explanation"]
    assert e["shared_languages"] == ["en"] and e["shared_topics"] == ["grief"]
    # London 18:00-21:00 Monday is Madrid 19:00-22:00; the seeker's Monday window is 18:00-21:00 Madrid.
    assert e["overlap_windows"][0] == {"day": "mon", "start": "19:00", "end": "21:00", "minutes": 120}
    assert e["overlap_minutes"] >= 120 and 0 < e["similarity"] <= 1
    assert body["filtered_out"]["self"] == 1 and body["filtered_out"]["availability"] == 1
    assert body["config"]["name"] == "default" and len(body["config"]["digest"]) == 12


def test_member_facing_suggestions_never_show_a_narrative(client, keys, member_body):
    seeker, *_ = people(client, keys, member_body)
    text = client.get(f"/api/v1/members/{seeker['id']}/suggestions", headers=keys["onboarding"]).get_data(as_text=True)
    for narrative in (GRIEF_SUPPORTER, CANCER_SUPPORTER):
        for sentence in narrative.split(". "):
            assert sentence.strip(". ") not in text
    assert "matched_sentences" not in text


def test_coordinator_view_adds_the_best_matching_sentences(client, keys, member_body):
    seeker, grief, *_ = people(client, keys, member_body)
    url = f"/api/v1/members/{seeker['id']}/suggestions?view=coordinator"
    assert client.get(url, headers=keys["onboarding"]).status_code == 403
    body = client.get(url, headers=keys["coordinator"]).json
    matched = body["suggestions"][0]["explanation"]["matched_sentences"]
    assert matched["member"] in GRIEF and matched["peer"] in GRIEF_SUPPORTER
    assert matched["peer"].startswith("When my wife passed away")


def test_blocks_work_in_both_directions(client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    assert client.post(f"/api/v1/members/{grief['id']}/blocks", json={"member_id": seeker["id"]},
                       headers=h).status_code == 201
    body = client.get(f"/api/v1/members/{seeker['id']}/suggestions", headers=h).json
    assert [s["member_id"] for s in body["suggestions"]] == [cancer["id"]]
    assert body["filtered_out"]["blocked"] == 1
    seeker_seen_by_grief = client.get(f"/api/v1/members/{grief['id']}/suggestions", headers=h).json
    assert seeker["id"] not in [s["member_id"] for s in seeker_seen_by_grief["suggestions"]]


def test_a_declined_peer_is_not_suggested_again(client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    assert client.post(f"/api/v1/members/{seeker['id']}/declines", json={"member_id": grief["id"]},
                       headers=h).status_code == 201
    body = client.get(f"/api/v1/members/{seeker['id']}/suggestions", headers=h).json
    assert [s["member_id"] for s in body["suggestions"]] == [cancer["id"]]
    assert body["filtered_out"]["declined"] == 1


def test_paused_peer_and_full_supporter_are_filtered(client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    client.patch(f"/api/v1/members/{grief['id']}", json={"status": "paused"}, headers=h)
    client.patch(f"/api/v1/members/{cancer['id']}", json={"capacity": 0}, headers=h)
    body = client.get(f"/api/v1/members/{seeker['id']}/suggestions", headers=h).json
    assert body["suggestions"] == []
    assert body["filtered_out"]["inactive"] == 1 and body["filtered_out"]["capacity"] == 1


def test_a_new_member_is_suggested_at_once_and_a_deleted_one_never(client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    client.delete(f"/api/v1/members/{grief['id']}", headers=h)
    ids = suggested_ids(client, h, seeker["id"])
    assert ids == [cancer["id"]]
    newcomer = create(client, h, member_body(role="peer", display_name="Lea",
                                             narrative=GRIEF_SUPPORTER + " I am a peer."))
    ids = suggested_ids(client, h, seeker["id"])
    assert ids[0] == newcomer["id"]


def test_a_changed_narrative_changes_the_suggestions(client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    client.patch(f"/api/v1/members/{seeker['id']}", json={
        "narrative": "Lymphoma came back and I start chemo again in May. The scans terrify me.",
        "topics": ["cancer"]}, headers=h)
    ids = suggested_ids(client, h, seeker["id"])
    assert ids[0] == cancer["id"]


def test_suggestions_are_recorded_and_spread_exposure(app, client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    other = create(client, h, member_body(display_name="Eva", narrative=GRIEF + " Mine was my brother."))
    client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=2", headers=h)
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(func.count()).select_from(SuggestionEvent)) == 2
    own = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=2", headers=h).json
    assert own["suggestions"][0]["explanation"]["exposure"]["recent_suggestions"] == 0   # one's own asking never counts
    body = client.get(f"/api/v1/members/{other['id']}/suggestions?k=2", headers=h).json
    assert body["suggestions"][0]["member_id"] == grief["id"]
    assert body["suggestions"][0]["explanation"]["exposure"]["recent_suggestions"] == 1
    assert body["suggestions"][0]["explanation"]["components"]["exposure"] < 0


def test_one_member_asking_again_and_again_moves_nobody_elses_suggestions(app, client, keys, member_body):
    seeker, grief, cancer, _ = people(client, keys, member_body)
    h = keys["onboarding"]
    other = create(client, h, member_body(display_name="Eva", narrative=GRIEF + " Mine was my brother."))
    client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=2", headers=h)
    once = client.get(f"/api/v1/members/{other['id']}/suggestions?k=2", headers=h).json["suggestions"]
    for _ in range(30):
        assert client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=2", headers=h).status_code == 200
    again = client.get(f"/api/v1/members/{other['id']}/suggestions?k=2", headers=h).json["suggestions"]
    assert [(s["member_id"], s["score"]) for s in again] == [(s["member_id"], s["score"]) for s in once]


def test_a_head_request_records_nothing(app, client, keys, member_body):
    seeker, *_ = people(client, keys, member_body)
    assert client.head(f"/api/v1/members/{seeker['id']}/suggestions", headers=keys["onboarding"]).status_code == 200
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(func.count()).select_from(SuggestionEvent)) == 0


def test_a_member_held_for_review_gets_no_peers_but_a_clear_error(app, client, keys, member_body):
    seeker, *_ = people(client, keys, member_body)
    held = create(client, keys["onboarding"], member_body(
        narrative="I can't go on any more. I want to die and I have been thinking about how to end my life."))
    assert held["needs_review"] is True
    response = client.get(f"/api/v1/members/{held['id']}/suggestions", headers=keys["onboarding"])
    assert response.status_code == 409 and response.json["error"] == "held_for_review"
    assert "crisis resources" in response.json["message"] and "suggestions" not in response.json
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(func.count()).select_from(SuggestionEvent)) == 0


def test_exposure_counts_members_in_the_window_and_only_candidates_near_the_top(app, client, keys, member_body,
                                                                                monkeypatch):
    import matcher.service.suggestions as suggestions
    seeker, grief, cancer, never = people(client, keys, member_body)
    askers = [create(client, keys["onboarding"], member_body(display_name=f"A{i}"))["id"] for i in range(4)]
    asked = []
    counted = suggestions.recent_exposure
    monkeypatch.setattr(suggestions, "recent_exposure",
                        lambda session, hours, ids, asker: asked.extend(ids) or counted(session, hours, ids, asker))
    engine = app.extensions["db_engine"]
    with Session(engine) as session:
        shown = [(askers[0], grief["id"], 0), (askers[0], grief["id"], 2), (askers[1], grief["id"], 1),
                 (askers[2], grief["id"], 71), (askers[3], grief["id"], 73), (seeker["id"], grief["id"], 3),
                 (askers[0], never["id"], 2)]
        session.add_all(SuggestionEvent(requester_id=requester, suggested_id=member_id, config_digest="t",
                                        created_at=utcnow() - timedelta(hours=hours))
                        for requester, member_id, hours in shown)
        session.commit()
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        body = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=1", headers=keys["onboarding"]).json
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert body["suggestions"][0]["member_id"] == grief["id"]
    # three other members within 72 hours (the first twice, counted once; 73 hours ago is out; the asker is out)
    assert body["suggestions"][0]["explanation"]["exposure"]["recent_suggestions"] == 3
    counts = [s for s in statements if "suggestion_events" in s and "GROUP BY" in s.upper()]
    assert counts and all(" IN " in s.upper() for s in counts)   # never every member's events of the window
    assert grief["id"] in asked and len(asked) == len(set(asked))   # each id asked for once per request


def test_k_is_bounded_and_checked(client, keys, member_body):
    seeker, *_ = people(client, keys, member_body)
    h = keys["onboarding"]
    assert len(client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=1", headers=h).json["suggestions"]) == 1
    for bad in ("0", "51", "two"):
        response = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k={bad}", headers=h)
        assert response.status_code == 422 and response.json["field"] == "k"


def test_suggestions_for_an_unknown_member_are_a_404(client, keys):
    assert client.get("/api/v1/members/77/suggestions", headers=keys["onboarding"]).status_code == 404


def test_the_service_ranks_with_the_shipped_text_pipeline(client, keys, member_body, embedder, monkeypatch):
    """Suggestion similarity is `peermatch evaluate`'s `peermatch` method (the adapter), not plain cosine."""
    from matcher.analysis.text_scorer import TextScorer
    seeker, grief, _, _ = people(client, keys, member_body)
    body = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=1", headers=keys["onboarding"]).json
    raw = embedder.encode([GRIEF, GRIEF_SUPPORTER])
    adapted = float(TextScorer(model_id=embedder.model_id).fit(raw).similarity_matrix(raw)[0, 1])
    plain = float(raw[0] @ raw[1])
    assert body["suggestions"][0]["member_id"] == grief["id"]
    assert abs(body["suggestions"][0]["explanation"]["similarity"] - round(adapted, 4)) < 2e-4
    assert abs(adapted - plain) > 0.01


def test_exposure_lookup_asks_the_database_once_per_member_and_request(app, client, keys, member_body, monkeypatch):
    import matcher.service.suggestions as suggestions
    seeker, grief, cancer, never = people(client, keys, member_body)
    client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=2", headers=keys["onboarding"])   # grief, cancer shown
    asked = []
    counted = suggestions.recent_exposure
    monkeypatch.setattr(suggestions, "recent_exposure",
                        lambda session, hours, ids, asker: asked.append(list(ids))
                        or counted(session, hours, ids, asker))
    with Session(app.extensions["db_engine"]) as session:
        recent = suggestions.exposure_lookup(session, 72, asker=never["id"])
        assert recent([grief["id"], never["id"]]) == {grief["id"]: 1, never["id"]: 0}
        assert recent([never["id"], cancer["id"]]) == {never["id"]: 0, cancer["id"]: 1}
    assert asked == [[grief["id"], never["id"]], [cancer["id"]]]


def test_explain_counts_asks_for_exact_counts_and_small_communities_get_them_anyway(app, client, keys, member_body):
    seeker, *_ = people(client, keys, member_body)
    url, h = f"/api/v1/members/{seeker['id']}/suggestions", keys["onboarding"]
    plain, counted = client.get(url, headers=h).json, client.get(url + "?explain=counts", headers=h).json
    assert counted["filtered_out"] == plain["filtered_out"]
    assert counted["filtered_out"]["availability"] == 1 and counted["filtered_out"]["self"] == 1
    if app.extensions["services"].retrieval == "pgvector":
        assert counted["search"]["counts"] == "exact" and plain["search"]["counts"] == "exact"   # a whole sample
        assert plain["search"]["scan"] == "exact"   # four members pass: no HNSW
    bad = client.get(url + "?explain=everything", headers=h)
    assert bad.status_code == 422 and bad.json["field"] == "explain"
