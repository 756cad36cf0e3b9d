"""One page of a list endpoint: the rows of `page` and `per_page` (see `schemas.PageArgsSchema`) and the total."""
from __future__ import annotations

from flask import g
from sqlalchemy import Select, func, select


def page_of(key: str, stmt: Select, order_by, args: dict) -> dict:
    """``{key: rows, "page", "per_page", "total"}`` for `stmt` in `order_by` order."""
    total = g.db.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = g.db.scalars(stmt.order_by(order_by).offset((args["page"] - 1) * args["per_page"])
                        .limit(args["per_page"])).all()
    return {key: rows, "page": args["page"], "per_page": args["per_page"], "total": total}
