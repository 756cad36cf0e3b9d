"""Forming groups: `form_groups` turns a programme's waiting members into proposed groups and reasons.

    1. slots       candidate weekly slots per anchor zone, and which members each fits (every week, DST-correct)
    2. buckets     a (language, slot) at a time, the one most unplaced members fit (greedy coverage)
    3. assignment  members of a bucket to group centres by min-cost flow (sizes as capacities), centres
                   re-computed; several group counts tried (and greedy's groups in small buckets), the best kept
    4. repair      exclusions, rejected groups and accepted sizes enforced; short groups filled or dissolved
    5. search      move and swap local search on the total within-group similarity
Members not placed in a bucket return to the pool for the next one (first language first, then any);
at the end they may join any group with room whose language and slot fit; whoever is left gets a reason.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

from matcher.groups.outcome import Formation
from matcher.groups.rules import GroupCandidate, GroupRules


def form_groups(candidates: Sequence[GroupCandidate], rules: GroupRules,
                exclusions: Collection[frozenset[int]] = (), earlier_groups: Collection[Collection[int]] = (),
                seed: int = 0, method: str = "flow", rejected_groups: Collection[Collection[int]] = ()) -> Formation:
    """Proposed groups of a programme with the highest total within-group similarity we can find.

    Parameters
    ----------
    candidates : the programme's waiting members (held members are never placed; when the programme has
        topics, only those who share one are).
    rules : the programme's rules.
    exclusions : pairs of member ids who blocked or declined each other (either direction).
    earlier_groups : member ids of the programme's existing groups; their members are not placed again.
    seed : seeds every random choice (centres, orders), so a run is reproducible.
    method : ``"flow"`` (the design above), or a baseline: ``"greedy"`` (seed with the most similar
        pair, add the best fitting member) or ``"random"`` (random feasible groups).
    rejected_groups : member ids of the groups of the programme a coordinator rejected; no proposed group
        holds the core of one (`matcher.groups.rejected.core_size` of its members: a strict majority, at
        least three).

    Returns
    -------
    Formation: groups best first, every other candidate in `left_out` with a `LeftOutReason`, and
    `objective` = sum over groups of the pairwise cosine similarities of their members' vectors.

    Raises
    ------
    ValueError: a candidate twice, vectors of different lengths, or an unknown `method`.
    """
    from matcher.groups.pipeline import run_formation

    return run_formation(candidates, rules, exclusions, earlier_groups, seed, method, rejected_groups)
