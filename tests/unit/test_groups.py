"""Unit tests for coordinated groups: joining on narrow keys, coordination, pooling, bounds."""

import pickle

import pytest

from detectors.exceptions import ConfigError
from detectors.groups import GroupPool
from detectors.records import RequestEvent
from tests.unit.test_features import _profile

T0 = 1_764_288_000.0


class _Driver:
    """Feeds a pool the way the processor does: requests with first uses per account."""

    def __init__(self, pool: GroupPool) -> None:
        self.pool = pool
        self.used: dict[str, set[int]] = {}
        self.t = T0

    def send(self, account: str, template: int | None) -> None:
        self.t += 1.0
        used = self.used.setdefault(account, set())
        first = template is not None and template not in used
        if template is not None:
            used.add(template)
        profile = _profile(template=template, reasoning=1.0) if template is not None else None
        self.pool.observe(account, RequestEvent(ts=self.t, account_id=account), profile, first)


def test_linked_accounts_form_one_group_and_chains_join():
    d = _Driver(GroupPool())
    d.send("a", None)
    assert d.pool.group_of("a") is None  # in no group until linked
    d.pool.join("a", "b")
    d.pool.join("c", "b")
    d.pool.join("x", "x")
    group = d.pool.group_of("a")
    assert group is not None
    assert sorted(group.members) == ["a", "b", "c"]
    assert d.pool.group_of("c") is group
    assert d.pool.group_of("x") is None
    assert len(d.pool) == 1
    assert d.pool.accounts == 3
    d.send("b", None)
    d.send("c", None)
    assert group.requests == 2


def test_requests_are_pooled_once_two_members_used_the_template():
    d = _Driver(GroupPool(backfill=0))  # no backlog (see the backfill test)
    d.pool.join("a", "b")
    d.pool.join("a", "c")
    d.send("a", 7)  # first use of 7 in the group: nobody coordinated yet
    d.send("a", 7)  # the same account again: still one user
    group = d.pool.group_of("a")
    assert group is not None
    assert group.pooled == 0
    d.send("b", 7)  # second user: b and a (who ran it first) are coordinated
    d.send("a", 7)
    d.send("c", 8)  # c runs a template of its own: not coordinated, not pooled
    d.send("b", None)  # every request of a coordinated member is pooled
    assert list(group.coordinated) == ["b", "a"]
    assert group.pooled == 3
    assert group.requests == 6
    assert group.coordinated_share == pytest.approx(3 / 6)
    assert group.features is not None
    assert group.features.events == 3


def test_a_common_phrasing_used_outside_the_group_is_not_coordinated():
    d = _Driver(GroupPool(min_concentration=0.5, backfill=0))
    d.pool.join("a", "b")
    for i in range(3):  # three strangers use template 9 too
        d.send(f"s{i}", 9)
    d.send("a", 9)
    d.send("b", 9)  # 2 of the template's 5 users are in the group: < 0.5
    group = d.pool.group_of("a")
    assert group is not None
    assert group.pooled == 0
    d.pool.join("c", "a")
    d.send("c", 9)  # 3 of 6: concentration reached
    assert group.pooled == 1
    assert set(group.coordinated) == {"a", "c"}


def test_merging_groups_keeps_members_templates_and_pooled_state():
    d = _Driver(GroupPool(backfill=0))  # no backlog (see the backfill test)
    d.pool.join("a", "b")
    for name in "ab":
        d.send(name, 1)  # a then b: b coordinated, pooled from its request on
    d.send("a", 1)
    d.pool.join("c", "d")
    d.send("c", 1)  # group {c, d}: its first use of 1
    d.pool.join("b", "d")  # joins {c, d} into {a, b}
    group = d.pool.group_of("c")
    assert group is d.pool.group_of("a")
    assert sorted(group.members) == ["a", "b", "c", "d"]
    assert group.pooled == 2
    assert group.requests == 4
    assert group.templates[1].users == 3  # a and b, then c
    d.send("d", 1)
    assert group.pooled == 3
    assert set(group.coordinated) == {"a", "b", "d"}
    assert len(d.pool) == 1


