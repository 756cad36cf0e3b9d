"""Suggestion events: who was shown to whom, for spreading exposure across peers."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.store.models import SuggestionEvent, utcnow


def recent_exposure(session: Session, hours: int, member_ids: list[int] | None = None,
                    asker: int | None = None) -> dict[int, int]:
    """To how many members each member (or each of `member_ids`) was suggested during the last `hours`.

    Members, not requests, are counted, and never `asker`: one member asking again and again
    neither moves anyone else's suggestions nor changes their own.
    Ranking asks only for the few candidates near its top: a query by `suggested_id` reads their
    events, where counting everyone reads every suggestion of the window (it grows with traffic).
    """
    since = utcnow() - timedelta(hours=hours)
    stmt = (select(SuggestionEvent.suggested_id, func.count(SuggestionEvent.requester_id.distinct()))
            .where(SuggestionEvent.created_at >= since).group_by(SuggestionEvent.suggested_id))
    if asker is not None:
        stmt = stmt.where(SuggestionEvent.requester_id != asker)
    if member_ids is not None:
        stmt = stmt.where(SuggestionEvent.suggested_id.in_(member_ids))
    return dict(session.execute(stmt).all())


def record_suggestions(session: Session, requester_id: int, suggested: list[int], digest: str) -> None:
    session.add_all(SuggestionEvent(requester_id=requester_id, suggested_id=i, config_digest=digest)
                    for i in suggested)
