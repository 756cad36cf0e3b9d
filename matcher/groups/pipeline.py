"""The steps of `form_groups` in order: eligibility, slots, buckets, grouping per bucket, proposals, reasons."""
from __future__ import annotations

import time
from collections.abc import Collection, Sequence

import numpy as np

from matcher.groups.assignment import assign_bucket, group_counts
from matcher.groups.baselines import greedy_bucket, random_bucket
from matcher.groups.buckets import BucketCounter
from matcher.groups.local_search import improve
from matcher.groups.objective import groups_objective, pairwise_total
from matcher.groups.outcome import Formation, LeftOut, LeftOutReason, ProposedGroup
from matcher.groups.pool import Pool
from matcher.groups.reasons import left_out_reasons
from matcher.groups.repair import make_valid
from matcher.groups.rules import GroupCandidate, GroupRules, shares_topic
from matcher.groups.slots import SlotTable, WeeklySlot, slot_table
from matcher.profiles import Role

METHODS = ("flow", "greedy", "random")
GREEDY_START_BUCKET = 400   # buckets up to this size also try greedy's groups as a start (cheap there)


def _flow_bucket(pool: Pool, rows: np.ndarray, rng: np.random.Generator) -> tuple[list[list[int]], list[int]]:
    """Assignment and repair for each group count worth trying; local search on the best total.

    Buckets up to `GREEDY_START_BUCKET` also start from the greedy groups (cheap there): the start that
    counts more similar pairs wins, so the result is never below greedy's in that bucket.
    """
    starts = []
    for k in group_counts(pool, rows):
        groups = assign_bucket(pool, rows, rng, k)
        placed = {r for g in groups for r in g}
        starts.append(make_valid(pool, groups, [int(r) for r in rows if r not in placed], rng)[0])
    if len(rows) <= GREEDY_START_BUCKET:
        starts.append(greedy_bucket(pool, rows, rng)[0])
    best = max(starts, key=lambda groups: groups_objective(pool.vectors, groups), default=[])
    return improve(pool, rows.tolist(), best, rng)


_BUCKET_METHODS = {"flow": _flow_bucket, "greedy": greedy_bucket, "random": random_bucket}


def run_formation(candidates: Sequence[GroupCandidate], rules: GroupRules, exclusions: Collection[frozenset[int]],
                  earlier_groups: Collection[Collection[int]], seed: int, method: str,
                  rejected_groups: Collection[Collection[int]] = ()) -> Formation:
    """See `matcher.groups.formation.form_groups`."""
    if method not in METHODS:
        raise ValueError(f"Unknown formation method {method!r}; use one of {', '.join(METHODS)}.")
    if len({c.id for c in candidates}) != len(candidates):
        raise ValueError("Each member may be a candidate of a formation once; a member id appears twice.")
    started = time.perf_counter()
    eligible, left_out = _eligible(candidates, rules, earlier_groups)
    pool = Pool.build(eligible, rules, exclusions, rejected_groups)
    languages = sorted(rules.languages)
    speaks = np.array([[lang in c.member.languages for lang in languages] for c in pool.candidates],
                      dtype=bool).reshape(-1, len(languages))
    table = slot_table([c.member for c in pool.candidates], rules)
    rng = np.random.default_rng(seed)
    placed = _fill_buckets(pool, speaks, table, _BUCKET_METHODS[method], rng)
    placed = _place_leftovers(pool, speaks, table, placed, rng, "random" if method == "random" else "best")
    in_groups = {r for _, _, g in placed for r in g}
    reasons = left_out_reasons(pool, speaks, table, placed, [r for r in range(pool.size) if r not in in_groups])
    left_out += [LeftOut(pool.candidates[r].id, reason) for r, reason in sorted(reasons.items())]
    groups = [_proposal(pool, g, languages[lang], table.slots[slot]) for lang, slot, g in placed]
    groups.sort(key=lambda g: (-g.score, g.member_ids))
    objective = sum(g.score_parts["pairwise_total"] for g in groups)
    return Formation(groups, sorted(left_out, key=lambda x: x.member_id), objective, {
        "method": method, "seconds": time.perf_counter() - started, "candidates": len(candidates),
        "slots": len(table.slots), "weeks_checked": len(table.weeks)})