def test_joining_two_pooling_groups_sums_what_they_pooled():
    d = _Driver(GroupPool(backfill=0))
    d.pool.join("a", "b")
    d.pool.join("c", "e")
    d.pool.join("c", "f")  # {c, e, f} is the larger: it absorbs {a, b}
    for name in "abab":
        d.send(name, 1)  # {a, b}: 3 pooled (b's first, then a and b)
    for name in "ce":
        d.send(name, 2)  # {c, e, f}: 1 pooled (e's)
    small, large = d.pool.group_of("a"), d.pool.group_of("c")
    assert (small.pooled, large.pooled) == (3, 1)
    d.pool.join("a", "c")
    group = d.pool.group_of("b")
    assert group is large
    assert group.pooled == 4  # both groups' pooled requests: the smaller one's too
    assert group.features.values(d.t)["req_24h"] == 4


def test_groups_are_bounded_in_size_and_number_and_evicted_when_idle():
    d = _Driver(GroupPool(max_group=3, max_accounts=4))
    for name in "bcd":
        d.pool.join("a", name)
    group = d.pool.group_of("a")
    assert group is not None
    assert len(group.members) == 3  # d would grow the group past max_group
    assert d.pool.group_of("d") is None
    d.pool.join("x", "y")  # 5 accounts > max_accounts: the oldest group goes
    assert d.pool.group_of("a") is None
    assert d.pool.group_of("x") is not None
    assert d.pool.accounts == 2
    d.send("x", None)
    assert d.pool.evict_idle(d.t + 10_000, 3600.0) == 1
    assert d.pool.accounts == 0
    assert len(d.pool) == 0


def test_pool_pickles_and_rejects_bad_settings():
    d = _Driver(GroupPool())
    d.pool.join("a", "b")
    for name in "aba":
        d.send(name, 3)  # a's first request is pooled once b made it coordinated
    d.pool.join("a", "c")
    d.send("c", 4)  # kept until c is coordinated
    assert d.pool.group_of("a").pooled == 3
    assert d.pool.kept == 1
    restored = pickle.loads(pickle.dumps(d.pool))
    assert restored.group_of("b").pooled == 3
    assert restored.kept == 1
    assert sorted(restored.group_of("b").members) == ["a", "b", "c"]
    with pytest.raises(ConfigError):
        GroupPool(max_group=1)
    with pytest.raises(ConfigError):
        GroupPool(min_concentration=0.0)
    with pytest.raises(ConfigError):
        GroupPool(backfill=-1)


def test_a_coordinated_member_may_bridge_to_another_group_running_its_template():
    d = _Driver(GroupPool())
    d.pool.join("a", "b")  # one card
    d.pool.join("c", "e")  # another card
    d.pool.join("x", "y")  # a third
    d.send("a", 5)
    d.send("b", 5)  # a and b coordinated on 5
    assert not d.pool.reaches_out("a", 5)  # nobody outside their group ran 5
    d.send("c", 5)
    d.send("e", 5)  # c and e too, in their own group
    assert d.pool.reaches_out("c", 5)  # 4 users of 5, 2 of them in c's group
    assert not d.pool.reaches_out("c", 6)  # c's group never ran 6
    assert d.pool.shares_script("c", "a", 5)
    assert not d.pool.shares_script("c", "e", 5)  # the same group
    assert not d.pool.shares_script("c", "a", 6)  # a's group never ran 6
    d.send("x", 5)  # x ran 5 but nobody else in its group did: not coordinated
    assert not d.pool.shares_script("c", "x", 5)
    assert not d.pool.reaches_out("x", 5)
    assert not d.pool.shares_script("c", "stranger", 5)  # in no group
    for i in range(40):
        d.send(f"s{i}", 7)  # a common phrasing: 40 strangers use it
    for name in "abce":
        d.send(name, 7)  # two users in each group, 4 of 44 overall: under 10 %
    assert not d.pool.shares_script("c", "a", 7)
    d.pool.join("c", "f")
    d.send("f", 8)
    d.send("c", 8)
    d.send("a", 8)  # 8: two users in c's group, one in a's
    assert not d.pool.shares_script("c", "a", 8)
    assert not d.pool.shares_script("a", "c", 8)
    d.pool.join("c", "a")
    group = d.pool.group_of("a")
    assert group is d.pool.group_of("e")
    assert set(group.coordinated) == {"a", "b", "c", "e"}
    assert d.pool.reaches_out("a", 5)  # x, in another group, ran 5 too


