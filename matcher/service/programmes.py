"""Group programmes: a coordinator opens one (languages, sizes, meeting length, facilitators, topics, start)."""
from __future__ import annotations

from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.listing import Page, paginate
from matcher.store import Session
from matcher.store.audit import audit
from matcher.store.groups import programmes_query
from matcher.store.models import GroupProgramme

PROGRAMME_FIELDS = ("name", "languages", "min_size", "max_size", "meeting_minutes", "needs_facilitator", "topics",
                    "start_date")


def get_programme(session: Session, programme_id: int) -> GroupProgramme:
    programme = session.get(GroupProgramme, programme_id)
    if programme is None:
        raise NotFoundError(f"No group programme with id {programme_id}.", "programme_id")
    return programme


def list_programmes(session: Session, page: int, per_page: int) -> Page:
    """Programmes, oldest first."""
    return paginate(session, programmes_query(), GroupProgramme.id, page, per_page)


def check_sizes(programme: GroupProgramme) -> None:
    """Refuse size bounds that no group could meet.

    Raises
    ------
    ConflictError: `min_size` above `max_size` (a rule across two fields, answered 409 naming `min_size`).
    """
    if programme.min_size > programme.max_size:
        raise ConflictError(f"The smallest group size ({programme.min_size}) is above the largest "
                          f"({programme.max_size}).", "min_size")


def create_programme(session: Session, fields: dict, actor: str) -> GroupProgramme:
    """A new programme from validated `fields` (the caller commits)."""
    programme = GroupProgramme(**{k: fields[k] for k in PROGRAMME_FIELDS}, created_by=actor)
    check_sizes(programme)
    session.add(programme)
    session.flush()
    audit(session, actor, "programme_created", detail={"programme_id": programme.id})
    return programme


def update_programme(session: Session, programme: GroupProgramme, changes: dict, actor: str) -> GroupProgramme:
    """Change some fields; groups already formed keep the rules they were formed under until reviewed."""
    for key, value in changes.items():
        setattr(programme, key, value)
    check_sizes(programme)
    audit(session, actor, "programme_updated", detail={"programme_id": programme.id, "fields": sorted(changes)})
    return programme