def _eligible(candidates: Sequence[GroupCandidate], rules: GroupRules, earlier_groups: Collection[Collection[int]],
              ) -> tuple[list[GroupCandidate], list[LeftOut]]:
    """The candidates who may be placed, and the others with their reason (held, already grouped, no topic)."""
    grouped = {m for g in earlier_groups for m in g}
    eligible, left_out = [], []
    for c in candidates:
        reason = (LeftOutReason.HELD_FOR_REVIEW if c.held else LeftOutReason.ALREADY_GROUPED if c.id in grouped
                  else None if shares_topic(c, rules) else LeftOutReason.NO_SHARED_TOPIC)
        if reason is None:
            eligible.append(c)
        else:
            left_out.append(LeftOut(c.id, reason))
    return eligible, left_out


def _fill_buckets(pool: Pool, speaks: np.ndarray, table: SlotTable, method, rng: np.random.Generator,
                  ) -> list[tuple[int, int, list[int]]]:
    """Groups, one (language, slot) bucket at a time, the fullest first; unplaced members stay for later buckets."""
    placed: list[tuple[int, int, list[int]]] = []
    unplaced = np.ones(pool.size, dtype=bool)
    for languages in (_first_language(pool, speaks), speaks):
        counter = BucketCounter(languages, table, unplaced)
        while (bucket := counter.next_bucket(pool.rules.min_size)) is not None:
            rows = counter.members_of(*bucket)
            groups, _ = method(pool, rows, rng)
            placed += [(bucket[0], bucket[1], sorted(g)) for g in groups]
            counter.close(*bucket, np.array([r for g in groups for r in g], dtype=np.int64))
        unplaced = counter.unplaced
    return placed


def _place_leftovers(pool: Pool, speaks: np.ndarray, table: SlotTable, placed: list[tuple[int, int, list[int]]],
                     rng: np.random.Generator, choose: str) -> list[tuple[int, int, list[int]]]:
    """Members no bucket placed join a group with room of any bucket whose language and slot they fit
    (the most similar such group, or one at random), where every rule still holds."""
    in_groups = {r for _, _, g in placed for r in g}
    fits = table.profile_fits
    for row in (r for r in range(pool.size) if r not in in_groups):
        room = [t for t, (lang, slot, g) in enumerate(placed) if len(g) < pool.rules.max_size and speaks[row, lang]
                and fits[table.profile_of[row], slot] and pool.may_join(row, g)]
        if not room:
            continue
        if choose == "random":
            target = room[int(rng.integers(len(room)))]
        else:
            target = max(room, key=lambda t: (float(pool.vectors[placed[t][2]].sum(axis=0) @ pool.vectors[row]), -t))
        lang, slot, group = placed[target]
        placed[target] = (lang, slot, sorted([*group, row]))
    return placed


def _first_language(pool: Pool, speaks: np.ndarray) -> np.ndarray:
    """Each member's first programme language only (their preferred languages first, then the order they gave):
    groups form in the language members put first, and only then in any language they speak."""
    languages = sorted(pool.rules.languages)
    first = np.zeros_like(speaks)
    for row, c in enumerate(pool.candidates):
        ordered = (*c.member.preferred_languages, *c.member.languages)
        chosen = next((lang for lang in ordered if lang in languages), None)
        if chosen is not None:
            first[row, languages.index(chosen)] = True
    return first


def _facilitator(pool: Pool, rows: list[int]) -> int | None:
    if not pool.rules.needs_facilitator:
        return None
    able = [pool.candidates[r] for r in rows if pool.facilitates[r]]
    best = min(able, key=lambda c: (c.member.role != Role.SUPPORTER, -c.member.free_capacity, c.id))
    return best.id


def _proposal(pool: Pool, rows: list[int], language: str, slot: WeeklySlot) -> ProposedGroup:
    vectors = pool.vectors[rows].astype(np.float64)
    similarities = (vectors @ vectors.T)[np.triu_indices(len(rows), 1)]
    members = [pool.candidates[r].member for r in rows]
    shared = set(members[0].topics).intersection(*(m.topics for m in members[1:]))
    total = pairwise_total(vectors)
    return ProposedGroup(tuple(sorted(m.id for m in members)), language, slot, _facilitator(pool, rows),
                         round(float(similarities.mean()), 6), {
                             "mean_similarity": round(float(similarities.mean()), 6),
                             "min_similarity": round(float(similarities.min()), 6),
                             "pairwise_total": total, "size": len(rows), "shared_topics": sorted(shared),
                             "weeks_checked": pool.rules.horizon_weeks})