def test_backfill_pools_what_a_member_sent_before_it_was_coordinated():
    d = _Driver(GroupPool(backfill=2))
    d.pool.join("a", "b")
    for template in (1, 2, 3):
        d.send("a", template)  # a keeps its latest two
    d.send("b", 9)
    group = d.pool.group_of("a")
    assert group is not None
    assert group.pooled == 0
    assert d.pool.kept == 3
    d.send("b", 3)  # b runs a's template: both coordinated
    assert group.pooled == 4  # a's 2 and 3, b's 9, and this request
    assert d.pool.kept == 0
    d.pool.join("a", "c")
    d.send("c", None)
    assert d.pool.kept == 1
    d.pool.evict_idle(d.t + 10.0, 1.0)  # the group goes idle: its backlog goes with it
    assert d.pool.kept == 0
    assert d.pool.group_of("c") is None


def test_joining_into_a_full_pool_keeps_the_groups_being_joined():
    pool = GroupPool(max_accounts=4)
    pool.join("b", "b2")
    pool.join("c", "c2")  # the pool is full; b's group is the least recently active
    pool.join("a", "b")  # room for a is made by dropping c's group, not b's
    group = pool.group_of("a")
    assert group is not None
    assert sorted(group.members) == ["a", "b", "b2"]
    assert pool.group_of("c") is None


def test_backfill_skips_requests_older_than_a_day():
    d = _Driver(GroupPool())
    d.pool.join("a", "b")
    d.send("a", 1)
    d.t += 2 * 86400.0  # two days later
    d.send("a", 2)
    d.send("b", 2)  # both coordinated: a's request of two days ago is not pooled
    group = d.pool.group_of("a")
    assert group is not None
    assert group.pooled == 2  # a's latest and b's


def test_a_bridge_goes_through_a_coordinated_member_only():
    d = _Driver(GroupPool())
    d.pool.join("a", "a2")
    d.pool.join("b", "b2")
    d.pool.join("b", "b3")
    for name in ("a", "a2", "b2", "b3"):
        d.send(name, 5)  # a script of both groups; b itself never ran anything
    assert d.pool.shares_script("a", "b2", 5)
    assert not d.pool.shares_script("a", "b", 5)  # b shares the card, not the script


def test_kept_requests_go_with_a_group_dropped_for_room():
    d = _Driver(GroupPool(max_accounts=4))
    d.pool.join("a", "b")
    d.send("a", 1)
    assert d.pool.kept == 1
    d.pool.join("c", "d")
    d.pool.join("e", "f")  # the pool is full: a's group, the least recently active, goes
    assert d.pool.group_of("a") is None
    assert d.pool.kept == 0


def test_a_rare_template_pairs_accounts_of_two_groups():
    d = _Driver(GroupPool())
    d.pool.join("a", "b")  # one card
    d.pool.join("c", "e")  # another card
    d.send("a", 5)
    assert not d.pool.pairable("a", 5)  # nobody else ran 5
    d.send("c", 5)
    assert d.pool.pairable("c", 5)  # 2 users overall, one in c's group
    assert d.pool.pairs_on("c", "a", 5)
    assert not d.pool.pairs_on("c", "e", 5)  # the same group
    assert not d.pool.pairs_on("c", "a", 6)  # nobody ran 6
    assert not d.pool.pairs_on("c", "stranger", 5)  # in no group
    for i in range(40):
        d.send(f"s{i}", 7)  # a common phrasing: 40 strangers use it
    d.send("a", 7)
    d.send("c", 7)
    assert not d.pool.pairable("c", 7)  # 2 of 42 users: under 10 %
    assert not d.pool.pairs_on("c", "a", 7)
    for i in range(14):
        d.send(f"t{i}", 9)
    d.send("a", 9)
    d.send("c", 9)  # 16 users: one here and one there would be 12.5 %
    assert d.pool.pairable("c", 9)
    group = d.pool.group_of("c")
    assert group is not None and not group.coordinated
    d.pool.coordinate("c", d.t)
    assert list(group.coordinated) == ["c"]
    assert group.pooled == 3  # what c kept: its requests with 5, 7 and 9
    d.pool.coordinate("stranger", d.t)  # in no group: nothing happens
    assert d.pool.group_of("stranger") is None
