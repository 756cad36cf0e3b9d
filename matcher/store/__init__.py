"""Storage: the only package that imports SQLAlchemy (and Alembic, and pgvector's SQL).

    models      the tables, as typed models
    engine      engines per database, migrations applied once and in turn (`migrations/`)
    members     the row <-> Member mapping, stored vectors, the index version and index sync
    exclusions  blocks and declines
    pairings    pairings, rounds, feedback, repeat requests, and the locks around decisions
    groups      group programmes, formation runs, groups, memberships, group feedback, their locks
    audit       the append-only audit trail
    keys        API keys (hashes only)
    exposure    suggestion events
    erasure     deleting a member for good
    vectors     the pgvector store (PostgreSQL with the vector extension)
    vector_search  candidates from it: every hard filter in SQL, HNSW iterative or exact scans, filter samples
    paging      one page of a query
    programmes  programme settings (consent, invitation days) and due invitations
    offers      members' offers to support others
    outbox      events written with their change, their deliveries, claims and attempts
    webhooks    webhook endpoints, deliveries and attempts for admins

Every function takes a `Session`; the caller (a service called by a request, a CLI command or a
notebook) owns it and commits.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from matcher.store import vectors as _vectors  # noqa: F401  (registers the flush hook that keeps the pgvector store in step)

__all__ = ["Session"]
