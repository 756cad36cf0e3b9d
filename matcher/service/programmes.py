"""Group programmes: a coordinator opens one (languages, sizes, meeting length, facilitators, topics, start,
and how members consent: `coordinator` or `mutual`, with `invitation_days` to answer)."""
from __future__ import annotations

from matcher.service.errors import ConflictError, NotFoundError
from matcher.service.group_consent import new_programme_default
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
    """A new programme from validated `fields` (the caller commits); consent not given is the installation's
    default for new group programmes (`peermatch consent --programme groups`, or the admin API)."""
    consent, days = new_programme_default(session)
    programme = GroupProgramme(**{k: fields[k] for k in PROGRAMME_FIELDS}, created_by=actor,
                               consent=fields.get("consent") or consent,
                               invitation_days=fields.get("invitation_days") or days)
    check_sizes(programme)
    session.add(programme)
    session.flush()
    audit(session, actor, "programme_created", detail={"programme_id": programme.id})
    return programme


def update_programme(session: Session, programme: GroupProgramme, changes: dict, actor: str) -> GroupProgramme:
    """Change some fields; groups already formed keep the rules they were formed under until reviewed, and
    open invitations keep the time they were given."""
    before = {"consent": programme.consent, "invitation_days": programme.invitation_days}
    changes = {k: v for k, v in changes.items() if v is not None or k not in before}   # null keeps the setting
    for key, value in changes.items():
        setattr(programme, key, value)
    check_sizes(programme)
    detail: dict = {"programme_id": programme.id, "fields": sorted(changes)}
    if {"consent", "invitation_days"} & set(changes):
        detail |= {"from": before, "to": {"consent": programme.consent, "invitation_days": programme.invitation_days}}
    audit(session, actor, "programme_updated", detail=detail)
    return programme
