"""Why each member left out of every group was left out (the first reason that applies, `LeftOutReason` order)."""
from __future__ import annotations

import numpy as np

from matcher.groups.outcome import LeftOutReason
from matcher.groups.pool import Pool
from matcher.groups.slots import SlotTable

Placed = list[tuple[int, int, list[int]]]   # (language column, slot column, pool rows) of each formed group


def left_out_reasons(pool: Pool, speaks: np.ndarray, table: SlotTable, groups: Placed,
                     unplaced: list[int]) -> dict[int, LeftOutReason]:
    """Pool row -> reason, for the `unplaced` rows.

    Parameters
    ----------
    speaks : (n, L) which programme languages each row speaks.
    table : which candidate slots each row fits.
    groups : the formed groups.
    """
    together = _count(speaks, table, np.ones(pool.size, dtype=bool))   # members per (language, slot), all counted
    facilitators = _count(speaks, table, pool.facilitates)
    speakers = speaks.sum(axis=0)
    return {row: _reason(pool, row, speaks, table, together, facilitators, speakers, groups) for row in unplaced}


def _count(speaks: np.ndarray, table: SlotTable, rows: np.ndarray) -> np.ndarray:
    """(L, S) members among `rows` (a mask) per language and slot."""
    profiles = table.profile_fits.shape[0]
    per_profile = np.array([np.bincount(table.profile_of[rows & speaks[:, lang]], minlength=profiles)
                            for lang in range(speaks.shape[1])], dtype=np.float32).reshape(-1, profiles)
    return np.rint(per_profile @ table.profile_fits.astype(np.float32)).astype(np.int64)


def _reason(pool: Pool, row: int, speaks: np.ndarray, table: SlotTable, together: np.ndarray,
            facilitators: np.ndarray, speakers: np.ndarray, groups: Placed) -> LeftOutReason:
    rules = pool.rules
    fits = table.profile_fits[table.profile_of[row]]
    langs = np.flatnonzero(speaks[row])
    if langs.size == 0 or speakers[langs].max() < 2:
        return LeftOutReason.NO_SHARED_LANGUAGE
    options = np.zeros_like(together, dtype=bool)
    options[langs] = fits
    if not options.any() or together[options].max() < 2:
        return LeftOutReason.NO_COMMON_SLOT
    if together[options].max() < rules.min_size:
        return LeftOutReason.ONLY_ONE_OF_KIND
    accepted = np.flatnonzero(pool.sizes[row])
    if accepted.size == 0 or together[options].max() < accepted[0]:
        return LeftOutReason.NO_ACCEPTED_SIZE
    if rules.needs_facilitator and not pool.facilitates[row] and facilitators[options].max() == 0:
        return LeftOutReason.NO_FACILITATOR
    joinable = [g for lang, slot, g in groups if options[lang, slot] and len(g) < rules.max_size]
    open_to_them = [g for g in joinable if not pool.clashes(row, g)]
    if joinable and not open_to_them:
        return LeftOutReason.BLOCKED
    allowed = [g for g in open_to_them if not pool.would_recreate(row, g)]
    if open_to_them and not allowed:
        return LeftOutReason.REJECTED_GROUP
    if allowed and not any(pool.accepts([*g, row], len(g) + 1) for g in allowed):
        return LeftOutReason.NO_ACCEPTED_SIZE
    if not joinable and _kept_apart(pool, row, speaks, table, together, options):
        return LeftOutReason.REJECTED_GROUP
    return LeftOutReason.TOO_FEW_SIMILAR


def _kept_apart(pool: Pool, row: int, speaks: np.ndarray, table: SlotTable, together: np.ndarray,
                options: np.ndarray) -> bool:
    """Without the others of their rejected groups, too few share a language and a slot with the member."""
    others = np.zeros(pool.size, dtype=bool)
    for k in pool.rejected_of[row]:
        others[list(pool.rejected[k][0] - {row})] = True
    if not others.any():
        return False
    return bool((together - _count(speaks, table, others))[options].max() < pool.rules.min_size)
