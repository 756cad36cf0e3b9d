"""One page of a query's rows, and how many rows there are in all."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def page_of(session: Session, stmt: Select, order_by, page: int, per_page: int) -> tuple[list, int]:
    """(the rows of page `page`, 1-based, in `order_by` order; the total count)."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(order_by).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total
