"""`form_groups`: every constraint holds in every group it proposes, everyone else has a reason."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from bench.groups import synthetic_candidates, synthetic_exclusions
from matcher.groups import GroupRules, LeftOutReason, form_groups
from matcher.profiles import Window

from .conftest import assert_valid, person, rules

REASON = LeftOutReason


def reasons(formation) -> dict[int, LeftOutReason]:
    return {x.member_id: x.reason for x in formation.left_out}


def together(formation, a: int, b: int) -> bool:
    return any({a, b} <= set(g.member_ids) for g in formation.groups)


@pytest.mark.parametrize("method", ["flow", "greedy", "random"])
def test_every_method_proposes_only_valid_groups_and_gives_everyone_else_a_reason(community, method):
    formation = form_groups(community, rules(), method=method)
    assert_valid(formation, community, rules())
    assert formation.coverage(len(community)) >= 0.8
    assert {g.language for g in formation.groups} >= {"en", "fr"}
    assert formation.objective == pytest.approx(sum(g.score_parts["pairwise_total"] for g in formation.groups))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_gather_members_of_one_theme(community, seed):
    english = community[:24]                      # 8 per theme: three full groups of one theme each
    formation = form_groups(english, rules(), seed=seed)
    themes = {c.id: (c.id - 1) % 3 for c in english}
    assert sorted(len({themes[m] for m in g.member_ids}) for g in formation.groups) == [1, 1, 1]
    assert formation.groups[0].score >= formation.groups[-1].score > 0.5


def test_members_who_excluded_each_other_are_never_together(community):
    exclusions = [frozenset({1, 4}), frozenset({7, 10}), frozenset({2, 5})]  # each pair shares a theme
    for method in ("flow", "greedy", "random"):
        formation = form_groups(community, rules(), exclusions, method=method)
        assert_valid(formation, community, rules(), exclusions)
        assert not any(together(formation, *sorted(p)) for p in exclusions)


def test_a_member_blocked_by_everyone_who_could_meet_them_is_left_out_as_blocked():
    members = [person(i) for i in range(1, 6)]
    exclusions = [frozenset({5, i}) for i in range(1, 5)]
    formation = form_groups(members, rules(), exclusions)
    assert [g.member_ids for g in formation.groups] == [(1, 2, 3, 4)]
    assert reasons(formation) == {5: REASON.BLOCKED}


def test_held_members_are_never_placed_and_earlier_groups_are_not_formed_again(community):
    held = {c.id for c in community[:6]}
    for c in community[:6]:
        c.member.needs_review = True
    formation = form_groups(community, rules(), earlier_groups=[[7, 8, 9, 10]])
    assert_valid(formation, community, rules())
    assert not (formation.placed_ids & (held | {7, 8, 9, 10}))
    left = reasons(formation)
    assert {left[i] for i in held} == {REASON.HELD_FOR_REVIEW}
    assert {left[i] for i in (7, 8, 9, 10)} == {REASON.ALREADY_GROUPED}


def test_accepted_sizes_are_respected():
    members = [person(i, sizes={4}) for i in range(1, 7)] + [person(i) for i in range(7, 10)]
    formation = form_groups(members, rules(), method="flow")
    assert_valid(formation, members, rules())
    for group in formation.groups:
        assert group.size == 4 or not set(group.member_ids) & set(range(1, 7))
    only_fives = [person(i, sizes={5}) for i in range(1, 5)]
    assert reasons(form_groups(only_fives, rules())) == dict.fromkeys(range(1, 5), REASON.NO_ACCEPTED_SIZE)


def test_every_group_has_a_facilitator_when_the_programme_needs_one(community):
    programme = rules(needs_facilitator=True)
    members = [person(c.id, int(np.argmax(c.vector)), languages=c.member.languages,
                      role="supporter" if c.id in (1, 2, 3, 13, 14) else "seeker") for c in community]
    formation = form_groups(members, programme)
    assert_valid(formation, members, programme)
    assert formation.groups and all(g.facilitator_id in (1, 2, 3, 13, 14) for g in formation.groups)
    assert len(formation.groups) <= 5
    assert REASON.NO_FACILITATOR in reasons(formation).values()   # the French speakers have none


def test_reasons_for_language_slot_and_kind():
    members = [person(i) for i in range(1, 5)] + [
        person(5, languages=("de",)),                                    # not a programme language
        person(6, languages=("es",)),                                    # the only Spanish speaker
        person(7, windows=(Window("tue", 9 * 60, 10 * 60 + 30),)),       # nobody else on Tuesday mornings
        person(8, languages=("fr",)), person(9, languages=("fr",)),      # two French speakers: too few
    ]
    assert reasons(form_groups(members, rules())) == {
        5: REASON.NO_SHARED_LANGUAGE, 6: REASON.NO_SHARED_LANGUAGE, 7: REASON.NO_COMMON_SLOT,
        8: REASON.ONLY_ONE_OF_KIND, 9: REASON.ONLY_ONE_OF_KIND}


def test_a_group_across_london_and_new_york_forms_only_when_its_slot_survives_every_dst_change():
    members = [person(1, windows=(Window("mon", 18 * 60, 19 * 60 + 30),))] + [
        person(i, tz="America/New_York", windows=(Window("mon", 13 * 60, 14 * 60 + 30),)) for i in (2, 3, 4)]
    winter = form_groups(members, rules(start_date=date(2027, 1, 4), horizon_weeks=8))
    assert [g.member_ids for g in winter.groups] == [(1, 2, 3, 4)]
    assert winter.groups[0].slot.render("America/New_York", date(2027, 1, 4))["start"] == "13:00"
    year = form_groups(members, rules(start_date=date(2027, 1, 4), horizon_weeks=52))
    assert year.groups == []
    assert reasons(year)[1] == REASON.NO_COMMON_SLOT


def test_the_same_seed_gives_the_same_groups(community):
    first, second = (form_groups(community, rules(), seed=7) for _ in range(2))
    assert [g.member_ids for g in first.groups] == [g.member_ids for g in second.groups]


def test_contradictory_input_is_refused(community):
    with pytest.raises(ValueError, match="once"):
        form_groups([*community, community[0]], rules())
    with pytest.raises(ValueError, match="method"):
        form_groups(community, rules(), method="exhaustive")
    with pytest.raises(ValueError, match="min_size"):
        GroupRules(frozenset({"en"}), date(2027, 1, 4), min_size=6, max_size=5)


def test_the_flow_design_beats_random_feasible_and_greedy_groups_on_a_fixed_seed():
    members = synthetic_candidates(1500, seed=11)
    exclusions = synthetic_exclusions(1500, seed=11)
    programme = GroupRules(frozenset({"en", "es", "fr"}), date(2027, 1, 4))
    runs = {m: form_groups(members, programme, exclusions, seed=11, method=m) for m in ("flow", "greedy", "random")}
    for formation in runs.values():
        assert_valid(formation, members, programme, exclusions)
    assert runs["flow"].objective >= 1.2 * runs["random"].objective
    assert runs["flow"].objective > runs["greedy"].objective
    assert runs["flow"].coverage(1500) >= runs["greedy"].coverage(1500) - 0.01


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("needs_facilitator", [False, True])
def test_random_communities_with_dense_exclusions_get_only_valid_groups(seed, needs_facilitator):
    members = synthetic_candidates(250, seed=seed)
    rng = np.random.default_rng(seed)
    exclusions = [frozenset(map(int, p)) for p in rng.integers(1, 251, size=(150, 2)) if p[0] != p[1]]
    programme = GroupRules(frozenset({"en", "es"}), date(2027, 3, 1), min_size=3, max_size=6,
                           needs_facilitator=needs_facilitator)
    for method in ("flow", "greedy", "random"):
        formation = form_groups(members, programme, exclusions, seed=seed, method=method)
        assert_valid(formation, members, programme, exclusions)
        assert formation.groups
