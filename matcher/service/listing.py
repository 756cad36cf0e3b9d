"""Pages of lists: the rows of one page and where it stands (the API answers at most 100 a page)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matcher.store import Session
from matcher.store.paging import page_of


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    def as_dict(self, key: str) -> dict[str, Any]:
        """``{key: items, "page", "per_page", "total"}``, the shape of every list answer."""
        return {key: self.items, "page": self.page, "per_page": self.per_page, "total": self.total}


def paginate(session: Session, query: Any, order_by: Any, page: int, per_page: int) -> Page:
    """Page `page` (1-based) of `query`'s rows in `order_by` order."""
    rows, total = page_of(session, query, order_by, page, per_page)
    return Page(rows, page, per_page, total)
